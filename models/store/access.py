"""Access requests in the store (subject kind `access_request`): intake, lifecycle, runs, outbox.

`store.access` works through the store's engine and sessions; like the store it leans
on unique constraints and row locks, so a redelivery, a retried task or two reviewers at once
cannot record anything twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partner_review.models.access import AccessRequest, AccessState, check_access_transition
from partner_review.models.checks import Result, Verdict
from partner_review.models.db import AccessRequestRow, DeliveryRow, OutboxRow, RunRow, TransitionRow, utcnow
from partner_review.models.store.base import NotFound, StoreBase, record_transition
from partner_review.models.store.reviews import finish_run, results_in

SUBJECT = "access_request"
RUN_KIND = "access"
ENDPOINT = "access-requests"
OUTBOX = (OutboxRow.subject_kind == SUBJECT,)
# A request with its outbox row's flow run id (every request has one outbox row, written with it).
WITH_RUN = select(AccessRequestRow, OutboxRow.flow_run_id).outerjoin(
    OutboxRow, and_(*OUTBOX, OutboxRow.subject_id == AccessRequestRow.id)
)


@dataclass(frozen=True)
class AccessIntake:
    access_request_id: str
    status: str
    created: bool


@dataclass(frozen=True)
class StoredAccessRequest:
    id: str
    request: AccessRequest
    state: AccessState
    domain: str | None
    received_at: datetime
    decision_due_at: datetime
    decided_at: datetime | None
    flow_run_id: str | None


@dataclass(frozen=True)
class AccessReview:
    id: int
    flow_run_id: str | None
    status: str
    verdict: str | None
    results: list[Result]
    finished_at: datetime | None


@dataclass(frozen=True)
class AccessTransition:
    from_state: str | None
    to_state: str
    actor: str
    reason: str
    at: datetime


class AccessRequests:
    """The repository of access requests on one store (`store.access`)."""

    def __init__(self, store: StoreBase):
        self.store = store

    def _session(self) -> Session:
        return self.store.session()

    @staticmethod
    def _locked(session: Session, request_id: str) -> AccessRequestRow:
        row = session.execute(
            select(AccessRequestRow).where(AccessRequestRow.id == request_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no access request {request_id}")
        return row

    # Intake ---------------------------------------------------------------------------------

    def record_delivery(
        self,
        delivery_id: str,
        body: bytes,
        request: AccessRequest,
        *,
        domain: str | None,
        received_at: datetime,
        decision_due_at: datetime,
    ) -> AccessIntake:
        """Persist a delivery, its request, the first transition and a pending dispatch at once.

        A delivery id seen before returns the original request and records nothing new.
        """
        existing = self.find_delivery(delivery_id)
        if existing:
            return existing
        try:
            with self._session() as session, session.begin():
                return self._add(
                    session,
                    delivery_id,
                    hashlib.sha256(body).hexdigest(),
                    request,
                    domain=domain,
                    received_at=received_at,
                    decision_due_at=decision_due_at,
                )
        except IntegrityError:
            # A concurrent copy of the same delivery won the race: answer with its request.
            existing = self.find_delivery(delivery_id)
            if existing:
                return existing
            raise

    def record_on(
        self,
        conn: Connection,
        delivery_id: str,
        body_sha256: str,
        request: AccessRequest,
        *,
        domain: str | None,
        received_at: datetime,
        decision_due_at: datetime,
    ) -> AccessIntake:
        """The same rows, written in the caller's transaction (the receiver's `Store.once`, which
        de-duplicates the delivery and its signature)."""
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            intake = self._add(
                session,
                delivery_id,
                body_sha256,
                request,
                domain=domain,
                received_at=received_at,
                decision_due_at=decision_due_at,
            )
            session.commit()
            return intake

    def _add(
        self,
        session: Session,
        delivery_id: str,
        body_sha256: str,
        request: AccessRequest,
        *,
        domain: str | None,
        received_at: datetime,
        decision_due_at: datetime,
    ) -> AccessIntake:
        row = AccessRequestRow(
            id=str(uuid.uuid4()),
            company_name=request.company.name,
            website=request.company.website,
            domain=domain,
            contact_email=request.contact.email,
            state=AccessState.requested,
            payload=request.model_dump(mode="json"),
            received_at=received_at,
            decision_due_at=decision_due_at,
        )
        session.add(row)
        session.flush()
        # The receiver's `Store.once` has reserved the delivery's row already: it gets its subject here.
        delivery = self.store.insert(DeliveryRow).values(
            endpoint=ENDPOINT,
            id=delivery_id,
            subject_kind=SUBJECT,
            subject_id=row.id,
            body_sha256=body_sha256,
            answer=None,
            received_at=received_at,
        )
        session.execute(
            delivery.on_conflict_do_update(
                index_elements=["endpoint", "id"], set_={"subject_kind": SUBJECT, "subject_id": row.id}
            )
        )
        record_transition(
            session,
            SUBJECT,
            row.id,
            None,
            AccessState.requested,
            actor="partner",
            reason=f"delivery {delivery_id}",
            at=received_at,
        )
        session.add(
            OutboxRow(
                subject_kind=SUBJECT,
                subject_id=row.id,
                delivery_endpoint=ENDPOINT,
                delivery_id=delivery_id,
                status="pending",
                attempts=0,
                created_at=received_at,
            )
        )
        session.flush()
        return AccessIntake(row.id, AccessState.requested, True)

    def find_delivery(self, delivery_id: str) -> AccessIntake | None:
        with self._session() as session:
            found = session.execute(
                select(AccessRequestRow.id, AccessRequestRow.state)
                .join(DeliveryRow, DeliveryRow.subject_id == AccessRequestRow.id)
                .where(DeliveryRow.endpoint == ENDPOINT, DeliveryRow.id == delivery_id)
            ).first()
            return AccessIntake(found.id, found.state, False) if found else None

    # Requests and their lifecycle -----------------------------------------------------------

    def get(self, request_id: str) -> StoredAccessRequest:
        with self._session() as session:
            found = session.execute(WITH_RUN.where(AccessRequestRow.id == request_id)).first()
            if found is None:
                raise NotFound(f"no access request {request_id}")
            return _stored(*found)

    def in_state(self, *states: AccessState) -> list[StoredAccessRequest]:
        """Requests now in any of `states`, oldest first."""
        with self._session() as session:
            rows = session.execute(
                WITH_RUN.where(AccessRequestRow.state.in_([str(s) for s in states])).order_by(
                    AccessRequestRow.received_at, AccessRequestRow.id
                )
            ).all()
            return [_stored(*r) for r in rows]

    def approved_for(self, domains: Iterable[str], *, other_than: str | None = None) -> list[StoredAccessRequest]:
        """Approved requests whose website's registrable domain is one of `domains`."""
        wanted = sorted({d.lower() for d in domains if d})
        if not wanted:
            return []
        query = WITH_RUN.where(AccessRequestRow.state == AccessState.approved, AccessRequestRow.domain.in_(wanted))
        if other_than:
            query = query.where(AccessRequestRow.id != other_than)
        with self._session() as session:
            return [_stored(*r) for r in session.execute(query.order_by(AccessRequestRow.received_at)).all()]

    def decide(self, request_id: str, target: AccessState, *, actor: str, reason: str = "") -> StoredAccessRequest:
        """Approve or reject, once: AccessDecided when the request is decided already."""
        with self._session() as session, session.begin():
            row = self._locked(session, request_id)
            check_access_transition(row.state, target)
            now = utcnow()
            record_transition(session, SUBJECT, row.id, row.state, target, actor=actor, reason=reason, at=now)
            row.state = target
            row.decided_at = now
            session.flush()
        return self.get(request_id)

    def transitions(self, request_id: str) -> list[AccessTransition]:
        with self._session() as session:
            rows = session.execute(
                select(TransitionRow)
                .where(TransitionRow.subject_kind == SUBJECT, TransitionRow.subject_id == request_id)
                .order_by(TransitionRow.id)
            ).scalars()
            return [AccessTransition(r.from_state, r.to_state, r.actor, r.reason, r.at) for r in rows]

    # Check runs -----------------------------------------------------------------------------

    def start_review(self, request_id: str, flow_run_id: str | None) -> int:
        """The check run of a flow run; a retried or resumed flow run reuses its row."""
        with self._session() as session, session.begin():
            if flow_run_id:
                found = session.execute(select(RunRow.id).where(RunRow.flow_run_id == flow_run_id)).scalar_one_or_none()
                if found is not None:
                    return found
            row = RunRow(subject_kind=SUBJECT, subject_id=request_id, kind=RUN_KIND, flow_run_id=flow_run_id)
            session.add(row)
            session.flush()
            return row.id

    def save_review(self, review_id: int, results: Iterable[Result], verdict: Verdict) -> None:
        """Replace the run's results (a retry writes the same set again, not twice)."""
        with self._session() as session, session.begin():
            finish_run(session, review_id, results, verdict)

    def review(self, review_id: int) -> AccessReview:
        with self._session() as session:
            row = session.get(RunRow, review_id)
            if row is None or row.subject_kind != SUBJECT:
                raise NotFound(f"no access review {review_id}")
            return _review(session, row)

    def latest_review(self, request_id: str) -> AccessReview | None:
        with self._session() as session:
            row = session.execute(
                select(RunRow)
                .where(RunRow.subject_kind == SUBJECT, RunRow.subject_id == request_id)
                .order_by(RunRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return _review(session, row) if row else None

    # Dispatch outbox ------------------------------------------------------------------------

    def pending_dispatches(self, limit: int = 50) -> list[str]:
        """Ids of requests whose review is not started yet, oldest first."""
        with self._session() as session:
            return list(
                session.execute(
                    select(AccessRequestRow.id)
                    .join(OutboxRow, and_(*OUTBOX, OutboxRow.subject_id == AccessRequestRow.id))
                    .where(OutboxRow.status == "pending")
                    .order_by(AccessRequestRow.received_at, AccessRequestRow.id)
                    .limit(limit)
                ).scalars()
            )

    def delivery_of(self, request_id: str) -> str:
        """The delivery id that created a request (the flow run's idempotency key)."""
        with self._session() as session:
            return session.execute(
                select(OutboxRow.delivery_id).where(*OUTBOX, OutboxRow.subject_id == request_id).limit(1)
            ).scalar_one()

    def _outbox(self, request_id: str, *where: Any, **values: Any) -> int:
        with self._session() as session, session.begin():
            changed = session.execute(
                update(OutboxRow).where(*OUTBOX, OutboxRow.subject_id == request_id, *where).values(**values)
            )
            return cast("CursorResult[Any]", changed).rowcount

    def claim_dispatch(self, request_id: str) -> bool:
        """Take a pending dispatch (only one taker wins)."""
        return (
            self._outbox(request_id, OutboxRow.status == "pending", status="claimed", attempts=OutboxRow.attempts + 1)
            == 1
        )

    def release_claims(self) -> int:
        """Return claimed in-process dispatches to pending (their process is gone); how many."""
        with self._session() as session, session.begin():
            return cast(
                "CursorResult[Any]",
                session.execute(
                    update(OutboxRow).where(*OUTBOX, OutboxRow.status == "claimed").values(status="pending")
                ),
            ).rowcount

    def dispatch_done(self, request_id: str, flow_run_id: str | None) -> None:
        self._outbox(request_id, status="dispatched", flow_run_id=flow_run_id, dispatched_at=utcnow(), last_error=None)

    def dispatch_failed(self, request_id: str, error: str) -> None:
        self._outbox(request_id, status="pending", last_error=error[:2000])


def _stored(row: AccessRequestRow, flow_run_id: str | None) -> StoredAccessRequest:
    return StoredAccessRequest(
        id=row.id,
        request=AccessRequest.model_validate(row.payload),
        state=AccessState(row.state),
        domain=row.domain,
        received_at=row.received_at,
        decision_due_at=row.decision_due_at,
        decided_at=row.decided_at,
        flow_run_id=flow_run_id,
    )


def _review(session: Session, row: RunRow) -> AccessReview:
    return AccessReview(
        id=row.id,
        flow_run_id=row.flow_run_id,
        status=row.status,
        verdict=row.verdict,
        results=results_in(session, row.id),
        finished_at=row.finished_at,
    )
