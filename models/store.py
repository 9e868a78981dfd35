"""The store: every read and write of partner-review's SQL data goes through here.

SQLite (WAL mode) by default, PostgreSQL through PARTNER_REVIEW_DATABASE_URL. Writes that must
happen once (a delivery, a notification, a transition) rely on the database's unique constraints
and row locks, so retries and concurrent receivers cannot double them.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from partner_review.models.activity import Activity, UnknownApp
from partner_review.models.checks import Result, Verdict
from partner_review.models.db import (
    ActivityRow,
    AppRow,
    CheckResultRow,
    DecisionRow,
    DeliveryRow,
    DispatchRow,
    NotificationRow,
    ReviewRunRow,
    SubmissionRow,
    TransitionRow,
    WaiverRow,
    utcnow,
)
from partner_review.models.lifecycle import State, check_transition
from partner_review.models.sealing import Sealer
from partner_review.models.settings import Settings, get_settings
from partner_review.models.submission import Submission

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class StoreError(RuntimeError):
    """The store could not be reached or written (the webhook answers 503)."""


class VersionConflict(ValueError):
    """A different delivery already submitted this version of this app."""


class NotFound(LookupError):
    pass


class AlreadyDecided(ValueError):
    """A review run has its decision already; a second one is refused."""


@dataclass(frozen=True)
class Waiver:
    check_id: str
    reason: str
    owner: str
    expires_at: datetime


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
class Notification:
    id: int
    key: str
    kind: str
    recipient: str
    subject: str
    body: str
    status: str


@dataclass(frozen=True)
class Dispatch:
    id: int
    delivery_id: str
    submission_id: str
    attempts: int


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - exercised by every SQLite test
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            dbapi_connection.isolation_level = None  # transactions begin below, not in the driver

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection) -> None:
            # Take the write lock up front: a read that later writes cannot fail with SQLITE_BUSY.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema (Alembic `upgrade head`).

    Every process that opens the store calls this, so concurrent first starts are serialized:
    SQLite through the write lock the migration's transaction takes (BEGIN IMMEDIATE), PostgreSQL
    through a transaction-scoped advisory lock. The later process then finds the schema current.
    """
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    config = Config(str(MIGRATIONS / "alembic.ini"))
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(74021731)"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


