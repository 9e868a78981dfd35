"""The store's engine, schema upgrade, errors and the base every kind of record builds on.

SQLite (WAL mode, `synchronous=FULL`: an answered 202 survives a power failure) by default,
PostgreSQL through PARTNER_REVIEW_DATABASE_URL. Writes that must happen once (a delivery, a
notification, a transition) rely on the database's unique constraints and row locks, so retries
and concurrent receivers cannot double them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from partner_review.models.db import SubmissionRow, TransitionRow, utcnow
from partner_review.models.sealing import Sealer
from partner_review.models.settings import Settings, get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


class StoreError(RuntimeError):
    """The store could not be reached or written (the webhook answers 503)."""


class VersionConflict(ValueError):
    """A different delivery already submitted this version of this app."""


class DeliveryReused(ValueError):
    """A delivery id seen before arrived with a different body."""


class SignatureReused(ValueError):
    """A signature already accepted for one delivery arrived under another delivery id."""


class BadValue(ValueError):
    """The database refused a value the sender chose (e.g. a NUL character): the sender's fault."""


T = TypeVar("T")
WRITER_POLL_SECONDS = 0.002  # a queued writer looks again this often while another commits


@dataclass
class _Job(Generic[T]):
    work: Callable[[Connection], T]
    result: T | None = None
    error: BaseException | None = None
    done: bool = False
    committed: threading.Event = field(default_factory=threading.Event)  # set once `done`


class NotFound(LookupError):
    pass


class AlreadyDecided(ValueError):
    """A review run has its decision already; a second one is refused."""


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
            # FULL: the WAL is synced at every commit, so a delivery answered 2xx survives power loss.
            cursor.execute("PRAGMA synchronous=FULL")
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


class StoreBase:
    """The engine and sessions every part of the store shares."""

    def __init__(self, settings: Settings | None = None, *, url: str | None = None, migrate: bool = True):
        self.settings = settings or get_settings()
        self.url = url or self.settings.resolved_database_url
        self.engine = _engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._sealer = Sealer(self.settings)
        self._purged_at: float = 0.0
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._writer: Any = threading.Lock() if self._sqlite else contextlib.nullcontext()
        self._queue: list[_Job[Any]] = []
        self._queue_lock = threading.Lock()
        if migrate:
            upgrade(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._sessions()

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction. On SQLite this process's writers queue here, in order, instead of in
        SQLite's busy handler, which polls with sleeps of up to 100 ms (the intake's p99 under load)."""
        with self._writer, self.engine.begin() as conn:
            yield conn

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a write transaction of its own, or, on SQLite, in a savepoint of a
        transaction shared with the writes queued meanwhile: one commit (one fsync with
        synchronous=FULL) for all of them. `work` must use only the connection it is given.
        Its result is returned only once its commit is done; its errors are its own."""
        if not self._sqlite:
            with self.engine.begin() as conn:
                return work(conn)
        job: _Job[T] = _Job(work)
        with self._queue_lock:
            self._queue.append(job)
        # Whoever holds the lock commits everything queued so far. A waiter returns as soon as its
        # job is committed, by whichever thread: waiting on the lock itself would let a thread that
        # writes many transactions in a row (an activity batch) win it back each time, since
        # threading.Lock is not fair, and hold every other writer up until its last one.
        while not job.done:
            if self._writer.acquire(blocking=False):
                try:
                    if not job.done:
                        with self._queue_lock:
                            batch, self._queue = self._queue, []
                        self._commit(batch)
                finally:
                    self._writer.release()
            else:
                job.committed.wait(WRITER_POLL_SECONDS)
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _commit(self, batch: list[_Job[Any]]) -> None:
        try:
            with self.engine.begin() as conn:
                if len(batch) == 1:  # alone: its failure is the transaction's, no savepoint needed
                    batch[0].result = batch[0].work(conn)
                    return
                for job in batch:
                    savepoint = conn.begin_nested()
                    try:
                        job.result = job.work(conn)
                    except BaseException as error:  # the job's own failure, reported to its caller
                        savepoint.rollback()
                        job.error = error
                    else:
                        savepoint.commit()
        except BaseException as error:  # the commit failed: nothing of the batch is stored
            for job in batch:
                job.error = job.error or error
        finally:
            for job in batch:
                job.done = True
                job.committed.set()

    def insert(self, table: Any) -> Any:
        """An INSERT that supports `on_conflict_do_nothing` / `_do_update` on this engine."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _locked(self, session: Session, submission_id: str) -> SubmissionRow:
        row = session.execute(
            select(SubmissionRow).where(SubmissionRow.id == submission_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no submission {submission_id}")
        return row


def record_transition(
    session: Session,
    subject_kind: str,
    subject_id: str,
    from_state: str | None,
    to_state: str,
    *,
    actor: str,
    reason: str = "",
    at: datetime | None = None,
) -> None:
    """One move of a subject (a submission or an access request), as its row in `transitions`."""
    session.add(
        TransitionRow(
            subject_kind=subject_kind,
            subject_id=subject_id,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            reason=reason,
            at=at or utcnow(),
        )
    )
