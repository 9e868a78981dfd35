"""Issue 13 item 6 and issue 18 under concurrency: real uvicorn on loopback, both engines.

20 deliveries of one new app's version at once: one 202, the rest 409 (never a leaked
UniqueViolation as 503). 20 versions at once: all 202. Two copies of one signed request under
different delivery ids at once: one 2xx, one 401.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from partner_review.webhooks.server import running
from tests.hostile.signed import activity, raw, signed

COPIES = 20


@pytest.fixture
def receiver(engine_store, monkeypatch):
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    get_settings.cache_clear()
    with running() as base:
        yield base


def at_once(requests: list[tuple[str, bytes, dict]]) -> list[int]:
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, bytes, dict]) -> int:
        url, body, headers = request
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return client.post(url, content=body, headers=headers).status_code

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_one_version_sent_twenty_times_at_once_is_accepted_once(receiver, engine_store, example):
    requests = []
    for i in range(COPIES):
        example["app"]["description"] = f"copy {i}"  # a distinct body, a distinct delivery
        body = raw(example)
        requests.append((f"{receiver}/webhooks/submissions", body, signed(body, f"same-version-{i}")))
    statuses = at_once(requests)
    assert sorted(statuses) == [202] + [409] * (COPIES - 1), statuses
    assert len(engine_store.dispatches()) == 1


def test_twenty_versions_at_once_are_all_accepted(receiver, engine_store, example):
    requests = []
    for i in range(COPIES):
        body = raw({**example, "version": i + 1})
        requests.append((f"{receiver}/webhooks/submissions", body, signed(body, f"version-{i}")))
    statuses = at_once(requests)
    assert statuses == [202] * COPIES, statuses
    assert len(engine_store.dispatches()) == COPIES


@pytest.mark.parametrize("path", ["/webhooks/submissions", "/webhooks/activity"])
def test_racing_replays_under_new_delivery_ids_get_one_acceptance(receiver, engine_store, example, path):
    if path == "/webhooks/activity":
        seed = raw(example)
        assert httpx.post(f"{receiver}/webhooks/submissions", content=seed, headers=signed(seed, "seed")).status_code
        body = raw([activity(delivered=3)])
    else:
        body = raw(example)
    headers = signed(body, "original")
    requests = [(f"{receiver}{path}", body, {**headers, "X-Partner-Review-Delivery": f"copy-{i}"}) for i in range(8)]
    statuses = at_once(requests)
    assert sum(s in (200, 202) for s in statuses) == 1 and statuses.count(401) == 7, statuses


def test_copies_of_one_delivery_at_once_all_get_the_first_answer(receiver, engine_store, example):
    body = raw(example)
    headers = signed(body, "one-delivery")
    statuses = at_once([(f"{receiver}/webhooks/submissions", body, headers) for _ in range(COPIES)])
    assert sorted(statuses) == [200] * (COPIES - 1) + [202], statuses
    assert len(engine_store.dispatches()) == 1


def test_a_submission_is_answered_while_a_big_activity_batch_is_stored(receiver, engine_store, example):
    """10,000 records are stored in short transactions: a submission is not held behind the batch
    (timing in bench/intake.py; here: both are answered and stored in full)."""
    seed = raw(example)
    httpx.post(f"{receiver}/webhooks/submissions", content=seed, headers=signed(seed, "seed"))
    records = [activity(workspace_id=f"ws-{i % 500}", day=f"2026-10-{1 + i // 500:02d}") for i in range(10_000)]
    batch = raw(records)
    follow = raw({**example, "version": 2})
    done: dict[str, tuple[int, float]] = {}

    def send(name: str, path: str, body: bytes, delivery: str) -> None:
        import time

        answer = httpx.post(f"{receiver}{path}", content=body, headers=signed(body, delivery), timeout=60)
        done[name] = (answer.status_code, time.monotonic())

    big = threading.Thread(target=send, args=("activity", "/webhooks/activity", batch, "batch"))
    big.start()
    send("submission", "/webhooks/submissions", follow, "during")
    big.join(60)
    assert done["activity"][0] == 200 and done["submission"][0] == 202
    assert engine_store.find_delivery("during") is not None
    with engine_store.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM activity")).scalar_one() == 10_000
