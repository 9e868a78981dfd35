"""rerun-stage: the partner fixes its endpoint while the review waits; the reviewer re-runs e2e and
the new results replace the old in the store and the report, recorded as a review run of kind rerun."""

import asyncio
import copy

import pytest

from partner_review.partners import BEHAVIOURS
from partner_review.partners import app as partner_app
from partner_review.partners.server import in_thread
from tests.flows.support import decide_when_waiting, submit
from tests.flows.test_update_gate import report_of

pytestmark = pytest.mark.prefect


async def review_waiting(store, sid):
    """The review flow started and left waiting for the reviewer, its checks recorded."""
    from partner_review.flows.review import review_submission

    running = asyncio.create_task(review_submission(sid))
    for _ in range(1200):
        latest = store.latest_review(sid)
        if latest and latest[0].status == "completed" and store.get_submission(sid).state == "in_review":
            return running
        if running.done():
            raise AssertionError(f"the review ended early: {running.result()}")
        await asyncio.sleep(0.25)
    raise AssertionError("the review never finished its checks")


async def rerun_fixes_e2e(store, example):
    from partner_review.flows.rerun import rerun_stage

    partner = partner_app("no-auth")  # accepts a wrong credential: E2E-009 fails
    with in_thread(partner, host="127.0.0.1", name="partner fixed during review") as port:
        from partner_review.cli.demo import pointed_at

        sid = submit(store, pointed_at(copy.deepcopy(example), f"http://127.0.0.1:{port}"))
        running = await review_waiting(store, sid)
        run, before = store.latest_review(sid)
        by_id = {r.check: r for r in before}
        assert by_id["E2E-009"].outcome == "fail" and run.verdict == "fail"
        report = await report_of("acme-analytics")
        assert report.splitlines()[0].endswith(": FAIL") and "### E2E-009 " in report

        partner.behaviour = BEHAVIOURS["conformant"]  # the partner fixes its endpoint
        # The security stage saw the same weakness (SEC-007: a wrong credential accepted): re-run first.
        assert (await rerun_stage(sid, "security"))["results"]["SEC-007"] == "pass"
        outcome = await rerun_stage(sid, "e2e")
        assert outcome["verdict"] == "pass" and outcome["results"]["E2E-009"] == "pass"

        run_after, after = store.latest_review(sid)
        assert run_after.id == run.id and run_after.verdict == "pass"
        assert [r.check for r in after] == [r.check for r in before]  # same checks, in the same place
        assert {r.check: r for r in after}["E2E-009"].outcome == "pass"
        rerun_stages = ("e2e", "security")  # the stages not re-run keep their results
        assert [r for r in after if r.stage not in rerun_stages] == [r for r in before if r.stage not in rerun_stages]
        rerun, rerun_results = store.latest_review(sid, kind="rerun")
        assert rerun.id == outcome["rerun_run_id"] and {r.stage for r in rerun_results} == {"e2e"}
        report = await report_of("acme-analytics")
        assert report.splitlines()[0].endswith(": PASS") and "### E2E-009 " not in report
        assert "Stage e2e re-run" in report

        await decide_when_waiting(sid, "approve")
        return await running, sid


async def test_a_reviewer_reruns_e2e_after_the_partner_fixed_it(prefect_harness, store, example):
    from partner_review.flows.rerun import NothingToRerun, rerun_stage

    decided, sid = await rerun_fixes_e2e(store, example)
    assert decided["state"] == "public_beta"
    with pytest.raises(NothingToRerun, match="already decided"):  # a decided review keeps its results
        await rerun_stage(sid, "catalog")


async def test_rerun_on_postgresql(prefect_harness, pg_store, example):
    decided, _ = await rerun_fixes_e2e(pg_store, example)
    assert decided["state"] == "public_beta"


async def test_rerun_refuses_an_unknown_stage_and_a_submission_without_review(prefect_harness, store, example):
    from prefect.exceptions import ParameterTypeError

    from partner_review.flows.rerun import NothingToRerun, rerun_stage

    sid = submit(store, copy.deepcopy(example))
    with pytest.raises(NothingToRerun, match="no review yet"):
        await rerun_stage(sid, "catalog")
    with pytest.raises(ParameterTypeError, match="stage: Input should be .catalog., .docs."):  # checked before the run
        await rerun_stage(sid, "graduation")
    assert store.latest_review(sid, kind="rerun") is None
