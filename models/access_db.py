"""The SQL tables of partner access requests (migration 0006), on the store's one metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from partner_review.models.db import Base, utcnow


class AccessRequestRow(Base):
    """One access request and where it stands (requested -> approved | rejected)."""

    __tablename__ = "access_requests"
    __table_args__ = (Index("ix_access_requests_domain_state", "domain", "state"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(2048))
    domain: Mapped[str | None] = mapped_column(String(253))  # the website's registrable domain
    contact_email: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    decision_due_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    # Dispatch outbox, on the row: the intent to start its review, kept until Prefect accepts it.
    dispatch_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    dispatch_attempts: Mapped[int] = mapped_column(default=0)
    dispatch_error: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))


class AccessDeliveryRow(Base):
    __tablename__ = "access_deliveries"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # X-Partner-Review-Delivery
    access_request_id: Mapped[str] = mapped_column(ForeignKey("access_requests.id"))
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessTransitionRow(Base):
    """Every move of an access request; a decision's comment is its reason."""

    __tablename__ = "access_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    access_request_id: Mapped[str] = mapped_column(ForeignKey("access_requests.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessReviewRow(Base):
    """One run of the ACC checks on a request (one per flow run; a retried run reuses it)."""

    __tablename__ = "access_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    access_request_id: Mapped[str] = mapped_column(ForeignKey("access_requests.id"), index=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | completed
    verdict: Mapped[str | None] = mapped_column(String(8))
    results: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
