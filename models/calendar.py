"""Business days: the acknowledgment promise (REVIEW_RULES section 1, Project rule).

due = received + N business days, counted in a timezone, weekends and the public holidays of a
country calendar (the `holidays` library) excluded. The wall-clock time of day is kept; when a
submission arrives outside a business day the clock starts at 00:00 of the next business day.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays


@functools.cache
def _holidays(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country)


def add_business_days(received: datetime, days: int, *, country: str, tz: str) -> datetime:
    """The UTC instant `days` business days after `received` (an aware datetime)."""
    if received.tzinfo is None:
        raise ValueError("received must be timezone-aware")
    zone = ZoneInfo(tz)
    local = received.astimezone(zone)
    day, clock = local.date(), local.timetz().replace(tzinfo=None)
    if not is_business_day(day, country):
        clock = time(0, 0)
        while not is_business_day(day, country):
            day += timedelta(days=1)
    for _ in range(days):
        day += timedelta(days=1)
        while not is_business_day(day, country):
            day += timedelta(days=1)
    # Wall-clock time on the due day; a time skipped by a DST change lands just after it.
    due = datetime.combine(day, clock, tzinfo=zone)
    return due.astimezone(UTC)
