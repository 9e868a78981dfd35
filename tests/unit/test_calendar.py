from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from partner_review.models.calendar import add_business_days

LA = ZoneInfo("America/Los_Angeles")


def due(local: datetime, days: int = 2, country: str = "US", tz: str = "America/Los_Angeles") -> datetime:
    return add_business_days(local.astimezone(UTC), days, country=country, tz=tz).astimezone(ZoneInfo(tz))


def test_midweek_keeps_the_time_of_day():
    assert due(datetime(2026, 11, 17, 15, 30, tzinfo=LA)) == datetime(2026, 11, 19, 15, 30, tzinfo=LA)


def test_friday_skips_the_weekend():
    assert due(datetime(2026, 11, 13, 15, 0, tzinfo=LA)) == datetime(2026, 11, 17, 15, 0, tzinfo=LA)


def test_weekend_arrival_starts_the_clock_on_monday_morning():
    assert due(datetime(2026, 11, 14, 10, 0, tzinfo=LA)) == datetime(2026, 11, 18, 0, 0, tzinfo=LA)


def test_thanksgiving_is_not_a_business_day():
    # Wed 25 Nov 2026 -> Thu 26 is Thanksgiving, so the days are Fri 27 and Mon 30.
    assert due(datetime(2026, 11, 25, 9, 0, tzinfo=LA)) == datetime(2026, 11, 30, 9, 0, tzinfo=LA)


def test_arrival_on_a_holiday_counts_from_the_next_business_day():
    assert due(datetime(2026, 12, 25, 12, 0, tzinfo=LA)) == datetime(2026, 12, 30, 0, 0, tzinfo=LA)


def test_the_calendar_is_a_setting():
    # 26 Nov is no holiday in Germany, but 25 and 26 Dec are.
    berlin = ZoneInfo("Europe/Berlin")
    assert due(datetime(2026, 11, 25, 9, 0, tzinfo=berlin), country="DE", tz="Europe/Berlin") == datetime(
        2026, 11, 27, 9, 0, tzinfo=berlin
    )
    assert due(datetime(2026, 12, 24, 9, 0, tzinfo=berlin), country="DE", tz="Europe/Berlin") == datetime(
        2026, 12, 29, 9, 0, tzinfo=berlin
    )


def test_timezone_decides_the_day():
    # 06:00 UTC Saturday is still Friday 22:00 in Los Angeles: Friday counts as the arrival day.
    arrival = datetime(2026, 11, 14, 6, 0, tzinfo=UTC)
    assert add_business_days(arrival, 2, country="US", tz="America/Los_Angeles") == datetime(
        2026, 11, 17, 22, 0, tzinfo=LA
    ).astimezone(UTC)
    # In UTC it is Saturday: the clock starts Monday 00:00 UTC.
    assert add_business_days(arrival, 2, country="US", tz="UTC") == datetime(2026, 11, 18, 0, 0, tzinfo=UTC)


def test_dst_end_keeps_wall_clock_time():
    # DST ends Sun 1 Nov 2026: Fri 30 Oct 10:00 PDT -> Tue 3 Nov 10:00 PST (an 8 h offset, not 7).
    result = due(datetime(2026, 10, 30, 10, 0, tzinfo=LA))
    assert (result.hour, result.utcoffset().total_seconds()) == (10, -8 * 3600)


def test_dst_gap_time_lands_after_the_gap():
    # Cairo moves its clocks from 00:00 to 01:00 on Friday 24 Apr 2026, a business day on the US
    # calendar: a due time of 00:30 that day does not exist and becomes 01:30 local, the same instant
    # as 00:30 on the old offset.
    cairo = ZoneInfo("Africa/Cairo")
    result = due(datetime(2026, 4, 22, 0, 30, tzinfo=cairo), tz="Africa/Cairo")
    assert result == datetime(2026, 4, 24, 1, 30, tzinfo=cairo)
    assert result.utcoffset().total_seconds() == 3 * 3600


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_days(datetime(2026, 1, 1), 2, country="US", tz="UTC")
