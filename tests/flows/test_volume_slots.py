"""Reviews do not skew each other: two reviews started at once load-test one after the other,
holding the worker host's and the partner host's global concurrency slots (named in the results)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from tests.flows.support import report_of, review, submit

pytestmark = pytest.mark.prefect


async def test_two_reviews_at_once_load_test_one_after_the_other(prefect_harness, store, example, monkeypatch):
    from prefect.client.orchestration import get_client

    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_DURATION_SECONDS", "5")  # long enough that unguarded runs overlap
    get_settings.cache_clear()

    first = submit(store, example, delivery="d-1")
    second = submit(store, {**example, "app": {**example["app"], "slug": "acme-two"}}, delivery="d-2")
    await asyncio.gather(review(first, "request_changes"), review(second, "request_changes"))

    held = []
    for sid in (first, second):
        _, results = store.latest_review(sid)
        volume = [r for r in results if r.stage == "volume" and r.outcome != "skip"]
        assert volume, "the load test ran"
        slots = {str(r.evidence["concurrency"]["slots"]) for r in volume}
        assert len(slots) == 1  # every VOL result names the same slots
        info = volume[0].evidence["concurrency"]
        assert info["slots"][0].startswith("volume-worker-") and info["slots"][1].startswith("volume-partner-")
        held.append((datetime.fromisoformat(info["held_from"]), datetime.fromisoformat(info["held_until"])))
    (a_from, a_until), (b_from, b_until) = sorted(held)
    assert a_until <= b_from, f"the load tests overlapped: {held}"
    assert (a_until - a_from).total_seconds() >= 5 and (b_until - b_from).total_seconds() >= 5

    async with get_client() as client:
        limits = {limit.name: limit for limit in await client.read_global_concurrency_limits()}
    assert all(limits[name].limit == 1 for name in info["slots"])
    assert "Load test held the concurrency slots volume\\-worker\\-" in await report_of("acme-analytics")
