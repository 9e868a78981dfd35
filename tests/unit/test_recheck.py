from partner_review.models.checks import Result
from partner_review.tasks.lifecycle.recheck import regressions


def result(check, outcome, severity="blocker"):
    return Result(check=check, stage="links", severity=severity, outcome=outcome, message=f"{check} {outcome}")


def test_a_check_that_passed_and_now_fails_is_a_regression():
    before = [result("LNK-001", "pass"), result("LNK-005", "fail"), result("LNK-011", "pass", "warning")]
    now = [result("LNK-001", "fail"), result("LNK-005", "fail"), result("LNK-011", "warn", "warning")]
    assert [r.check for r in regressions(before, now)] == ["LNK-001", "LNK-011"]


def test_nothing_regresses_without_a_previous_pass():
    assert regressions([], [result("LNK-001", "fail")]) == []
    assert regressions([result("LNK-001", "skip")], [result("LNK-001", "fail")]) == []
