"""The queries behind delivery health and the checks' own quality (issue 26), in one place.

SQLAlchemy Core over the ORM tables, on the store's engine: read-only, no session state. The
indexes they rely on (migration 0008) are `ix_activity_app_day` for a window of one app's
activity, `ix_runs_started_at` for the results since a date and `ix_results_run_check`
for reading every result without its message and evidence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, null, select, union_all

from partner_review.models.db import (
    ActivityRow,
    AppRow,
    NotificationRow,
    ResultRow,
    RunRow,
    SubmissionRow,
    WaiverRow,
)

HEALTH_KINDS = ("health-breach", "health-recovery")
SORT_MEMORY = "64MB"


@dataclass(frozen=True)
class CheckFigures:
    """One check's counts over the results: runs (skips excluded), failing ones, pairs of
    consecutive runs on one submission version and, of them, the pairs whose outcome changed."""

    check: str
    stage: str
    runs: int
    failing: int
    pairs: int
    flips: int


class HealthQueries:
    """Reads for `health`, the health watch and `check-health`; `store` is anything with an `engine`."""

    def __init__(self, store: Any):
        self.engine = store.engine

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for a query that sorts every result: on PostgreSQL with the memory to sort
        them in RAM (the default 4 MB spilled 100,000 results to disk: 0.8 s of 1.5 s)."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL work_mem = '{SORT_MEMORY}'")
            yield conn

    def app_id(self, slug: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(AppRow.id).where(AppRow.slug == slug)).scalar_one_or_none()

    def totals(self, app_id: int, since: date, until: date) -> tuple[int, int]:
        """Events delivered and failed by every workspace of the app on the days since..until."""
        query = select(
            func.coalesce(func.sum(ActivityRow.events_delivered), 0),
            func.coalesce(func.sum(ActivityRow.events_failed), 0),
        ).where(ActivityRow.app_id == app_id, ActivityRow.day >= since, ActivityRow.day <= until)
        with self.engine.connect() as conn:
            delivered, failed = conn.execute(query).one()
        return int(delivered), int(failed)

    def daily(self, app_id: int, since: date, until: date) -> list[tuple[date, int, int]]:
        """Per day: events delivered and failed."""
        query = (
            select(ActivityRow.day, func.sum(ActivityRow.events_delivered), func.sum(ActivityRow.events_failed))
            .where(ActivityRow.app_id == app_id, ActivityRow.day >= since, ActivityRow.day <= until)
            .group_by(ActivityRow.day)
            .order_by(ActivityRow.day)
        )
        with self.engine.connect() as conn:
            return [(d, int(ok), int(bad)) for d, ok, bad in conn.execute(query)]

    def delivering_days(self, app_id: int, since: date, until: date) -> list[tuple[str, date]]:
        """(workspace, day) pairs with at least one delivered event (the active-customer rule's facts)."""
        query = select(ActivityRow.workspace_id, ActivityRow.day).where(
            ActivityRow.app_id == app_id,
            ActivityRow.day >= since,
            ActivityRow.day <= until,
            ActivityRow.events_delivered > 0,
        )
        with self.engine.connect() as conn:
            return [(w, d) for w, d in conn.execute(query)]

    def live_submissions(self, states: tuple[str, ...]) -> list[tuple[str, str]]:
        """(slug, submission id) of each app whose newest submission is in one of `states`."""
        newest = (
            select(SubmissionRow.app_id, func.max(SubmissionRow.version).label("version"))
            .group_by(SubmissionRow.app_id)
            .subquery()
        )
        query = (
            select(AppRow.slug, SubmissionRow.id)
            .join(SubmissionRow, SubmissionRow.app_id == AppRow.id)
            .join(newest, and_(newest.c.app_id == SubmissionRow.app_id, newest.c.version == SubmissionRow.version))
            .where(SubmissionRow.state.in_(states))
            .order_by(AppRow.slug)
        )
        with self.engine.connect() as conn:
            return [(slug, sid) for slug, sid in conn.execute(query)]

    def health_notices(self, slug: str) -> list[str]:
        """The kinds of the health notices sent to the reviewers about an app, oldest first."""
        query = (
            select(NotificationRow.kind)
            .where(NotificationRow.kind.in_(HEALTH_KINDS), NotificationRow.key.like(f"health-%:{slug}:%:reviewers"))
            .order_by(NotificationRow.id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def _results(self, since: datetime | None) -> Any:
        """Completed runs' results other than skips, with their run, version and whether they failed."""
        failing = case((ResultRow.outcome.in_(("fail", "error")), 1), else_=0)
        query = (
            select(
                ResultRow.check_id,
                ResultRow.stage,
                ResultRow.outcome,
                failing.label("failing"),
                RunRow.id.label("run_id"),
                RunRow.started_at,
                SubmissionRow.app_id,
                SubmissionRow.version,
            )
            .join(RunRow, RunRow.id == ResultRow.run_id)
            .join(SubmissionRow, SubmissionRow.id == RunRow.subject_id)
            .where(RunRow.subject_kind == "submission", RunRow.status == "completed", ResultRow.outcome != "skip")
        )
        if since is not None:
            query = query.where(RunRow.started_at >= since)
        return query.subquery()

    def check_history(self, since: datetime | None) -> tuple[list[CheckFigures], list[tuple[str, datetime, datetime]]]:
        """Per check, its counts; and for each failing streak of a check on an app that ended with a
        pass on a later version than the streak's last, (check, the streak's first start, the
        fixing run's start). One window (each app's runs of a check, in order, each beside the one
        before it), read twice in one statement: the counts, and the runs where the outcome turned."""
        r = self._results(since)
        window = {"partition_by": (r.c.check_id, r.c.app_id), "order_by": r.c.run_id}
        w = select(
            r.c.check_id,
            r.c.stage,
            r.c.outcome,
            r.c.failing,
            r.c.app_id,
            r.c.run_id,
            r.c.version,
            r.c.started_at,
            func.lag(r.c.outcome).over(**window).label("before"),
            func.lag(r.c.version).over(**window).label("before_version"),
        ).cte("turns")
        before_failing = case((w.c.before.in_(("fail", "error")), 1), else_=0)
        same_version = w.c.before_version == w.c.version
        turned = select(
            literal(1).label("kind"),
            w.c.check_id,
            w.c.stage,
            w.c.failing,
            w.c.app_id,
            w.c.run_id,
            w.c.version,
            w.c.before_version,
            w.c.started_at,
        ).where(w.c.failing != before_failing)
        counted = select(
            literal(0),
            w.c.check_id,
            func.max(w.c.stage),
            func.count(),
            func.sum(w.c.failing),
            func.sum(case((same_version, 1), else_=0)),
            func.sum(case((and_(same_version, w.c.before != w.c.outcome), 1), else_=0)),
            null(),
            null(),
        ).group_by(w.c.check_id)
        figures, turns = [], []
        with self._reading() as conn:
            for kind, check, stage, a, b, c, d, e, at in conn.execute(union_all(turned, counted)):
                if kind == 0:
                    figures.append(CheckFigures(check, stage, int(a), int(b), int(c), int(d)))
                else:
                    turns.append((check, b, c, a, d, e, at))
        found, began = [], {}
        for check, app_id, _, failing, version, before_version, at in sorted(turns, key=lambda t: t[:3]):
            if failing:
                began[(check, app_id)] = _aware(at)
            elif (start := began.pop((check, app_id), None)) is not None and version > before_version:
                found.append((check, start, _aware(at)))
        return figures, found

    def waivers_granted(self, since: datetime | None) -> dict[str, int]:
        """Per check, the waivers reviewers granted (since a time)."""
        query = select(WaiverRow.check_id, func.count()).group_by(WaiverRow.check_id)
        if since is not None:
            query = query.where(WaiverRow.created_at >= since)
        with self.engine.connect() as conn:
            return {check: int(n) for check, n in conn.execute(query)}


def _aware(value: Any) -> datetime:
    """An aggregate's datetime as a UTC-aware one (SQLite hands back text, PostgreSQL a datetime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
