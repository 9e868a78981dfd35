"""The e2e and replay checks as objects: each judges a hand-built subject, nothing sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from partner_review.models.submission import parse_submission
from partner_review.tasks.e2e import checks, replay
from partner_review.tasks.e2e.exchange import Exchange, Redactor
from partner_review.tasks.runner import Scope, run_objects

SECRET = "acme-api-key-for-review"
SCOPE = Scope(components=frozenset({"app", "destination"}))


def answer(status: int | None, body: object = b"", *, sent: object = None, error: str | None = None) -> Exchange:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": "Bearer [redacted]"}
    return Exchange(
        "POST", "https://api.acme.example/v1/events", headers, sent=sent, status=status,
        content_type="application/json" if data else "", body=data, latency_ms=12.0, error=error,
    )  # fmt: skip


def destination(example: dict, **edit):
    data = json.loads(json.dumps(example))
    data["components"][0].update(edit)
    return parse_submission(data).destinations[0]


def trial(example: dict, **changes) -> checks.Trial:
    ok = answer(200)
    fields: dict = {
        "destination": destination(example),
        "redact": Redactor(SECRET),
        "limit": 65536,
        "user_id": "partner-review-0000002a",
        "calls": {call: ok for call in ("identify", "track", "page", "screen", "group", "alias")},
        "semantic": {"Order Completed": ok},
        "probe_call": "track",
        "bad_credential": answer(401),
        "invalid": answer(400),
        "oversized": answer(413),
        "repeated": ok,
        "batch": None,
        "batch_events": 0,
        "delete": ok,
    }
    return checks.Trial(**{**fields, **changes})


def test_a_call_answered_501_is_yellow_unless_declared(example):
    undeclared = trial(
        example,
        destination=destination(example, supported_calls=["track"]),
        calls={"screen": answer(501)},
    )
    screen = checks.CALL_CHECKS["screen"].run(undeclared)
    assert screen.outcome == "pass" and screen.evidence["grade"] == "yellow"
    assert screen.message.startswith("screen: yellow, answered 501")
    declared = trial(
        example, destination=destination(example, supported_calls=["screen"]), calls={"screen": answer(501)}
    )
    red = checks.CALL_CHECKS["screen"].run(declared)
    assert red.outcome == "fail" and "the component lists in supported_calls" in red.message


def test_a_wrong_credential_accepted_fails_and_the_secret_stays_out(example):
    accepted = checks.BAD_CREDENTIAL.run(trial(example, bad_credential=answer(200, {"echo": SECRET})))
    assert accepted.outcome == "fail" and "anyone who knows the endpoint" in accepted.message
    assert SECRET not in json.dumps(accepted.evidence)
    refused = checks.BAD_CREDENTIAL.run(trial(example, bad_credential=answer(403)))
    assert refused.outcome == "pass" and refused.message == "a wrong credential was refused with 403"


def test_no_batch_endpoint_is_not_applicable_and_a_501_batch_fails(example):
    assert checks.BATCH.run(trial(example)).not_run == "not-applicable"
    declined = checks.BATCH.run(trial(example, batch=answer(501), batch_events=3))
    assert declined.outcome == "fail" and "a declared batch_endpoint must take batches" in declined.message
    assert declined.evidence["events_in_batch"] == 3


def test_read_back_names_the_fields_lost(example):
    event = {"type": "track", "event": "Signed Up", "messageId": "m1", "properties": {"plan": "pro", "seats": 3}}
    stored = answer(200, {"events": [{**event, "properties": {"plan": "pro"}}]})
    result = checks.READ_BACK.run(trial(example, delivered=(event,), read_backs=(stored,)))
    assert result.outcome == "fail"
    assert result.message == "1 of 1 events came back without fields they were sent with: Signed Up: properties.seats"
    none = checks.READ_BACK.run(trial(example, delivered=(event,), read_backs=(answer(404),)))
    assert none.outcome == "skip" and "no read-back endpoint at" in none.message and none.evidence["status"] == 404


def test_the_suite_results_come_in_check_order_with_the_label(example):
    calls = {call: answer(None, error="boom") for call in ("identify", "track", "page", "screen", "group", "alias")}
    results = run_objects(checks.CHECKS, trial(example, label="Acme: ", calls=calls), None, SCOPE)
    assert [r.check for r in results] == [c.id for c in checks.CHECKS]
    by_id = {r.check: r for r in results}
    assert by_id["E2E-002"].message == "Acme: track: red, boom"
    assert by_id["E2E-008"].outcome == "fail"  # no call type was accepted
    assert by_id["E2E-014"].outcome == "skip"  # nothing delivered, nothing to read back
    assert by_id["E2E-015"].message.endswith("erasure not verified (no read-back)")


# Replay --------------------------------------------------------------------------------------


def dated(age: str, days: int) -> dict:
    stamp = (datetime(2026, 12, 1, tzinfo=UTC) - timedelta(days=days)).isoformat()
    return {"type": "track", "event": "Replayed", "messageId": f"m-{age}", "timestamp": stamp}


def replayed(example: dict, **changes) -> replay.Replayed:
    events = {"1 day": dated("1 day", 1), "30 days": dated("30 days", 30), "1 year": dated("1 year", 365)}
    ooo = tuple(dated(f"o{d}", d) for d in replay.OUT_OF_ORDER_DAYS)
    fields: dict = {
        "destination": destination(example),
        "call": "track",
        "redact": Redactor(SECRET),
        "limit": 65536,
        "control": answer(200),
        "dated": events,
        "answers": {age: answer(200) for age in events},
        "out_of_order": ooo,
        "batched": True,
        "out_of_order_answers": (answer(200),),
        "resent": tuple((e, answer(200)) for e in events.values()),
        "read_back": answer(404),
    }
    return replay.Replayed(**{**fields, **changes})


def test_replay_without_read_back_is_yes_with_the_note(example):
    subject = replayed(example)
    results = run_objects(replay.in_sending_order(subject), subject, None, SCOPE)
    # RPL-004 is judged on its answer; the accepted ages wait for the read-back, as before
    assert [r.check for r in results] == ["RPL-004", "RPL-001", "RPL-002", "RPL-003", "RPL-005", "RPL-006", "RPL-007"]
    by_id = {r.check: r for r in results}
    assert by_id["RPL-001"].message == "an event 1 day old was accepted (200); storage not verified (no read-back)"
    assert by_id["RPL-006"].outcome == "skip"
    assert by_id["RPL-007"].outcome == "pass" and by_id["RPL-007"].evidence["replay_compatible"] == "yes"
    assert "no read-back at" in by_id["RPL-007"].message and "(answered 404)" in by_id["RPL-007"].message


def test_a_refused_age_comes_first_and_makes_the_answer_partly(example):
    old = replayed(example, answers={"1 day": answer(200), "30 days": answer(200), "1 year": answer(400, {"e": "old"})})
    old = replayed(example, answers=old.answers, resent=old.resent[:2])
    results = run_objects(replay.in_sending_order(old), old, None, SCOPE)
    assert [r.check for r in results][:4] == ["RPL-003", "RPL-004", "RPL-001", "RPL-002"]
    answer_ = results[-1]
    assert answer_.outcome == "warn" and answer_.evidence["replay_compatible"] == "partly"
    assert answer_.evidence["why"][0].startswith("events 1 year old are not accepted (answered 400")


def test_stored_order_following_arrival_is_a_finding(example):
    subject = replayed(example)
    stored = [{"messageId": e["messageId"]} for e in subject.out_of_order]  # as they arrived
    stored += [{"messageId": e["messageId"]} for e in subject.dated.values()]
    subject = replayed(example, read_back=answer(200, {"events": stored}))
    result = replay.STORED_ORDER.run(subject)
    assert result.outcome == "warn" and result.message.startswith("the stored order follows arrival")
    assert (
        replay.RESENT.run(subject).message == "3 events sent again with their messageId were accepted and stored once"
    )


def test_a_refused_current_event_errors_every_replay_check(example):
    subject = replayed(example, control=answer(500, {"error": "down"}))
    results = run_objects(replay.in_sending_order(subject), subject, None, SCOPE)
    assert [r.outcome for r in results] == ["error"] * len(replay.CHECKS)
    assert "so refusals cannot be put down to age" in results[0].message
