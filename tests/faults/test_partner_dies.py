"""(d) The partner's endpoint dies during the review's load test: the volume stage fails with the
errors as evidence, every other stage keeps its results, and the review still reaches the
reviewer and completes."""

import asyncio
import contextlib
import json
import uuid

import pytest

from tests.conftest import EXAMPLES

pytestmark = pytest.mark.prefect


async def volume_running(flow_run_id: str) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)]))
        )
    return any(r.name.startswith("test-high-data-volume") and r.state and r.state.type.value == "RUNNING" for r in runs)


async def load_started() -> bool:
    """The volume task holds its partner-host slot: the load itself starts right after."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            limit = await client.read_global_concurrency_limit_by_name("volume-partner-127.0.0.1")
        except ObjectNotFound:
            return False
    return limit.active_slots > 0


async def test_partner_dying_mid_load_fails_the_volume_stage_and_the_review_completes(
    prefect_harness, store, env, sample_site, monkeypatch
):
    from partner_review.cli.demo import pointed_at
    from partner_review.flows.review import review_submission
    from partner_review.models.settings import get_settings
    from partner_review.partners import running
    from tests.flows.support import decide_when_waiting, submit

    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_DURATION_SECONDS", "8")
    get_settings.cache_clear()
    with contextlib.ExitStack() as partner_alive:
        partner = partner_alive.enter_context(running("conformant"))
        sid = submit(store, pointed_at(json.loads((EXAMPLES / "submission.json").read_text()), partner, sample_site))
        review = asyncio.create_task(review_submission(sid))
        for _ in range(900):
            latest = store.latest_review(sid)
            if latest and latest[0].flow_run_id and await volume_running(latest[0].flow_run_id):
                if await load_started():
                    break
            assert not review.done(), review
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the volume stage never started")
        await asyncio.sleep(1.5)  # some requests answered, then the partner goes away
        await asyncio.to_thread(partner_alive.close)

    await decide_when_waiting(sid, "request_changes", comment="Your endpoint went down under load.")
    outcome = await asyncio.wait_for(review, 300)
    assert outcome["decision"] == "request_changes" and outcome["state"] == "changes_requested"

    run, results = store.latest_review(sid)
    assert run.status == "completed"
    by_stage = {}
    for r in results:
        by_stage.setdefault(r.stage, []).append(r)
    assert {"catalog", "e2e", "spec", "docs", "links", "volume"} <= by_stage.keys()
    assert all(r.outcome == "pass" for r in by_stage["e2e"] if r.outcome != "skip")  # e2e ran before the kill
    errors = [r for r in by_stage["volume"] if r.outcome == "fail" and r.evidence.get("errors")]
    assert errors, [(r.check, r.outcome, r.message) for r in by_stage["volume"]]
    evidence = errors[0].evidence
    assert evidence["errors"] > 0 and evidence["sent"] > evidence["errors"]  # answered at first, then not
    assert evidence["transport_errors"] or evidence["errors_by_status"]
    assert "errors in" in errors[0].message
    assert [n.kind for n in store.notifications(sid)] == ["acknowledgment", "request_changes"]
