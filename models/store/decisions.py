"""Reviewer decisions and waivers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from partner_review.models.db import AppRow, DecisionRow, WaiverRow
from partner_review.models.store.base import AlreadyDecided, StoreBase


@dataclass(frozen=True)
class Waiver:
    check_id: str
    reason: str
    owner: str
    expires_at: datetime


class DecisionStore(StoreBase):
    def record_decision(
        self, review_run_id: int, submission_id: str, *, decision: str, reviewer: str, comment: str
    ) -> None:
        """Record a run's decision; AlreadyDecided when it has one."""
        try:
            with self.session() as session, session.begin():
                session.add(
                    DecisionRow(
                        run_id=review_run_id,
                        submission_id=submission_id,
                        decision=decision,
                        reviewer=reviewer,
                        comment=comment,
                    )
                )
        except IntegrityError:
            raise AlreadyDecided(
                f"review run {review_run_id} of submission {submission_id} is already decided"
            ) from None

    def decision_of(self, review_run_id: int) -> DecisionRow | None:
        with self.session() as session:
            return session.execute(select(DecisionRow).where(DecisionRow.run_id == review_run_id)).scalar_one_or_none()

    def add_waiver(self, slug: str, waiver: Waiver, *, submission_id: str | None) -> None:
        with self.session() as session, session.begin():
            app_id = session.execute(select(AppRow.id).where(AppRow.slug == slug)).scalar_one()
            session.add(
                WaiverRow(
                    app_id=app_id,
                    check_id=waiver.check_id,
                    reason=waiver.reason,
                    owner=waiver.owner,
                    expires_at=waiver.expires_at,
                    submission_id=submission_id,
                )
            )

    def waivers(self, slug: str) -> list[Waiver]:
        """Every waiver ever granted for the app, newest last (expired ones included)."""
        with self.session() as session:
            rows = session.execute(
                select(WaiverRow).join(AppRow).where(AppRow.slug == slug).order_by(WaiverRow.id)
            ).scalars()
            return [Waiver(r.check_id, r.reason, r.owner, r.expires_at) for r in rows]
