"""The queries behind delivery health and the checks' own quality (issue 26), in one place.

SQLAlchemy Core over the ORM tables, on the store's engine: read-only, no session state. The
indexes they rely on (migration 0008) are `ix_activity_app_day` for a window of one app's
activity and `ix_review_runs_started_at` for the results since a date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select

from partner_review.models.db import (
    ActivityRow,
    AppRow,
    CheckResultRow,
    NotificationRow,
    ReviewRunRow,
    SubmissionRow,
    WaiverRow,
)

HEALTH_KINDS = ("health-breach", "health-recovery")


@dataclass(frozen=True)
class CheckRun:
    """One result of one check, with the run and submission version it belongs to."""

    check: str
    stage: str
    outcome: str
    app_id: int
    submission_id: str
    version: int
    run_id: int
    started_at: datetime


class HealthQueries:
    """Reads for `health`, the health watch and `check-health`; `store` is anything with an `engine`."""

    def __init__(self, store: Any):
        self.engine = store.engine

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

    def check_runs(self, since: datetime | None) -> list[CheckRun]:
        """Every completed run's results (since a time), ordered by check, app and run."""
        query = (
            select(
                CheckResultRow.check_id,
                CheckResultRow.stage,
                CheckResultRow.outcome,
                SubmissionRow.app_id,
                SubmissionRow.id,
                SubmissionRow.version,
                ReviewRunRow.id,
                ReviewRunRow.started_at,
            )
            .join(ReviewRunRow, ReviewRunRow.id == CheckResultRow.review_run_id)
            .join(SubmissionRow, SubmissionRow.id == ReviewRunRow.submission_id)
            .where(ReviewRunRow.status == "completed")
        )
        if since is not None:
            query = query.where(ReviewRunRow.started_at >= since)
        with self.engine.connect() as conn:
            rows = [CheckRun(*row) for row in conn.execute(query)]
        rows.sort(key=lambda r: (r.check, r.app_id, r.run_id))
        return rows

    def waivers_granted(self, since: datetime | None) -> dict[str, int]:
        """Per check, the waivers reviewers granted (since a time)."""
        query = select(WaiverRow.check_id, func.count()).group_by(WaiverRow.check_id)
        if since is not None:
            query = query.where(WaiverRow.created_at >= since)
        with self.engine.connect() as conn:
            return {check: int(n) for check, n in conn.execute(query)}
