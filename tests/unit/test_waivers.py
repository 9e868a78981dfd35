from datetime import UTC, datetime, timedelta

from partner_review.models.checks import Result, verdict
from partner_review.models.store import Waiver
from partner_review.tasks.lifecycle.waivers import apply_waivers

NOW = datetime(2026, 11, 26, tzinfo=UTC)
FAIL = Result(check="CAT-005", stage="catalog", severity="blocker", outcome="fail", message="website is http")


def test_waiver_in_force_turns_the_fail_into_a_recorded_warn():
    waived, notes = apply_waivers(
        [FAIL], [Waiver("CAT-005", "moving to https", "rita", NOW + timedelta(days=1))], now=NOW
    )
    assert waived[0].outcome == "warn" and "waived by rita" in waived[0].message
    assert waived[0].evidence["waiver"]["reason"] == "moving to https"
    assert verdict(waived) == "pass" and notes == []


def test_expired_waiver_stops_applying_and_says_so():
    waived, notes = apply_waivers([FAIL], [Waiver("CAT-005", "old", "rita", NOW - timedelta(days=1))], now=NOW)
    assert waived == [FAIL] and verdict(waived) == "fail"
    assert notes == ["The waiver for CAT-005 granted by rita expired on 2026-11-25; the check counts again."]


def test_waiver_for_another_check_changes_nothing():
    waived, _ = apply_waivers([FAIL], [Waiver("CAT-004", "x", "rita", NOW + timedelta(days=1))], now=NOW)
    assert waived == [FAIL]
