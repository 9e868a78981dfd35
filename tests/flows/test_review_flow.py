"""The review flow under the session's Prefect test server, on a real store."""

import json
import time

import httpx
import pytest

from partner_review.models.lifecycle import State
from tests.flows.support import decide_when_waiting, review, submit

pytestmark = pytest.mark.prefect


async def test_review_records_results_artifacts_and_hands_over(prefect_harness, store, example):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    sid = submit(store, example)
    outcome = await review(sid)
    assert outcome["verdict"] == "pass" and outcome["decision"] == "approve"
    stored = store.get_submission(sid)
    assert stored.state == State.public_beta and stored.ack_on_time is True
    assert [(t.to_state, t.actor) for t in store.transitions(sid)] == [
        ("submitted", "partner"),
        ("acknowledged", "partner-review"),
        ("in_review", "partner-review"),
        ("public_beta", "rita@reviewers.example"),
    ]
    run, results = store.latest_review(sid)
    assert run.status == "completed" and run.flow_run_id and {r.stage for r in results} >= {"catalog"}
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["review-acme-analytics"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.flow_run_id]),
            )
        )
    assert artifacts and "Review of Acme Analytics v1: PASS" in artifacts[0].data


async def test_review_on_postgresql(prefect_harness, pg_store, example):
    sid = submit(pg_store, example)
    outcome = await review(sid)
    assert outcome["state"] == "public_beta" and pg_store.latest_review(sid)[0].verdict == "pass"


async def test_approval_notifies_the_partner_once(prefect_harness, store, example):
    sid = submit(store, example)
    await review(sid)
    notes = store.notifications(sid)
    assert [(n.kind, n.status) for n in notes] == [("acknowledgment", "logged"), ("approve", "logged")]
    assert "approved for Public Beta" in notes[1].subject


async def test_acknowledgment_over_smtp_exactly_once_across_a_retry(prefect_harness, store, example, smtp, monkeypatch):

    sid = submit(store, example)
    real, calls = store.acknowledge, []

    def fail_once_after_sending(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("store hiccup after the mail went out")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "acknowledge", fail_once_after_sending)
    await review(sid)
    assert len(calls) == 2  # the task was retried
    assert len(smtp.messages) == 2  # acknowledgment and approval, each once
    message = smtp.messages[0]
    assert message.rcpt_tos == ["support@acme.example"]
    assert b"We received Acme Analytics v1" in message.content
    assert store.notifications(sid)[0].status == "sent"


def test_delivery_through_the_receiver_ends_in_a_review(prefect_harness, store, example, monkeypatch):
    from partner_review.webhooks.server import running
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "local")
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS", "0.2")
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    body = json.dumps(example).encode()
    with running() as base:
        answer = httpx.post(
            f"{base}/webhooks/submissions",
            content=body,
            timeout=30,
            headers={DELIVERY_HEADER: f"e2e-{time.time_ns()}", HEADER: sign("test-webhook-secret", body)},
        )
        assert answer.status_code == 202
        sid = answer.json()["submission_id"]
        import asyncio

        asyncio.run(decide_when_waiting(sid))
        deadline = time.monotonic() + 120
        while store.dispatches()[0].status != "dispatched":
            assert time.monotonic() < deadline, "the review was not dispatched and finished"
            time.sleep(0.2)
    latest = store.latest_review(sid)
    assert latest[0].status == "completed"
    assert latest[0].verdict == "pass"
    assert store.get_submission(sid).state == State.public_beta
    (dispatch,) = store.dispatches()
    assert dispatch.status == "dispatched" and dispatch.flow_run_id == latest[0].flow_run_id


async def test_dispatch_waits_for_the_prefect_api_and_uses_the_delivery_as_idempotency_key(
    prefect_harness, store, example, monkeypatch
):
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from partner_review.deployments.serve import deployments
    from partner_review.models.settings import get_settings
    from partner_review.webhooks.dispatch import Dispatcher
    from partner_review.webhooks.server import free_port

    delivery = f"dl-{uuid.uuid4()}"  # the Prefect server outlives this test: keys must be new
    sid = submit(store, example, delivery=delivery)
    settings = get_settings()
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api", PREFECT_CLIENT_MAX_RETRIES: 0}):
        assert await Dispatcher(store, settings).dispatch_pending() == 0
    (failed,) = store.dispatches()
    assert failed.status == "pending" and failed.attempts == 1 and "ConnectError" in failed.last_error

    missing = Dispatcher(store, settings.model_copy(update={"review_deployment": "review-submission/not-deployed"}))
    assert await missing.dispatch_pending() == 0
    (failed,) = store.dispatches()
    assert failed.status == "pending" and failed.attempts == 2 and "is not on the Prefect API" in failed.last_error

    import asyncio

    served = await asyncio.to_thread(deployments)  # built as `partner-review serve` builds them
    await next(d for d in served if d.name == "review-submission").apply()
    assert await Dispatcher(store, settings).dispatch_pending() == 1
    (done,) = store.dispatches()
    async with get_client() as client:
        run = await client.read_flow_run(done.flow_run_id)
        assert run.parameters == {"submission_id": sid} and run.idempotency_key == delivery
        deployment = await client.read_deployment_by_name(settings.review_deployment)
        again = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"submission_id": sid}, idempotency_key=delivery
        )
    assert str(again.id) == done.flow_run_id
