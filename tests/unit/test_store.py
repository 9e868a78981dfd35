"""The store on both engines: SQLite always, PostgreSQL where PARTNER_REVIEW_TEST_POSTGRES_URL is set."""

from datetime import UTC, datetime, timedelta

import pytest

from partner_review.models.checks import Result
from partner_review.models.lifecycle import IllegalTransition, State
from partner_review.models.store import NotFound, VersionConflict
from partner_review.models.submission import parse_submission

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def record(store, example, delivery="d-1", version=None):
    if version:
        example = {**example, "version": version}
    submission = parse_submission(example)
    return store.record_delivery(delivery, b"body", submission, received_at=NOW, ack_due_at=NOW + timedelta(days=2))


def test_delivery_is_recorded_with_submission_dispatch_and_transition(store, example):
    intake = record(store, example)
    assert intake.created and intake.status == "submitted"
    stored = store.get_submission(intake.submission_id)
    assert stored.slug == "acme-analytics" and stored.state == State.submitted
    assert stored.received_at == NOW
    assert [d.delivery_id for d in store.pending_dispatches()] == ["d-1"]
    assert [(t.from_state, t.to_state, t.actor) for t in store.transitions(intake.submission_id)] == [
        (None, "submitted", "partner")
    ]


def test_redelivery_returns_the_original_and_records_nothing(store, example):
    first = record(store, example)
    again = record(store, example)
    assert again.submission_id == first.submission_id and not again.created
    assert len(store.pending_dispatches()) == 1


def test_same_version_from_another_delivery_conflicts(store, example):
    record(store, example)
    with pytest.raises(VersionConflict, match="version 1 of 'acme-analytics' was already submitted"):
        record(store, example, delivery="d-2")


def test_secrets_are_sealed_not_stored_in_plain_columns(store, example):
    intake = record(store, example)
    blob = repr(list(store.rows()))
    assert "s3cret-for-reviewers" not in blob and "acme-api-key-for-review" not in blob
    stored = store.get_submission(intake.submission_id)
    assert stored.submission.destinations[0].auth.secret.get_secret_value() == "acme-api-key-for-review"


def test_transitions_are_rows_and_illegal_ones_raise(store, example):
    sid = record(store, example).submission_id
    assert store.transition(sid, State.acknowledged, actor="bot", reason="ack sent")
    assert not store.transition(sid, State.acknowledged, actor="bot")  # already there: no new row
    with pytest.raises(IllegalTransition):
        store.transition(sid, State.public, actor="bot")
    assert store.get_submission(sid).state == State.acknowledged
    assert [t.to_state for t in store.transitions(sid)] == ["submitted", "acknowledged"]


def test_resubmission_links_to_the_previous_version(store, example):
    first = record(store, example).submission_id
    for target in (State.acknowledged, State.in_review, State.changes_requested):
        store.transition(first, target, actor="reviewer")
    second = record(store, example, delivery="d-2", version=2)
    assert second.status == "resubmitted"
    assert store.get_submission(second.submission_id).previous_id == first


def test_acknowledgment_is_recorded_once_with_its_timeliness(store, example):
    sid = record(store, example).submission_id
    assert store.acknowledge(sid, NOW + timedelta(hours=1))
    assert not store.acknowledge(sid, NOW + timedelta(days=5))
    stored = store.get_submission(sid)
    assert stored.acknowledged_at == NOW + timedelta(hours=1) and stored.ack_on_time is True


def test_late_acknowledgment_is_marked_late(store, example):
    sid = record(store, example).submission_id
    store.acknowledge(sid, NOW + timedelta(days=3))
    assert store.get_submission(sid).ack_on_time is False


def test_notifications_are_unique_per_key(store, example):
    sid = record(store, example).submission_id
    kwargs = dict(submission_id=sid, kind="acknowledgment", recipient="a@b.c", subject="s", body="b", channel="outbox")
    first = store.enqueue_notification("ack:x", **kwargs)
    second = store.enqueue_notification("ack:x", **kwargs)
    assert first.id == second.id and len(store.notifications(sid)) == 1
    store.mark_sent("ack:x")
    assert store.get_notification("ack:x").status == "sent"


