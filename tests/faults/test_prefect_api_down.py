"""(a) The Prefect API is down while deliveries arrive: every delivery is answered 202 and kept;
once the API answers again each one is dispatched exactly once, keyed by its delivery id."""

import asyncio
import json
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign
from tests.faults.conftest import Proxy, wait_until

pytestmark = pytest.mark.prefect

DELIVERIES = 8


async def apply_review_deployment() -> None:
    from partner_review.deployments.serve import deployments

    served = await asyncio.to_thread(deployments)  # built as `partner-review serve` builds them
    await next(d for d in served if d.name == "review-submission").apply()


def post(base: str, body: bytes, delivery: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{base}/webhooks/submissions",
        content=body,
        timeout=30,
        headers={"content-type": "application/json", DELIVERY_HEADER: delivery, HEADER: sign(secret, body)},
    )


def test_deliveries_during_an_api_outage_are_dispatched_once_it_returns(
    prefect_harness, store, env, example, receivers
):
    asyncio.run(apply_review_deployment())
    proxy = Proxy(urlsplit(prefect_harness).port)  # refuses connections until proxy.up()
    try:
        receiver = receivers(
            PARTNER_REVIEW_DATA_DIR=str(store.settings.data_dir),
            PARTNER_REVIEW_DATABASE_URL=store.url,
            PARTNER_REVIEW_WEBHOOK_SECRET=env,
            PARTNER_REVIEW_DISPATCH="deployment",
            PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS="0.3",
            PREFECT_API_URL=f"http://127.0.0.1:{proxy.port}/api",
            PREFECT_CLIENT_MAX_RETRIES="0",
        )
        run = uuid.uuid4().hex[:8]
        sent: dict[str, str] = {}
        for n in range(DELIVERIES):
            example["app"]["slug"] = f"outage-{run}-{n}"
            body = json.dumps(example).encode()
            answer = post(receiver.base, body, f"outage-{run}-{n}", env)
            assert answer.status_code == 202, answer.text
            sent[f"outage-{run}-{n}"] = answer.json()["submission_id"]
        # A sender retrying while the API is down gets the original answer; nothing new is queued.
        again = post(receiver.base, body, f"outage-{run}-{DELIVERIES - 1}", env)
        assert again.status_code == 200 and again.json()["submission_id"] == sent[f"outage-{run}-{DELIVERIES - 1}"]

        # The dispatcher really tried and was refused, and keeps every delivery pending.
        wait_until(lambda: all(d.attempts >= 2 for d in store.dispatches()), "failed dispatch attempts", timeout=60)
        during = store.dispatches()
        assert len(during) == DELIVERIES
        assert all(d.status == "pending" and d.flow_run_id is None for d in during)
        assert all("ConnectError" in d.last_error for d in during), {d.last_error for d in during}

        proxy.up()
        wait_until(
            lambda: all(d.status == "dispatched" for d in store.dispatches()), "dispatch after recovery", timeout=120
        )
    finally:
        proxy.close()

    after = store.dispatches()
    assert {d.delivery_id: d.submission_id for d in after} == sent  # none lost, none added
    assert len({d.flow_run_id for d in after}) == DELIVERIES  # one run per delivery

    async def runs():
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            return [await client.read_flow_run(d.flow_run_id) for d in after]

    for dispatch, flow_run in zip(after, asyncio.run(runs())):
        assert flow_run.idempotency_key == dispatch.delivery_id
        assert flow_run.parameters == {"submission_id": dispatch.submission_id}
