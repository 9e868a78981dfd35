"""Stage `replay` against the sample partners and a site without read-back, on loopback."""

from __future__ import annotations

import json

import pytest

from partner_review import partners
from partner_review.models.checks import verdict
from partner_review.models.settings import get_settings
from partner_review.tasks.e2e import replay
from partner_review.tasks.e2e import suite as e2e
from tests.e2e.sites import Site, page, status
from tests.e2e.test_e2e_suite import SECRET, submission


@pytest.fixture(autouse=True)
def _short_deadline(monkeypatch):
    monkeypatch.setenv("PARTNER_REVIEW_E2E_TIMEOUT_SECONDS", "3")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


async def run(example, behaviour: str, *, partner: dict | None = None, **shape):
    with partners.running(behaviour, **(partner or {})) as base:
        results = await replay.check_replay(submission(example, base, **shape))
    return {r.check: r for r in results}, results


def answer(by_id) -> str:
    return by_id["RPL-007"].evidence["replay_compatible"]


async def test_conformant_partner_is_replay_compatible(example):
    by_id, results = await run(example, "conformant")
    assert set(by_id) == {c.id for c in replay.CHECKS}
    assert {r.outcome for r in results} == {"pass"}, [r.message for r in results if r.outcome != "pass"]
    assert answer(by_id) == "yes"
    assert "stored" in by_id["RPL-003"].message and by_id["RPL-003"].evidence["timestamp"] < "2026"
    assert "follows timestamp" in by_id["RPL-006"].message
    assert "stored once" in by_id["RPL-005"].message
    assert replay.replay_sentence(results).startswith("Replay compatible: yes (")
    assert SECRET not in json.dumps([r.model_dump() for r in results])


async def test_a_partner_refusing_old_events_is_not_replay_compatible(example):
    by_id, results = await run(example, "rejects-old-events")
    for check in ("RPL-001", "RPL-002", "RPL-003", "RPL-004"):
        assert by_id[check].outcome == "warn", by_id[check].message
        assert by_id[check].evidence["status"] == 400
    assert "answered 400" in by_id["RPL-003"].message and "too old" in by_id["RPL-003"].message
    assert by_id["RPL-005"].outcome == "skip" and by_id["RPL-006"].outcome == "skip"
    assert answer(by_id) == "no"
    sentence = replay.replay_sentence(results)
    assert sentence.startswith("Replay compatible: no (") and "events 1 year old are not accepted" in sentence
    assert verdict(results) == "pass"  # information, never a blocker


async def test_a_partner_refusing_old_events_still_passes_e2e(example):
    """The e2e suite sends events dated now, so refusing history is not an e2e failure."""
    with partners.running("rejects-old-events") as base:
        results, accepted = await e2e.run_e2e_suite(submission(example, base))
    assert [r.check for r in results if r.outcome in ("fail", "error")] == []
    assert accepted


async def test_a_reordering_partner_is_partly_replay_compatible(example):
    by_id, results = await run(example, "reorders")
    assert by_id["RPL-006"].outcome == "warn" and "follows arrival" in by_id["RPL-006"].message
    evidence = by_id["RPL-006"].evidence
    assert evidence["stored"] == evidence["arrival"] != evidence["by_timestamp"]
    assert all(by_id[c].outcome == "pass" for c in ("RPL-001", "RPL-002", "RPL-003", "RPL-004", "RPL-005"))
    assert answer(by_id) == "partly"
    assert "the stored order follows arrival" in replay.replay_sentence(results)


async def test_without_batch_endpoint_the_events_go_one_by_one(example):
    by_id, _ = await run(example, "reorders", batch=False)
    assert "one by one" in by_id["RPL-004"].message and by_id["RPL-004"].outcome == "pass"
    assert by_id["RPL-006"].outcome == "warn"


async def test_rate_limited_partner_is_waited_out_not_called_incompatible(example):
    by_id, results = await run(example, "rate-limited", partner={"rate": 20.0, "burst": 2, "retry_after": 1})
    assert answer(by_id) == "yes", [r.message for r in results]


async def test_without_read_back_storage_and_order_are_not_claimed(example):
    async with Site() as site:
        site.route("/v1/events", page('{"ok": true}', content_type="application/json"))
        results = await replay.check_replay(submission(example, endpoint=site.url("/v1/events")))
    by_id = {r.check: r for r in results}
    assert by_id["RPL-006"].outcome == "skip" and "no read-back endpoint" in by_id["RPL-006"].message
    assert "not verified" in by_id["RPL-001"].message and "not verified" in by_id["RPL-005"].message
    assert answer(by_id) == "yes" and "not observed" in by_id["RPL-007"].message