def test_dispatch_outbox_retries_then_completes(store, example):
    record(store, example)
    (item,) = store.pending_dispatches()
    store.dispatch_failed(item.id, "ConnectError: API down")
    (again,) = store.pending_dispatches()
    assert again.attempts == 1
    store.dispatch_done(again.id, "00000000-0000-0000-0000-000000000001")
    assert store.pending_dispatches() == []


def test_claim_is_won_once(store, example):
    record(store, example)
    (item,) = store.pending_dispatches()
    assert store.claim_dispatch(item.id) and not store.claim_dispatch(item.id)


def test_results_are_replaced_on_a_retried_run(store, example):
    sid = record(store, example).submission_id
    run = store.start_review_run(sid, "11111111-1111-1111-1111-111111111111")
    assert store.start_review_run(sid, "11111111-1111-1111-1111-111111111111") == run
    result = Result(
        check="CAT-001",
        stage="catalog",
        severity="blocker",
        outcome="fail",
        message="m",
        evidence={"field": "app.name"},
    )
    store.save_results(run, [result], "fail")
    store.save_results(run, [result], "fail")
    review, results = store.latest_review(sid)
    assert review.verdict == "fail" and review.status == "completed" and results == [result]


def test_unknown_submission_is_not_found(store):
    with pytest.raises(NotFound):
        store.get_submission("nope")


def _upgrade(url):
    from partner_review.models.store import upgrade

    upgrade(url)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_concurrent_first_starts_migrate_once(engine, tmp_path, request):
    """Every process that opens the store migrates it; six starting at once on a fresh database must all succeed."""
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'race.db'}" if engine == "sqlite" else request.getfixturevalue("pg_url")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_upgrade, args=(url,)) for _ in range(6)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
    assert [p.exitcode for p in processes] == [0] * 6


@pytest.mark.parametrize("case", ["version 2^63", "NUL in the name"])
def test_a_value_the_database_refuses_is_bad_value_not_a_store_failure(store, example, case):
    """Beneath the schema's bounds: a DataError (or SQLite's OverflowError) is the sender's fault."""
    from partner_review.models.store import BadValue
    from partner_review.models.submission import App, Submission

    submission = parse_submission(example)
    if case == "version 2^63":
        submission = Submission.model_construct(**{**dict(submission), "version": 2**63})
    else:
        if store.engine.dialect.name == "sqlite":
            pytest.skip("SQLite stores NUL characters")
        app = App.model_construct(**{**dict(submission.app), "name": "Acme\x00"})
        submission = Submission.model_construct(**{**dict(submission), "app": app})
    now = datetime.now(UTC)
    with pytest.raises(BadValue):
        store.record_delivery("d-bad", b"{}", submission, received_at=now, ack_due_at=now)
    assert not store.dispatches()


def test_submissions_written_during_an_activity_batch_do_not_wait_for_the_whole_batch(store, example):
    """A 10,000-record batch is 40 transactions. On SQLite this process's writers share one lock,
    and the batch's thread used to win it back after every chunk (threading.Lock is not fair), so
    submissions sent meanwhile waited for the batch's end. Now each is committed with the next chunk."""
    import threading
    import time

    from partner_review.models.activity import Activity

    record(store, example, delivery="seed")
    records = [
        Activity(
            app="acme-analytics", workspace_id=f"ws-{i % 500}", day=f"2026-10-{1 + i // 500:02d}", events_delivered=i
        )
        for i in range(10_000)
    ]
    counts: list[dict[str, int]] = []
    batch = threading.Thread(target=lambda: counts.append(store.record_activity(records)))
    answered_while_batch_ran: list[bool] = []

    def submit(i: int) -> None:
        record(store, {**example, "app": {**example["app"], "slug": f"during-{i}"}}, delivery=f"during-{i}")
        answered_while_batch_ran.append(batch.is_alive())

    batch.start()
    writers = []
    for i in range(20):
        time.sleep(0.002)
        writers.append(threading.Thread(target=submit, args=(i,)))
        writers[-1].start()
    for thread in [batch, *writers]:
        thread.join(60)
    assert len(answered_while_batch_ran) == 20 and counts == [{"inserted": 10_000, "updated": 0, "unchanged": 0}]
    assert sum(answered_while_batch_ran) >= 18, answered_while_batch_ran  # all but the last stragglers