class Store:
    def __init__(self, settings: Settings | None = None, *, url: str | None = None, migrate: bool = True):
        self.settings = settings or get_settings()
        self.url = url or self.settings.resolved_database_url
        self.engine = _engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._sealer = Sealer(self.settings)
        if migrate:
            upgrade(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._sessions()

    def _locked(self, session: Session, submission_id: str) -> SubmissionRow:
        row = session.execute(
            select(SubmissionRow).where(SubmissionRow.id == submission_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no submission {submission_id}")
        return row

    # Intake ---------------------------------------------------------------------------------

    def record_delivery(
        self, delivery_id: str, body: bytes, submission: Submission, *, received_at: datetime, ack_due_at: datetime
    ) -> Intake:
        """Persist a delivery, its submission and a pending dispatch in one transaction.

        A delivery id seen before returns the original submission and records nothing new.
        """
        digest = hashlib.sha256(body).hexdigest()
        existing = self.find_delivery(delivery_id)
        if existing:
            return existing
        try:
            with self.session() as session, session.begin():
                app = session.execute(select(AppRow).where(AppRow.slug == submission.app.slug)).scalar_one_or_none()
                if app is None:
                    app = AppRow(slug=submission.app.slug, name=submission.app.name)
                    session.add(app)
                    session.flush()
                taken = session.execute(
                    select(SubmissionRow.id).where(
                        SubmissionRow.app_id == app.id, SubmissionRow.version == submission.version
                    )
                ).scalar_one_or_none()
                if taken:
                    raise VersionConflict(
                        f"version {submission.version} of '{submission.app.slug}' was already submitted "
                        f"(submission {taken}); send the next version number for a new submission"
                    )
                previous = session.execute(
                    select(SubmissionRow)
                    .where(SubmissionRow.app_id == app.id)
                    .order_by(SubmissionRow.version.desc())
                    .limit(1)
                    .with_for_update()
                ).scalar_one_or_none()
                initial = State.submitted
                if previous is not None and previous.state == State.changes_requested:
                    initial = State.resubmitted
                row = SubmissionRow(
                    id=str(uuid.uuid4()),
                    app_id=app.id,
                    version=submission.version,
                    state=initial,
                    payload=submission.public_dict(),
                    sealed_secrets=self._sealer.seal(submission.secret_values()),
                    previous_id=previous.id if previous else None,
                    received_at=received_at,
                    ack_due_at=ack_due_at,
                )
                session.add(row)
                session.flush()
                session.add(
                    DeliveryRow(id=delivery_id, submission_id=row.id, body_sha256=digest, received_at=received_at)
                )
                session.add(
                    TransitionRow(
                        submission_id=row.id,
                        from_state=None,
                        to_state=initial,
                        actor="partner",
                        reason=f"delivery {delivery_id}",
                        at=received_at,
                    )
                )
                session.flush()
                session.add(DispatchRow(delivery_id=delivery_id, submission_id=row.id))
                return Intake(row.id, initial, True)
        except (IntegrityError, VersionConflict):
            # A concurrent copy of the same delivery won the race: answer with its submission.
            existing = self.find_delivery(delivery_id)
            if existing:
                return existing
            raise

    def find_delivery(self, delivery_id: str) -> Intake | None:
        with self.session() as session:
            found = session.execute(
                select(SubmissionRow.id, SubmissionRow.state)
                .join(DeliveryRow, DeliveryRow.submission_id == SubmissionRow.id)
                .where(DeliveryRow.id == delivery_id)
            ).first()
            return Intake(found.id, found.state, False) if found else None

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

    def transition(self, submission_id: str, target: State, *, actor: str, reason: str = "") -> bool:
        """Move a submission to `target`; False (and nothing written) when it is already there.

        Raises IllegalTransition for a move the lifecycle forbids.
        """
        with self.session() as session, session.begin():
            row = self._locked(session, submission_id)
            if row.state == target:
                return False
            check_transition(row.state, target)
            session.add(
                TransitionRow(submission_id=row.id, from_state=row.state, to_state=target, actor=actor, reason=reason)
            )
            row.state = target
            return True

    def transitions(self, submission_id: str) -> list[TransitionRow]:
        with self.session() as session:
            return list(
                session.execute(
                    select(TransitionRow).where(TransitionRow.submission_id == submission_id).order_by(TransitionRow.id)
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
                select(DispatchRow).where(DispatchRow.status == "pending").order_by(DispatchRow.id).limit(limit)
            ).scalars()
            return [Dispatch(r.id, r.delivery_id, r.submission_id, r.attempts) for r in rows]

    def claim_dispatch(self, dispatch_id: int) -> bool:
        """Take a pending dispatch for an in-process run (only one taker wins)."""
        with self.session() as session, session.begin():
            claimed = session.execute(
                update(DispatchRow)
                .where(DispatchRow.id == dispatch_id, DispatchRow.status == "pending")
                .values(status="claimed", attempts=DispatchRow.attempts + 1)
            ).rowcount
            return claimed == 1

    def release_claims(self) -> int:
        """Return claimed in-process dispatches to pending (their process is gone); how many."""
        with self.session() as session, session.begin():
            return session.execute(
                update(DispatchRow).where(DispatchRow.status == "claimed").values(status="pending")
            ).rowcount

    def dispatch_done(self, dispatch_id: int, flow_run_id: str | None) -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(DispatchRow)
                .where(DispatchRow.id == dispatch_id)
                .values(status="dispatched", flow_run_id=flow_run_id, dispatched_at=utcnow(), last_error=None)
            )

    def dispatch_failed(self, dispatch_id: int, error: str) -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(DispatchRow)
                .where(DispatchRow.id == dispatch_id)
                .values(status="pending", attempts=DispatchRow.attempts + 1, last_error=error[:2000])
            )

    def dispatches(self) -> list[DispatchRow]:
        with self.session() as session:
            return list(session.execute(select(DispatchRow).order_by(DispatchRow.id)).scalars())

    # Review runs and results ----------------------------------------------------------------

    def start_review_run(self, submission_id: str, flow_run_id: str | None, *, kind: str = "review") -> int:
        """The review run of a flow run; a retried flow run reuses its row. Scheduled checks
        (`graduation`, `recheck`) record their runs with kind set and no flow run id of their own."""
        with self.session() as session, session.begin():
            if flow_run_id:
                found = session.execute(
                    select(ReviewRunRow).where(ReviewRunRow.flow_run_id == flow_run_id)
                ).scalar_one_or_none()
                if found:
                    return found.id
            row = ReviewRunRow(submission_id=submission_id, flow_run_id=flow_run_id, kind=kind)
            session.add(row)
            session.flush()
            return row.id

    def save_results(self, review_run_id: int, results: Iterable[Result], verdict: Verdict) -> None:
        """Replace the run's results (a retry writes the same set again, not twice)."""
        with self.session() as session, session.begin():
            session.execute(delete(CheckResultRow).where(CheckResultRow.review_run_id == review_run_id))
            session.add_all(
                CheckResultRow(
                    review_run_id=review_run_id,
                    check_id=r.check,
                    stage=r.stage,
                    severity=r.severity,
                    outcome=r.outcome,
                    message=r.message,
                    evidence=r.evidence,
                )
                for r in results
            )
            session.execute(
                update(ReviewRunRow)
                .where(ReviewRunRow.id == review_run_id)
                .values(status="completed", verdict=verdict, finished_at=utcnow())
            )

    def latest_review(self, submission_id: str, *, kind: str = "review") -> tuple[ReviewRunRow, list[Result]] | None:
        with self.session() as session:
            run = session.execute(
                select(ReviewRunRow)
                .where(ReviewRunRow.submission_id == submission_id, ReviewRunRow.kind == kind)
                .order_by(ReviewRunRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return (run, self.results_of(run.id)) if run else None

    def results_of(self, review_run_id: int) -> list[Result]:
        with self.session() as session:
            rows = session.execute(
                select(CheckResultRow).where(CheckResultRow.review_run_id == review_run_id).order_by(CheckResultRow.id)
            ).scalars()
            return [
                Result(
                    check=r.check_id,
                    stage=r.stage,
                    severity=r.severity,
                    outcome=r.outcome,
                    message=r.message,
                    evidence=r.evidence,
                )
                for r in rows
            ]

    def review_run(self, review_run_id: int) -> ReviewRunRow:
        with self.session() as session:
            run = session.get(ReviewRunRow, review_run_id)
            if run is None:
                raise NotFound(f"no review run {review_run_id}")
            return run

    # Decisions and waivers ------------------------------------------------------------------

    def record_decision(
        self, review_run_id: int, submission_id: str, *, decision: str, reviewer: str, comment: str
    ) -> None:
        """Record a run's decision; AlreadyDecided when it has one."""
        try:
            with self.session() as session, session.begin():
                session.add(
                    DecisionRow(
                        review_run_id=review_run_id,
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
            return session.execute(
                select(DecisionRow).where(DecisionRow.review_run_id == review_run_id)
            ).scalar_one_or_none()

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

    # Customer activity ----------------------------------------------------------------------

    def record_activity(self, records: list[Activity]) -> dict[str, int]:
        """Upsert activity per (app, workspace, day): a repeated row changes nothing, a corrected
        row replaces the old one, so nothing is counted twice. UnknownApp if any app is unknown."""
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        with self.session() as session, session.begin():
            slugs = {r.app for r in records}
            apps = dict(session.execute(select(AppRow.slug, AppRow.id).where(AppRow.slug.in_(slugs))).all())
            missing = sorted(slugs - apps.keys())
            if missing:
                raise UnknownApp(f"no app with slug {', '.join(repr(m) for m in missing)} in the catalog")
            for r in records:
                row = session.execute(
                    select(ActivityRow).where(
                        ActivityRow.app_id == apps[r.app],
                        ActivityRow.workspace_id == r.workspace_id,
                        ActivityRow.day == r.day,
                    )
                ).scalar_one_or_none()
                if row is None:
                    session.add(
                        ActivityRow(
                            app_id=apps[r.app],
                            workspace_id=r.workspace_id,
                            day=r.day,
                            events_delivered=r.events_delivered,
                            events_failed=r.events_failed,
                        )
                    )
                    session.flush()
                    counts["inserted"] += 1
                elif (row.events_delivered, row.events_failed) != (r.events_delivered, r.events_failed):
                    row.events_delivered, row.events_failed = r.events_delivered, r.events_failed
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
        return counts

    def active_days(self, slug: str, *, until: date, window_days: int) -> dict[str, int]:
        """Per workspace, the distinct days with at least one delivered event in the window ending `until`."""
        from sqlalchemy import func

        since = until - timedelta(days=window_days - 1)
        with self.session() as session:
            rows = session.execute(
                select(ActivityRow.workspace_id, func.count(func.distinct(ActivityRow.day)))
                .join(AppRow)
                .where(
                    AppRow.slug == slug,
                    ActivityRow.events_delivered > 0,
                    ActivityRow.day >= since,
                    ActivityRow.day <= until,
                )
                .group_by(ActivityRow.workspace_id)
            ).all()
            return dict(rows)

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

    # Notification outbox --------------------------------------------------------------------

    def enqueue_notification(
        self, key: str, *, submission_id: str | None, kind: str, recipient: str, subject: str, body: str, channel: str
    ) -> Notification:
        """The notification with this key, created on first call (unique key: once per event)."""
        try:
            with self.session() as session, session.begin():
                session.add(
                    NotificationRow(
                        key=key,
                        submission_id=submission_id,
                        kind=kind,
                        recipient=recipient,
                        subject=subject,
                        body=body,
                        channel=channel,
                    )
                )
        except IntegrityError:
            pass
        return self.get_notification(key)

    def get_notification(self, key: str) -> Notification:
        with self.session() as session:
            r = session.execute(select(NotificationRow).where(NotificationRow.key == key)).scalar_one()
            return Notification(r.id, r.key, r.kind, r.recipient, r.subject, r.body, r.status)

    def mark_sent(self, key: str, *, status: str = "sent") -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(NotificationRow)
                .where(NotificationRow.key == key)
                .values(status=status, sent_at=utcnow(), attempts=NotificationRow.attempts + 1, last_error=None)
            )

    def notification_failed(self, key: str, error: str) -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(NotificationRow)
                .where(NotificationRow.key == key)
                .values(attempts=NotificationRow.attempts + 1, last_error=error[:2000])
            )

    def notifications(self, submission_id: str | None = None) -> list[NotificationRow]:
        with self.session() as session:
            query = select(NotificationRow).order_by(NotificationRow.id)
            if submission_id:
                query = query.where(NotificationRow.submission_id == submission_id)
            return list(session.execute(query).scalars())


def iter_rows(store: Store) -> Iterator[dict]:
    """Every row of every table, for tests that search stored data (e.g. for leaked secrets)."""
    from partner_review.models.db import Base

    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                yield dict(row._mapping)


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def get_store() -> Store:
    """The process's store for the configured database (migrated on first use)."""
    settings = get_settings()
    url = settings.resolved_database_url
    with _stores_lock:
        if url not in _stores:
            _stores[url] = Store(settings)
        return _stores[url]
