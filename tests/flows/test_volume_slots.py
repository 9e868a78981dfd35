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


HOLD_AND_WAIT = """
import asyncio, sys
from partner_review.flows import slots

async def main():
    async with slots.holding(sys.argv[1:]):
        print("held", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_holder_killed_on_this_host_is_reclaimed_by_the_next_waiter(prefect_harness, store, tmp_path):
    """An ephemeral Prefect server runs no lease repossessor: without the reclaim, the slots of a
    SIGKILLed holder stay taken for good and every later load test waits forever."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import uuid

    from partner_review.flows import slots
    from tests.faults.conftest import child_environ

    names = ["volume-worker-reclaim-test", "volume-partner-reclaim.example"]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_WAIT, *names],
        env=child_environ(
            PREFECT_API_URL=os.environ["PREFECT_API_URL"], PARTNER_REVIEW_DATA_DIR=str(store.settings.data_dir)
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        (record,) = (store.settings.data_dir / "leases").glob("*.json")
        junk = {  # half-written or foreign records are passed over, never a crash of the waiter
            "partial.json": '{"lease_id": "',
            "nested.json": "[" * 100_000,
            "wrong-types.json": '{"lease_id": "not-a-uuid", "pid": "\u00b9\u00b2", "host": null, "slots": 7}',
            "pid-zero.json": json.dumps(
                {"lease_id": str(uuid.UUID(int=0)), "pid": 0, "host": socket.gethostname(), "slots": names}
            ),
        }
        for name, text in junk.items():
            (record.parent / name).write_text(text)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(30), slots.holding(names) as held:
            waited = asyncio.get_running_loop().time() - started
        assert held.reclaimed == (record.stem,) and waited < 10
        left = sorted(p.name for p in (store.settings.data_dir / "leases").glob("*.json"))
        assert left == sorted(junk)  # the dead holder's record and this waiter's are gone
    finally:
        holder.kill()


async def test_slots_taken_too_long_leave_the_load_test_not_verified(prefect_harness, store, example, monkeypatch):
    """A live holder keeps its slots: the waiter gives up after volume_slot_wait_seconds, and the
    volume checks are not verified (so the verdict cannot pass on a load test that never ran)."""
    from partner_review.flows import slots, stages
    from partner_review.models.checks import verdict
    from partner_review.models.settings import get_settings
    from partner_review.models.submission import Submission

    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_SLOT_WAIT_SECONDS", "2")
    get_settings.cache_clear()
    submission = Submission.model_validate(example)
    async with slots.holding(slots.volume_slots(submission)):
        results = await stages._load_test_with_progress(submission)
    assert results and all(r.outcome == "skip" and r.not_run == "not-verified" for r in results)
    assert all("stayed taken by another load test for 2 s" in r.message for r in results)
    assert verdict(results) == "fail"
