"""The e2e and replay checks as objects: each judges a hand-built subject, nothing sent."""

from __future__ import annotations

import json

from partner_review.models.submission import parse_submission
from partner_review.tasks.e2e import checks
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
