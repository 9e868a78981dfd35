"""Access requests in the store: intake, lifecycle, check runs and the dispatch outbox.

`AccessRequests(store)` works through the store's engine and sessions; like the store it leans
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

from sqlalchemy import Connection, CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partner_review.models.access import AccessRequest, AccessState, check_access_transition
from partner_review.models.checks import Result, Verdict
from partner_review.models.db import AccessDeliveryRow, AccessRequestRow, AccessReviewRow, AccessTransitionRow, utcnow
from partner_review.models.store import NotFound, Store


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
    """The repository of access requests on one store."""

    def __init__(self, store: Store):
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

    @staticmethod
    def _add(
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
            dispatch_status="pending",
            dispatch_attempts=0,
        )
        session.add(row)
        session.flush()
        session.add(
            AccessDeliveryRow(
                id=delivery_id, access_request_id=row.id, body_sha256=body_sha256, received_at=received_at
            )
        )
        session.add(
            AccessTransitionRow(
                access_request_id=row.id,
                from_state=None,
                to_state=AccessState.requested,
                actor="partner",
                reason=f"delivery {delivery_id}",
                at=received_at,
            )
        )
        session.flush()
        return AccessIntake(row.id, AccessState.requested, True)

    def find_delivery(self, delivery_id: str) -> AccessIntake | None:
        with self._session() as session:
            found = session.execute(
                select(AccessRequestRow.id, AccessRequestRow.state)
                .join(AccessDeliveryRow, AccessDeliveryRow.access_request_id == AccessRequestRow.id)
                .where(AccessDeliveryRow.id == delivery_id)
            ).first()
            return AccessIntake(found.id, found.state, False) if found else None

    # Requests and their lifecycle -----------------------------------------------------------

    def get(self, request_id: str) -> StoredAccessRequest:
        with self._session() as session:
            row = session.get(AccessRequestRow, request_id)
            if row is None:
                raise NotFound(f"no access request {request_id}")
            return _stored(row)

    def in_state(self, *states: AccessState) -> list[StoredAccessRequest]:
        """Requests now in any of `states`, oldest first."""
        with self._session() as session:
            rows = session.execute(
                select(AccessRequestRow)
                .where(AccessRequestRow.state.in_([str(s) for s in states]))
                .order_by(AccessRequestRow.received_at, AccessRequestRow.id)
            ).scalars()
            return [_stored(r) for r in rows]

    def approved_for(self, domains: Iterable[str], *, other_than: str | None = None) -> list[StoredAccessRequest]:
        """Approved requests whose website's registrable domain is one of `domains`."""
        wanted = sorted({d.lower() for d in domains if d})
        if not wanted:
            return []
        query = select(AccessRequestRow).where(
            AccessRequestRow.state == AccessState.approved, AccessRequestRow.domain.in_(wanted)
        )
        if other_than:
            query = query.where(AccessRequestRow.id != other_than)
        with self._session() as session:
            return [_stored(r) for r in session.execute(query.order_by(AccessRequestRow.received_at)).scalars()]

    def decide(self, request_id: str, target: AccessState, *, actor: str, reason: str = "") -> StoredAccessRequest:
        """Approve or reject, once: AccessDecided when the request is decided already."""
        with self._session() as session, session.begin():
            row = self._locked(session, request_id)
            check_access_transition(row.state, target)
            now = utcnow()
            session.add(
                AccessTransitionRow(
                    access_request_id=row.id, from_state=row.state, to_state=target, actor=actor, reason=reason, at=now
                )
            )
            row.state = target
            row.decided_at = now
            session.flush()
            return _stored(row)

    def transitions(self, request_id: str) -> list[AccessTransition]:
        with self._session() as session:
            rows = session.execute(
                select(AccessTransitionRow)
                .where(AccessTransitionRow.access_request_id == request_id)
                .order_by(AccessTransitionRow.id)
            ).scalars()
            return [AccessTransition(r.from_state, r.to_state, r.actor, r.reason, r.at) for r in rows]

    # Check runs -----------------------------------------------------------------------------

    def start_review(self, request_id: str, flow_run_id: str | None) -> int:
        """The check run of a flow run; a retried or resumed flow run reuses its row."""
        with self._session() as session, session.begin():
            if flow_run_id:
                found = session.execute(
                    select(AccessReviewRow.id).where(AccessReviewRow.flow_run_id == flow_run_id)
                ).scalar_one_or_none()
                if found is not None:
                    return found
            row = AccessReviewRow(access_request_id=request_id, flow_run_id=flow_run_id, results=[])
            session.add(row)
            session.flush()
            return row.id

    def save_review(self, review_id: int, results: Iterable[Result], verdict: Verdict) -> None:
        """Replace the run's results (a retry writes the same set again, not twice)."""
        with self._session() as session, session.begin():
            session.execute(
                update(AccessReviewRow)
                .where(AccessReviewRow.id == review_id)
                .values(
                    results=[r.model_dump(mode="json") for r in results],
                    verdict=verdict,
                    status="completed",
                    finished_at=utcnow(),
                )
            )

    def review(self, review_id: int) -> AccessReview:
        with self._session() as session:
            row = session.get(AccessReviewRow, review_id)
            if row is None:
                raise NotFound(f"no access review {review_id}")
            return _review(row)

    def latest_review(self, request_id: str) -> AccessReview | None:
        with self._session() as session:
            row = session.execute(
                select(AccessReviewRow)
                .where(AccessReviewRow.access_request_id == request_id)
                .order_by(AccessReviewRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return _review(row) if row else None

    # Dispatch outbox ------------------------------------------------------------------------

    def pending_dispatches(self, limit: int = 50) -> list[str]:
        """Ids of requests whose review is not started yet, oldest first."""
        with self._session() as session:
            return list(
                session.execute(
                    select(AccessRequestRow.id)
                    .where(AccessRequestRow.dispatch_status == "pending")
                    .order_by(AccessRequestRow.received_at, AccessRequestRow.id)
                    .limit(limit)
                ).scalars()
            )

    def delivery_of(self, request_id: str) -> str:
        """The first delivery id of a request (the flow run's idempotency key)."""
        with self._session() as session:
            return session.execute(
                select(AccessDeliveryRow.id)
                .where(AccessDeliveryRow.access_request_id == request_id)
                .order_by(AccessDeliveryRow.received_at)
                .limit(1)
            ).scalar_one()

    def claim_dispatch(self, request_id: str) -> bool:
        """Take a pending dispatch (only one taker wins)."""
        with self._session() as session, session.begin():
            claimed = cast(
                "CursorResult[Any]",
                session.execute(
                    update(AccessRequestRow)
                    .where(AccessRequestRow.id == request_id, AccessRequestRow.dispatch_status == "pending")
                    .values(dispatch_status="claimed", dispatch_attempts=AccessRequestRow.dispatch_attempts + 1)
                ),
            ).rowcount
            return claimed == 1

    def release_claims(self) -> int:
        """Return claimed in-process dispatches to pending (their process is gone); how many."""
        with self._session() as session, session.begin():
            return cast(
                "CursorResult[Any]",
                session.execute(
                    update(AccessRequestRow)
                    .where(AccessRequestRow.dispatch_status == "claimed")
                    .values(dispatch_status="pending")
                ),
            ).rowcount

    def dispatch_done(self, request_id: str, flow_run_id: str | None) -> None:
        with self._session() as session, session.begin():
            session.execute(
                update(AccessRequestRow)
                .where(AccessRequestRow.id == request_id)
                .values(dispatch_status="dispatched", flow_run_id=flow_run_id, dispatch_error=None)
            )

    def dispatch_failed(self, request_id: str, error: str) -> None:
        with self._session() as session, session.begin():
            session.execute(
                update(AccessRequestRow)
                .where(AccessRequestRow.id == request_id)
                .values(dispatch_status="pending", dispatch_error=error[:2000])
            )


def _stored(row: AccessRequestRow) -> StoredAccessRequest:
    return StoredAccessRequest(
        id=row.id,
        request=AccessRequest.model_validate(row.payload),
        state=AccessState(row.state),
        domain=row.domain,
        received_at=row.received_at,
        decision_due_at=row.decision_due_at,
        decided_at=row.decided_at,
        flow_run_id=row.flow_run_id,
    )


def _review(row: AccessReviewRow) -> AccessReview:
    return AccessReview(
        id=row.id,
        flow_run_id=row.flow_run_id,
        status=row.status,
        verdict=row.verdict,
        results=[Result.model_validate(r) for r in row.results or []],
        finished_at=row.finished_at,
    )


def latest_submission_id(store: Store, slug: str) -> str:
    """The id of the app's newest submission (highest version); NotFound for an unknown app."""
    from partner_review.models.db import AppRow, SubmissionRow

    if not slug or len(slug) > 100 or "\x00" in slug:  # no stored slug is like this (PostgreSQL refuses NUL)
        raise NotFound(f"no app {slug[:100]!r}")
    with store.session() as session:
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
