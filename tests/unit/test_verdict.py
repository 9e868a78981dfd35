"""A verdict is only what was verified: a blocker that should have run and could not never passes."""

from __future__ import annotations

import json

from partner_review.models.checks import Check, blocking, unverified, verdict
from partner_review.models.submission import Submission
from partner_review.partners import app as partner_app
from partner_review.partners.server import in_thread
from partner_review.tasks.e2e import suite as e2e
from partner_review.tasks.runner import Scope, skip
from tests.conftest import EXAMPLES
from tests.e2e.test_e2e_suite import submission
from tests.unit.test_cli import run

BLOCKER = Check("TST-001", "Something is verified", "catalog", "blocker", "Fix it.")
NETWORKED = Check("TST-002", "Something is fetched", "links", "blocker", "Fix it.", network=True)
SOURCE_ONLY = Check("TST-003", "A source's events", "spec", "blocker", "Fix it.", applies_to="source")


def test_a_blocker_that_does_not_apply_does_not_block():
    result = BLOCKER.not_applicable("No OAuth configuration given")
    assert result.not_run == "not-applicable" and not result.blocks and not result.unverified
    assert verdict([result]) == "pass" and unverified([result]) == []


def test_a_blocker_that_could_not_be_verified_fails_and_says_so():
    result = BLOCKER.skipped("the doc page could not be fetched")
    assert result.not_run == "not-verified" and result.blocks
    assert result.message == "Not verified: the doc page could not be fetched"
    assert verdict([result]) == verdict([result], offline=True) == "fail"
    assert unverified([result]) == ["TST-001"]


def test_a_skip_without_a_reason_counts_as_not_verified():
    """Results stored before skips said why, or a stage that forgets to: never read as a pass."""
    result = BLOCKER.passed().model_copy(update={"outcome": "skip", "evidence": {}})
    assert result.not_run == "not-verified" and verdict([result]) == "fail"


def test_an_errored_blocker_fails_the_verdict():
    result = BLOCKER.errored("the endpoint answered something unreadable")
    assert result.blocks and verdict([result]) == "fail" and unverified([result]) == ["TST-001"]


def test_offline_a_skip_by_request_is_listed_but_only_a_review_fails_on_it():
    [result] = [skip(NETWORKED, Scope(offline=True), network_use="fetches the page")]
    assert result is not None and result.not_run == "offline" and result.message.startswith("offline:")
    assert verdict([result], offline=True) == "pass" and unverified([result]) == ["TST-002"]
    assert verdict([result]) == "fail" and blocking([result]) == [result]  # a review skips nothing by request


def test_the_runner_skips_a_missing_component_as_not_applicable():
    result = skip(SOURCE_ONLY, Scope(offline=True))
    assert result is not None and result.not_run == "not-applicable"
    assert verdict([result]) == "pass" and unverified([result]) == []


def test_check_offline_lists_the_blockers_left_unverified():
    done = run("check", str(EXAMPLES / "submission.json"), "--format", "json", "--offline")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    skipped = {r["check"] for r in report["results"] if r["severity"] == "blocker" and r["outcome"] == "skip"}
    offline = {r["check"] for r in report["results"] if r["evidence"].get("not_run") == "offline"}
    assert report["verdict"] == "pass"
    assert {"E2E-001", "VOL-001", "LNK-001"} <= set(report["unverified"])
    assert set(report["unverified"]) == {c for c in skipped if c in offline}  # no update gate: not applicable
    assert "UPD-001" in skipped and "UPD-001" not in report["unverified"]
    table = run("check", str(EXAMPLES / "submission.json"), "--offline")
    assert table.returncode == 0 and "unverified blockers" in table.stdout and "E2E-001" in table.stdout


def no_read_back(application):
    """The sample partner, less its read-back endpoint: what most real partners offer."""

    async def serve(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/v1/received":
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"not found"})
            return
        await application(scope, receive, send)

    return serve


async def test_a_review_fails_when_a_blocker_could_not_be_verified(example):
    """E2E-014 cannot read stored events back: every other e2e blocker passes, the verdict still fails."""
    with in_thread(no_read_back(partner_app("conformant")), host="127.0.0.1", name="no read-back") as port:
        sub: Submission = submission(example, f"http://127.0.0.1:{port}")
        results, _ = await e2e.run_e2e_suite(sub)
    by_id = {r.check: r for r in results}
    assert by_id["E2E-014"].outcome == "skip" and by_id["E2E-014"].message.startswith("Not verified: ")
    assert {r.check for r in results if r.outcome in ("fail", "error")} == set()
    assert verdict(results) == "fail" and [r.check for r in blocking(results)] == ["E2E-014"]
