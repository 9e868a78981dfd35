"""The one Retry-After parser (load test and fetcher both use it)."""

from __future__ import annotations

import email.utils

from hypothesis import given
from hypothesis import strategies as st

from partner_review.tasks.net.retry_after import retry_after_seconds


def test_delta_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 3 ") == 3.0
    now = 1_700_000_000.0
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_absent_or_unusable_values_are_none():
    for value in (None, "", "   ", "soon", "-5", "1.5", "Mon, 99 Foo 2024 25:61:61 GMT"):
        assert retry_after_seconds(value) is None, value


def test_unicode_digits_are_not_seconds():
    # str.isdigit() is true for these, float() is not: they used to raise ValueError mid-load-test.
    for value in ("²", "٣", "12³", "１０"):
        assert retry_after_seconds(value) is None, value


@given(st.text(max_size=60))
def test_any_header_value_gives_a_number_or_none(value):
    seconds = retry_after_seconds(value)
    assert seconds is None or seconds >= 0
