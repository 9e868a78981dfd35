"""Submissions: their deliveries, lifecycle and outbox rows (subject kind `submission`).

The intake is the receiver's hot path: a handful of Core statements in one transaction, the
app row locked first so that concurrent deliveries for one app (or copies of one delivery)
take turns instead of meeting unique-constraint errors.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, bindparam, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError

from partner_review.models.db import (
    AppRow,
    DeliveryRow,
    OutboxRow,
    SubmissionRow,
    TransitionRow,
    utcnow,
)
from partner_review.models.lifecycle import State, check_transition
from partner_review.models.store.base import BadValue, DeliveryReused, NotFound, VersionConflict, record_transition
from partner_review.models.store.receipts import Receipt, ReceiptStore, reused_message
from partner_review.models.submission import Submission


@dataclass(frozen=True)
class Intake:
    submission_id: str
    status: str
    created: bool


@dataclass(frozen=True)
class StoredSubmission:
    id: str
    slug: str
    version: int
    state: State
    submission: Submission
    previous_id: str | None
    received_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None
    ack_on_time: bool | None


@dataclass(frozen=True)
class Dispatch:
    id: int
    delivery_id: str
    submission_id: str
    attempts: int


class _IntakeStatements:
    """The intake's statements, built once: building and keying a statement per call cost more
    CPU than running it."""

    def __init__(self, app_insert: Any):
        upsert = app_insert.values(slug=bindparam("slug"), name=bindparam("name"), created_at=bindparam("at"))
        # DO UPDATE (not NOTHING) locks the app row: deliveries for one app take turns from here.
        self.app = upsert.on_conflict_do_update(index_elements=["slug"], set_={"slug": upsert.excluded.slug}).returning(
            AppRow.id
        )
        self.latest = (
            select(SubmissionRow.id, SubmissionRow.state)
            .where(SubmissionRow.app_id == bindparam("app_id"))
            .order_by(SubmissionRow.version.desc())
            .limit(1)
        )
        self.taken = select(SubmissionRow.id).where(
            SubmissionRow.app_id == bindparam("app_id"), SubmissionRow.version == bindparam("version")
        )
        self.submission = insert(SubmissionRow)
        self.delivery = insert(DeliveryRow).values(
            endpoint=ENDPOINT,
            id=bindparam("delivery_id"),
            subject_kind=SUBJECT,
            subject_id=bindparam("submission_id"),
            body_sha256=bindparam("body_sha256"),
            answer=None,
            received_at=bindparam("at"),
        )
        self.transition = insert(TransitionRow).values(
            subject_kind=SUBJECT,
            subject_id=bindparam("submission_id"),
            from_state=None,
            to_state=bindparam("state"),
            actor="partner",
            reason=bindparam("reason"),
            at=bindparam("at"),
        )
        self.dispatch = insert(OutboxRow).values(
            subject_kind=SUBJECT,
            subject_id=bindparam("submission_id"),
            delivery_endpoint=ENDPOINT,
            delivery_id=bindparam("delivery_id"),
            status="pending",
            attempts=0,
            created_at=bindparam("at"),
        )


SUBJECT = "submission"
ENDPOINT = "submissions"
SEEN = (
    select(SubmissionRow.id, SubmissionRow.state, DeliveryRow.body_sha256)
    .join(DeliveryRow, DeliveryRow.subject_id == SubmissionRow.id)
    .where(DeliveryRow.endpoint == ENDPOINT, DeliveryRow.id == bindparam("delivery_id"))
)
MINE = (OutboxRow.subject_kind == SUBJECT,)


class DeliveryStore(ReceiptStore):
    # Intake ---------------------------------------------------------------------------------

    def record_delivery(
        self,
        delivery_id: str,
        body: bytes,
        submission: Submission,
        *,
        received_at: datetime,
        ack_due_at: datetime,
        receipt: Receipt | None = None,
    ) -> Intake:
        """Persist a delivery, its submission and a pending dispatch in one transaction.

        A delivery id seen before with the same body returns the original submission and records
        nothing new; with another body it raises DeliveryReused. Another delivery of a version
        already submitted raises VersionConflict; a value the database refuses raises BadValue.
        """
        receipt = receipt or Receipt.unsigned(ENDPOINT, delivery_id, body)
        try:
            return self.write(lambda conn: self._intake(conn, receipt, submission, received_at, ack_due_at))
        except IntegrityError:
            # A copy of this delivery id for another app got in first (the two held different app locks).
            existing = self.find_delivery(delivery_id, body_sha256=receipt.body_sha256)
            if existing:
                return existing
            raise
        except (DataError, OverflowError) as error:
            raise BadValue(f"the database refused a value of this submission: {_first_line(error)}") from None

    def _intake(
        self, conn: Connection, receipt: Receipt, submission: Submission, received_at: datetime, ack_due_at: datetime
    ) -> Intake:
        q = self._intake_statements
        self.claim_signature(conn, receipt)
        slug = submission.app.slug
        app_id = conn.execute(q.app, {"slug": slug, "name": submission.app.name, "at": received_at}).scalar_one()
        seen = self._seen(conn, receipt.delivery_id, receipt.body_sha256)
        if seen:
            return seen
        previous = conn.execute(q.latest, {"app_id": app_id}).first()
        if previous is not None:
            taken = conn.execute(q.taken, {"app_id": app_id, "version": submission.version}).scalar_one_or_none()
            if taken:
                raise VersionConflict(
                    f"version {submission.version} of '{slug}' was already submitted "
                    f"(submission {taken}); send the next version number for a new submission"
                )
        initial = State.submitted
        if previous is not None and previous.state == State.changes_requested:
            initial = State.resubmitted
        submission_id = str(uuid.uuid4())
        conn.execute(
            q.submission,
            {
                "id": submission_id,
                "app_id": app_id,
                "version": submission.version,
                "state": initial,
                "payload": submission.public_dict(),
                "sealed_secrets": self._sealer.seal(submission.secret_values()),
                "previous_id": previous.id if previous else None,
                "received_at": received_at,
                "ack_due_at": ack_due_at,
                "acknowledged_at": None,
                "ack_on_time": None,
            },
        )
        delivery = {"delivery_id": receipt.delivery_id, "submission_id": submission_id, "at": received_at}
        conn.execute(q.delivery, {**delivery, "body_sha256": receipt.body_sha256})
        conn.execute(q.transition, {**delivery, "state": initial, "reason": f"delivery {receipt.delivery_id}"})
        conn.execute(q.dispatch, delivery)
        return Intake(submission_id, initial, True)

    @functools.cached_property
    def _intake_statements(self) -> _IntakeStatements:
        return _IntakeStatements(self.insert(AppRow))

    @staticmethod
    def _seen(conn: Connection, delivery_id: str, body_sha256: str | None) -> Intake | None:
        found = conn.execute(SEEN, {"delivery_id": delivery_id}).first()
        if found is None:
            return None
        if body_sha256 is not None and found.body_sha256 != body_sha256:
            raise DeliveryReused(reused_message(delivery_id))
        return Intake(found.id, found.state, False)

    def find_delivery(self, delivery_id: str, *, body_sha256: str | None = None) -> Intake | None:
        """The submission of a delivery id seen before (DeliveryReused if `body_sha256` differs)."""
        with self.engine.connect() as conn:
            return self._seen(conn, delivery_id, body_sha256)

    # Submissions ----------------------------------------------------------------------------

    def get_submission(self, submission_id: str) -> StoredSubmission:
        with self.session() as session:
            found = session.execute(
                select(SubmissionRow, AppRow.slug).join(AppRow).where(SubmissionRow.id == submission_id)
            ).first()
            if found is None:
                raise NotFound(f"no submission {submission_id}")
            row, slug = found
            return StoredSubmission(
                id=row.id,
                slug=slug,
                version=row.version,
                state=State(row.state),
                submission=Submission.from_public(row.payload, self._sealer.open(row.sealed_secrets)),
                previous_id=row.previous_id,
                received_at=row.received_at,
                ack_due_at=row.ack_due_at,
                acknowledged_at=row.acknowledged_at,
                ack_on_time=row.ack_on_time,
            )

    def latest_submission_id(self, slug: str) -> str:
        """The id of the app's newest submission (highest version); NotFound for an unknown app."""
        if not slug or len(slug) > 100 or "\x00" in slug:  # no stored slug is like this (PostgreSQL refuses NUL)
            raise NotFound(f"no app {slug[:100]!r}")
        with self.session() as session:
            found = session.execute(
                select(SubmissionRow.id)
                .join(AppRow, AppRow.id == SubmissionRow.app_id)
                .where(AppRow.slug == slug)
                .order_by(SubmissionRow.version.desc())
                .limit(1)
            ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no app {slug[:100]!r}")
        return found

    def transition(self, submission_id: str, target: State, *, actor: str, reason: str = "") -> bool:
        """Move a submission to `target`; False (and nothing written) when it is already there.

        Raises IllegalTransition for a move the lifecycle forbids.
        """
        with self.session() as session, session.begin():
            row = self._locked(session, submission_id)
            if row.state == target:
                return False
            check_transition(row.state, target)
            record_transition(session, SUBJECT, row.id, row.state, target, actor=actor, reason=reason)
            row.state = target
            return True

    def transitions(self, submission_id: str) -> list[TransitionRow]:
        with self.session() as session:
            return list(
                session.execute(
                    select(TransitionRow)
                    .where(TransitionRow.subject_kind == SUBJECT, TransitionRow.subject_id == submission_id)
                    .order_by(TransitionRow.id)
                ).scalars()
            )

    def acknowledge(self, submission_id: str, at: datetime) -> bool:
        """Record the acknowledgment time and whether it met the due time; once only."""
        with self.session() as session, session.begin():
            row = self._locked(session, submission_id)
            if row.acknowledged_at is not None:
                return False
            row.acknowledged_at = at
            row.ack_on_time = at <= row.ack_due_at.astimezone(at.tzinfo)
            return True

    # Dispatch outbox ------------------------------------------------------------------------

    def pending_dispatches(self, limit: int = 50) -> list[Dispatch]:
        with self.session() as session:
            rows = session.execute(
                select(OutboxRow).where(*MINE, OutboxRow.status == "pending").order_by(OutboxRow.id).limit(limit)
            ).scalars()
            return [Dispatch(r.id, r.delivery_id, r.subject_id, r.attempts) for r in rows]

    def claim_dispatch(self, dispatch_id: int) -> bool:
        """Take a pending dispatch for an in-process run (only one taker wins)."""
        with self.session() as session, session.begin():
            claimed = session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == dispatch_id, OutboxRow.status == "pending")
                .values(status="claimed", attempts=OutboxRow.attempts + 1)
            )
            return cast("CursorResult[Any]", claimed).rowcount == 1

    def release_claims(self) -> int:
        """Return claimed in-process dispatches to pending (their process is gone); how many."""
        with self.session() as session, session.begin():
            released = session.execute(
                update(OutboxRow).where(*MINE, OutboxRow.status == "claimed").values(status="pending")
            )
            return cast("CursorResult[Any]", released).rowcount

    def dispatch_done(self, dispatch_id: int, flow_run_id: str | None) -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == dispatch_id)
                .values(status="dispatched", flow_run_id=flow_run_id, dispatched_at=utcnow(), last_error=None)
            )

    def dispatch_failed(self, dispatch_id: int, error: str) -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == dispatch_id)
                .values(status="pending", attempts=OutboxRow.attempts + 1, last_error=error[:2000])
            )

    def dispatches(self) -> list[OutboxRow]:
        with self.session() as session:
            return list(session.execute(select(OutboxRow).where(*MINE).order_by(OutboxRow.id)).scalars())

    def submissions_in(self, *states: State) -> list[str]:
        """Ids of the submissions now in any of `states`, oldest first."""
        with self.session() as session:
            return list(
                session.execute(
                    select(SubmissionRow.id)
                    .where(SubmissionRow.state.in_([str(s) for s in states]))
                    .order_by(SubmissionRow.received_at)
                ).scalars()
            )


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0][:300] if text.strip() else type(error).__name__
