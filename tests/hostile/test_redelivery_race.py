"""A sender that retries before its first attempt was answered: the same delivery id arrives
several times at once. Contract section 2: 200 with the original for a delivery id seen before,
so every copy must get the one submission, never a 409 meant for a *different* delivery.

Found by bench/intake.py (one 409 among 215 redeliveries at 200/s): `Store.record_delivery`
looks the delivery id up outside its transaction, so a copy that passes the lookup while the
first copy commits then meets that submission in the version check and raises VersionConflict.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from partner_review.models.store import VersionConflict
from partner_review.models.submission import parse_submission

COPIES = 8


ROUNDS = 25


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, env, monkeypatch):
    from tests.conftest import opened_store

    with opened_store(request, monkeypatch, request.param) as s:
        yield s


def test_concurrent_copies_of_one_delivery_all_get_the_same_submission(any_store, example):
    now = datetime.now(UTC)
    conflicts = []
    for round_ in range(ROUNDS):
        example["app"]["slug"] = f"race-{round_}"
        submission = parse_submission(example)
        barrier = threading.Barrier(COPIES)
        answers = []

        def deliver():
            barrier.wait()
            try:
                answers.append(
                    any_store.record_delivery(
                        f"same-{round_}", b"{}", submission, received_at=now, ack_due_at=now + timedelta(days=2)
                    )
                )
            except VersionConflict as error:
                conflicts.append(error)

        threads = [threading.Thread(target=deliver) for _ in range(COPIES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len({a.submission_id for a in answers}) == 1 and sum(a.created for a in answers) == 1
    assert len(any_store.dispatches()) == ROUNDS  # never doubled, bug or not
    assert not conflicts, f"{len(conflicts)} of {ROUNDS * COPIES} copies got VersionConflict"
