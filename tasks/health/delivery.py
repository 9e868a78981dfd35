"""Delivery health of one app over a window: events delivered and failed, the success rate, the
active customers (the graduation check's own count) and, when short, why in plain words.

Healthy: a success rate of at least `health_min_success_rate` and at least
`graduation_min_customers` active customers. A day's record of a workspace replaced by a later
one counts once, as the store keeps one row per app, workspace and day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from partner_review.models.settings import Settings
from partner_review.models.store import NotFound, Store
from partner_review.models.store.health import HealthQueries


@dataclass(frozen=True)
class Health:
    app: str
    window_days: int
    events_delivered: int
    events_failed: int
    success_rate: float | None
    active_customers: int
    healthy: bool
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        rate = "no events" if self.success_rate is None else f"success rate {self.success_rate:.2%}"
        state = "healthy" if self.healthy else "not healthy"
        return f"{rate} over {self.window_days} days, {self.active_customers} active customers: {state}"


def judge(slug: str, settings: Settings, *, window_days: int, delivered: int, failed: int, active: int) -> Health:
    """The verdict on the figures (pure)."""
    threshold, need = settings.health_min_success_rate, settings.graduation_min_customers
    total = delivered + failed
    rate = delivered / total if total else None
    reasons = []
    if rate is None:
        reasons.append(
            f"no events were delivered or failed in the last {window_days} days, so there is no success rate"
        )
    elif rate < threshold:
        reasons.append(
            f"success rate {rate:.2%} is below {threshold:.0%}: {failed:,} of {total:,} events failed "
            f"in the last {window_days} days"
        )
    if active < need:
        reasons.append(
            f"{active} active customer{'' if active == 1 else 's'}, {need} needed (a workspace is active with events "
            f"delivered on at least {settings.active_min_days} days of the window)"
        )
    healthy = rate is not None and rate >= threshold and active >= need
    return Health(
        slug, window_days, delivered, failed, None if rate is None else round(rate, 4), active, healthy, reasons
    )


def health_of(store: Store, settings: Settings, slug: str, *, today: date, days: int | None = None) -> Health:
    """The app's health over the `days` (default `health_window_days`) ending `today`; NotFound for
    an app the catalog lacks."""
    window = days or settings.health_window_days
    queries = HealthQueries(store)
    app_id = queries.app_id(slug)
    if app_id is None:
        raise NotFound(f"no app with slug {slug!r} in the catalog")
    delivered, failed = queries.totals(app_id, today - timedelta(days=window - 1), today)
    # The graduation check's own count (tasks/graduation/adoption.py), over this window.
    active_days = store.active_days(slug, until=today, window_days=window)
    active = sum(1 for n in active_days.values() if n >= settings.active_min_days)
    return judge(slug, settings, window_days=window, delivered=delivered, failed=failed, active=active)


@dataclass(frozen=True)
class Day:
    day: date
    success_rate: float | None
    active_customers: int


def daily_series(store: Store, settings: Settings, slug: str, *, today: date, days: int = 90) -> list[Day]:
    """Each of the last `days` days: that day's success rate and the customers active in the
    `active_window_days` ending it (the graduation rule, day by day)."""
    queries = HealthQueries(store)
    app_id = queries.app_id(slug)
    if app_id is None:
        raise NotFound(f"no app with slug {slug!r} in the catalog")
    first = today - timedelta(days=days - 1)
    counts = {d: (ok, bad) for d, ok, bad in queries.daily(app_id, first, today)}
    lookback = settings.active_window_days
    seen: dict[date, set[str]] = defaultdict(set)
    for workspace, day in queries.delivering_days(app_id, first - timedelta(days=lookback - 1), today):
        seen[day].add(workspace)
    need = settings.active_min_days
    tally: dict[str, int] = defaultdict(int)  # days delivered in the window ending the current day
    active = 0
    series = []
    for offset in range(-(lookback - 1), days):
        day = first + timedelta(days=offset)
        for workspace in seen.get(day, ()):
            tally[workspace] += 1
            active += tally[workspace] == need
        for workspace in seen.get(day - timedelta(days=lookback), ()):
            active -= tally[workspace] == need
            tally[workspace] -= 1
        if offset >= 0:
            ok, bad = counts.get(day, (0, 0))
            series.append(Day(day, ok / (ok + bad) if ok + bad else None, active))
    return series
