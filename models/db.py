"""The SQL tables (SQLAlchemy 2 typed ORM). Alembic migrations in migrations/ create them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class AppRow(Base):
    __tablename__ = "apps"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("app_id", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    version: Mapped[int]
    state: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]  # the submission with every secret masked
    sealed_secrets: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet token
    previous_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"))
    received_at: Mapped[datetime]
    ack_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    ack_on_time: Mapped[bool | None]


SUBJECT_KINDS = ("submission", "access_request")  # what a delivery, run, transition or dispatch is about


class DeliveryRow(Base):
    """A signed delivery to any endpoint, the subject it created, and the answer it got (a redelivery
    gets it again; the submissions endpoint answers with the subject's current state instead)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_subject", "subject_kind", "subject_id"),)
    endpoint: Mapped[str] = mapped_column(String(32), primary_key=True)  # submissions | access-requests | activity
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # X-Partner-Review-Delivery
    subject_kind: Mapped[str | None] = mapped_column(String(16))  # None for a batch of activity
    subject_id: Mapped[str | None] = mapped_column(String(36))
    body_sha256: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxRow(Base):
    """The intent to start a subject's run, dispatched until Prefect accepts it."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("delivery_endpoint", "delivery_id"),
        ForeignKeyConstraint(["delivery_endpoint", "delivery_id"], ["deliveries.endpoint", "deliveries.id"]),
        Index("ix_outbox_subject", "subject_kind", "subject_id"),
        Index("ix_outbox_status", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(36))
    delivery_endpoint: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | claimed | dispatched
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]

    @property
    def submission_id(self) -> str:
        return self.subject_id


class RunRow(Base):
    """One pass of checks over a subject (a retried flow run reuses its row)."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_subject", "subject_kind", "subject_id"), Index("ix_runs_started_at", "started_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16), default="review")  # review | graduation | recheck | access
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | completed
    verdict: Mapped[str | None] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def submission_id(self) -> str:
        return self.subject_id


class ResultRow(Base):
    """One check's outcome in one run."""

    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_check_id", "check_id"),
        # Covering: `check-health` reads these columns of every result, never the message or evidence.
        Index("ix_results_run_check", "run_id", "check_id", "outcome", "stage"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    check_id: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]


class TransitionRow(Base):
    """One move of a subject; a decision's comment is its reason."""

    __tablename__ = "transitions"
    __table_args__ = (Index("ix_transitions_subject", "subject_kind", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(36))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def submission_id(self) -> str:
        return self.subject_id


class NotificationRow(Base):
    """Outbox of messages; `key` makes each message happen once per submission and event."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # smtp | outbox
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class DecisionRow(Base):
    """A reviewer's decision on one review run (one per run: a second decision is refused)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), unique=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    decision: Mapped[str] = mapped_column(String(32))
    reviewer: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class WaiverRow(Base):
    """A failing check accepted for an app until it expires; recorded, never silent."""

    __tablename__ = "waivers"
    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    check_id: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityRow(Base):
    """One workspace's deliveries through an app on one day (idempotent per app, workspace, day)."""

    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("app_id", "workspace_id", "day"),
        Index("ix_activity_app_day", "app_id", "day", "workspace_id", "events_delivered", "events_failed"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(String(200))
    day: Mapped[date]
    events_delivered: Mapped[int] = mapped_column(BigInteger)
    events_failed: Mapped[int] = mapped_column(BigInteger)
    measured_at: Mapped[datetime | None]  # when the sender took the counts: an older record never wins
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignatureRow(Base):
    """A signature accepted for one delivery, kept while its timestamp is within the tolerance window."""

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_expires_at", "expires_at"),)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


# Partner access requests (migration 0006) ----------------------------------------------------


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