async def test_a_control_event_refused_leaves_every_answer_open(example):
    async with Site() as site:
        site.route("/v1/events", status(500))
        results = await replay.check_replay(submission(example, endpoint=site.url("/v1/events")))
    assert {r.outcome for r in results} == {"error"}
    assert "cannot be put down to age" in results[0].message
    assert replay.replay_sentence(results) is None


async def test_offline_and_nothing_accepted_skip_with_a_reason(example):
    sub = submission(example, "http://127.0.0.1:9")
    offline = await replay.check_replay(sub, offline=True)
    assert {r.outcome for r in offline} == {"skip"} and all("offline" in r.message for r in offline)
    nothing = await replay.check_replay(sub, accepted_calls=set())
    assert {r.outcome for r in nothing} == {"skip"} and "accepted no call type" in nothing[0].message


def test_answer_over_several_destinations_is_partly_when_they_differ():
    yes = replay.COMPATIBLE.passed("a: replay compatible: yes", component="a", replay_compatible="yes", why=["ok"])
    no = replay.COMPATIBLE.failed("b: replay compatible: no", component="b", replay_compatible="no", why=["old"])
    assert replay.replay_answer([yes, no]) == ("partly", "a: ok | b: old")
    assert replay.replay_answer([no]) == ("no", "old")


async def test_partner_messages_ask_the_replay_question_with_the_measured_answer(example):
    from datetime import UTC, datetime

    from partner_review.models.lifecycle import State
    from partner_review.models.store import StoredSubmission
    from partner_review.tasks.lifecycle import messages

    _, results = await run(example, "reorders")
    stored = StoredSubmission(
        id="s-1",
        slug="acme-analytics",
        version=1,
        state=State.in_review,
        submission=submission(example, "http://127.0.0.1:9"),
        previous_id=None,
        received_at=datetime.now(UTC),
        ack_due_at=datetime.now(UTC),
        acknowledged_at=None,
        ack_on_time=None,
    )
    for _, body in (messages.approval(stored, "ok", results), messages.changes_requested(stored, results, "fix")):
        assert messages.REPLAY_QUESTION in body
        assert "What the review measured: Replay compatible: partly (the stored order follows arrival" in body
    _, plain = messages.approval(stored, "ok")
    assert messages.REPLAY_QUESTION not in plain  # not measured: no answer invented


async def test_run_checks_runs_replay_after_e2e_and_compat_with_the_released_version(example, monkeypatch):
    from partner_review.tasks.pipeline import run_checks

    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_DURATION_SECONDS", "1")
    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_RATE", "20")
    get_settings.cache_clear()
    with partners.running("rejects-old-events") as base:
        new = submission({**example, "version": 2}, base)
        released = submission(example, base, supported_calls=["track", "identify", "page"])
        results = await run_checks(new, released=released)
    stages = [r.stage for r in results]
    assert stages.index("e2e") < stages.index("replay")
    by_id = {r.check: r for r in results}
    assert by_id["RPL-007"].evidence["replay_compatible"] == "no"
    # e2e and the load send events dated now: refusing history fails neither
    assert [r.check for r in results if r.stage in ("e2e", "volume") and r.outcome in ("fail", "error")] == []
    assert by_id["UPD-002"].outcome == "pass" and "newly supported" in by_id["UPD-002"].message
    assert replay.replay_sentence(results).startswith("Replay compatible: no")


@pytest.mark.parametrize(
    "read_back",
    [
        '{"events": [{"messageId": ["x"]}, "junk", {"messageId": {"a": 1}}, {"messageId": null}, 7]}',
        '{"events": [' + ",".join(['{"messageId": "m", "userId": "u"}'] * 2000) + "]}",
        '{"events": {"not": "a list"}}',
    ],
)
async def test_a_hostile_read_back_is_graded_not_crashed_on(example, read_back):
    async with Site() as site:
        site.route("/v1/events", page('{"ok": true}', content_type="application/json"))
        site.route("/v1/received", page(read_back, content_type="application/json"))
        results = await replay.check_replay(submission(example, endpoint=site.url("/v1/events")))
    by_id = {r.check: r for r in results}
    assert set(by_id) == {c.id for c in replay.CHECKS}
    if '"not"' in read_back:  # not a read-back at all
        assert by_id["RPL-006"].outcome == "skip"
    else:
        assert by_id["RPL-006"].outcome == "warn" and "0 of 5" in by_id["RPL-006"].message
        assert by_id["RPL-001"].outcome == "warn" and "not in the read-back" in by_id["RPL-001"].message
    assert verdict(results) == "pass"
