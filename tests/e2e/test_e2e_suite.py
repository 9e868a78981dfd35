"""Stage `e2e` against every sample-partner behaviour and against broken endpoints, on loopback."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import struct

import pytest

from partner_review import partners
from partner_review.models.checks import verdict
from partner_review.models.settings import get_settings
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import parse_submission
from partner_review.tasks.e2e import suite as e2e
from tests.e2e.sites import Reply, Site, page, redirect

SECRET = "acme-api-key-for-review"
CALL_IDS = {
    "identify": "E2E-001",
    "track": "E2E-002",
    "page": "E2E-003",
    "screen": "E2E-004",
    "group": "E2E-005",
    "alias": "E2E-006",
}


@pytest.fixture
def timeout(monkeypatch):
    """A short answer deadline so the slow partner's test stays bounded (the rule is 5 s)."""

    def set_timeout(seconds: float, concurrency: int = 4) -> None:
        monkeypatch.setenv("PARTNER_REVIEW_E2E_TIMEOUT_SECONDS", str(seconds))
        monkeypatch.setenv("PARTNER_REVIEW_E2E_CONCURRENCY", str(concurrency))
        get_settings.cache_clear()

    set_timeout(3.0)
    yield set_timeout
    monkeypatch.undo()
    get_settings.cache_clear()


def submission(
    example: dict, base: str | None = None, *, endpoint: str | None = None, batch: bool = True, **auth_or_calls
):
    data = copy.deepcopy(example)
    destination = data["components"][0]
    destination["endpoint"] = endpoint or f"{base}/v1/events"
    if batch and base:
        destination["batch_endpoint"] = f"{base}/v1/batch"
    else:
        destination.pop("batch_endpoint", None)
    if "supported_calls" in auth_or_calls:
        destination["supported_calls"] = auth_or_calls.pop("supported_calls")
    if auth_or_calls:
        destination["auth"] = auth_or_calls
    return parse_submission(data)


async def run(example, behaviour: str, *, partner: dict | None = None, **shape):
    with partners.running(behaviour, **(partner or {})) as base:
        results, accepted = await e2e.run_e2e_suite(submission(example, base, **shape))
    return {r.check: r for r in results}, accepted, results


def no_secret_in(results) -> bool:
    return SECRET not in json.dumps([r.model_dump() for r in results])


def failing(by_id) -> set[str]:
    return {check for check, r in by_id.items() if r.outcome in ("fail", "error")}


# Behaviours ----------------------------------------------------------------------------------


async def test_conformant_partner_passes_everything(example, timeout):
    by_id, accepted, results = await run(example, "conformant")
    assert failing(by_id) == set()
    assert set(by_id) == {c.id for c in e2e.CHECKS}
    assert accepted == set(CALL_TYPES)
    assert verdict(results) == "pass"
    assert no_secret_in(results)
    identify = by_id["E2E-001"].evidence
    assert identify["grade"] == "green" and identify["status"] == 200
    assert identify["request"]["headers"]["Authorization"] == "Bearer [redacted]"
    assert identify["request"]["method"] == "POST" and '"type": "identify"' in identify["request"]["body"]
    assert "latency_ms" in identify
    assert by_id["E2E-014"].outcome == "pass" and by_id["E2E-014"].evidence["read_back_url"].endswith("/v1/received")
    assert "events are gone" in by_id["E2E-015"].message


async def test_unsupported_call_is_yellow_unless_declared_supported(example, timeout):
    declared = ["identify", "track", "page", "group", "alias"]
    by_id, accepted, _ = await run(example, "conformant", partner={"unsupported": ["screen"]}, supported_calls=declared)
    assert by_id["E2E-004"].outcome == "pass" and by_id["E2E-004"].evidence["grade"] == "yellow"
    assert accepted == set(declared)
    by_id, accepted, _ = await run(example, "conformant", partner={"unsupported": ["screen"]})
    assert by_id["E2E-004"].outcome == "fail"
    assert "the component lists in supported_calls" in by_id["E2E-004"].message
    assert "screen" not in accepted


async def test_slow_partner_is_red_for_every_call(example, timeout):
    timeout(0.5, concurrency=16)
    by_id, accepted, results = await run(example, "slow", partner={"delay": 3.0})
    assert accepted == set()
    for call, check in CALL_IDS.items():
        assert by_id[check].outcome == "fail"
        assert "no complete answer within 0.5 s" in by_id[check].message
        assert by_id[check].evidence["status"] is None
    assert {"E2E-007", "E2E-008", "E2E-015"} <= failing(by_id)
    assert verdict(results) == "fail"


async def test_flaky_partner_fails_with_its_server_errors(example, timeout):
    by_id, accepted, results = await run(example, "flaky", partner={"fail_every": 2})
    reds = [r for r in results if r.outcome == "fail"]
    semantic = by_id["E2E-007"].evidence["events"]
    statuses = {r.evidence.get("status") for r in reds} | {e["status"] for e in semantic if e["grade"] == "red"}
    assert statuses & {500, 503}
    assert len(accepted) < len(CALL_TYPES)
    assert verdict(results) == "fail"


async def test_lenient_partner_fails_the_negative_probes(example, timeout):
    by_id, accepted, results = await run(example, "lenient")
    assert failing(by_id) == {"E2E-009", "E2E-010", "E2E-011"}
    assert "wrong credential was accepted" in by_id["E2E-009"].message
    assert "instead of refused with 400" in by_id["E2E-010"].message
    assert "accepted silently" in by_id["E2E-011"].message
    assert accepted == set(CALL_TYPES)


async def test_no_auth_partner_fails_only_the_credential_probe(example, timeout):
    by_id, _, results = await run(example, "no-auth")
    assert failing(by_id) == {"E2E-009"}
    assert no_secret_in(results)


async def test_rate_limited_partner_fails_with_429_evidence(example, timeout):
    by_id, accepted, results = await run(example, "rate-limited", partner={"rate": 0.001, "burst": 1})
    throttled = [r for r in results if r.outcome == "fail" and r.evidence.get("status") == 429]
    assert throttled and all(r.evidence["retry_after"] for r in throttled)
    assert any("rate limited" in r.message for r in throttled)
    assert len(accepted) <= 1
    assert verdict(results) == "fail"


async def test_drops_fields_partner_fails_the_read_back(example, timeout):
    by_id, accepted, _ = await run(example, "drops-fields")
    assert failing(by_id) == {"E2E-014"}
    lost = {path for event in by_id["E2E-014"].evidence["events"] for path in event["lost"]}
    assert "properties.products" in lost and "traits.address" in lost
    assert accepted == set(CALL_TYPES)


async def test_wrong_content_type_partner_is_red(example, timeout):
    by_id, accepted, _ = await run(example, "wrong-content-type")
    assert accepted == set()
    for check in CALL_IDS.values():
        assert by_id[check].outcome == "fail" and "HTML page" in by_id[check].message
    assert "E2E-008" in failing(by_id)


@pytest.mark.parametrize(
    "auth, partner",
    [
        ({"scheme": "basic", "secret": SECRET}, {"scheme": "basic"}),
        ({"scheme": "header", "header": "X-Api-Key", "secret": SECRET}, {"scheme": "header", "header": "X-Api-Key"}),
    ],
)
async def test_other_auth_schemes_pass_and_stay_redacted(example, timeout, auth, partner):
    by_id, _, results = await run(example, "conformant", partner=partner, **auth)
    assert failing(by_id) == set()
    assert no_secret_in(results)
    headers = by_id["E2E-002"].evidence["request"]["headers"]
    assert "[redacted]" in json.dumps(headers)


async def test_without_batch_endpoint_the_batch_check_is_skipped(example, timeout):
    by_id, _, _ = await run(example, "conformant", batch=False)
    assert by_id["E2E-013"].outcome == "skip" and "batch_endpoint" in by_id["E2E-013"].message


async def test_a_batch_endpoint_answering_501_fails_without_calling_it_accepted_non_support(example, timeout):
    async with Site() as site:
        site.route("/v1/events", page('{"ok": true}', content_type="application/json"))
        site.route("/v1/batch", page('{"error": "not implemented"}', status_code=501, content_type="application/json"))
        results, _ = await e2e.run_e2e_suite(submission(example, site.url("")))
    batch = {r.check: r for r in results}["E2E-013"]
    assert batch.outcome == "fail" and batch.evidence["status"] == 501
    assert "accepted non-support" not in batch.message and "batch_endpoint must take batches" in batch.message


async def test_without_read_back_endpoint_the_comparison_is_skipped(example, timeout):
    async with Site() as site:
        site.route("/v1/events", page('{"ok": true}', content_type="application/json"))
        results, accepted = await e2e.run_e2e_suite(submission(example, endpoint=site.url("/v1/events")))
    by_id = {r.check: r for r in results}
    assert accepted == set(CALL_TYPES)
    assert by_id["E2E-014"].outcome == "skip" and "no read-back endpoint" in by_id["E2E-014"].message
    assert by_id["E2E-015"].outcome == "pass" and "not verified" in by_id["E2E-015"].message
    assert by_id["E2E-009"].outcome == "fail"  # that endpoint takes anything


async def test_offline_skips_every_check_with_a_reason(example):
    results, accepted = await e2e.run_e2e_suite(parse_submission(example), offline=True)
    assert accepted == set()
    assert {r.check for r in results} == {c.id for c in e2e.CHECKS}
    assert all(r.outcome == "skip" and "offline" in r.message for r in results)


async def test_a_submission_without_destination_skips(example):
    data = copy.deepcopy(example)
    data["components"] = [c for c in data["components"] if c["type"] == "source"]
    results, accepted = await e2e.run_e2e_suite(parse_submission(data))
    assert accepted == set() and all(r.outcome == "skip" for r in results)


# Broken endpoints: red with evidence, never an exception --------------------------------------


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def reset() -> Reply:
    async def write(writer: asyncio.StreamWriter) -> None:
        raw = writer.get_extra_info("socket")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    return Reply(raw=write)


async def resets(request) -> Reply:
    return reset()


async def huge(request) -> Reply:
    return Reply(200, {"Content-Type": "application/json"}, b"[" + b"0," * (5 * 1024 * 1024) + b"0]")


async def broken_endpoint(example, responder=None, path="/v1/events"):
    if responder is None:
        results, _ = await e2e.run_e2e_suite(submission(example, endpoint=f"http://127.0.0.1:{closed_port()}{path}"))
        return {r.check: r for r in results}, results
    async with Site() as site:
        site.route(path, responder)
        results, _ = await e2e.run_e2e_suite(submission(example, endpoint=site.url(path)))
    return {r.check: r for r in results}, results


@pytest.mark.parametrize(
    "case, words",
    [
        ("unreachable", "could not connect"),
        ("reset", "connection"),
        ("html", "HTML page"),
        ("huge", "over 1,048,576 bytes"),
        ("redirect-loop", "Segment does not follow redirects"),
    ],
)
async def test_broken_endpoints_are_red_with_evidence(example, timeout, case, words):
    responder = {
        "unreachable": None,
        "reset": resets,
        "html": page("<html><body>Sign in</body></html>"),
        "huge": huge,
        "redirect-loop": redirect("/v1/events"),
    }[case]
    by_id, results = await broken_endpoint(example, responder)
    track = by_id["E2E-002"]
    assert track.outcome == "fail" and track.evidence["grade"] == "red"
    assert words in track.message
    assert track.evidence["request"]["url"].endswith("/v1/events")
    assert "latency_ms" in track.evidence
    assert by_id["E2E-008"].outcome == "fail"
    assert verdict(results) == "fail"
    assert no_secret_in(results)
    if case == "reset":
        assert track.evidence["attempts"] == 2  # a connection error is retried once, then red
    if case == "redirect-loop":
        assert track.evidence["status"] == 302 and track.evidence["location"] == "/v1/events"


async def test_an_endpoint_echoing_the_credential_is_redacted(example, timeout):
    async def echo(request) -> Reply:
        return Reply(500, {"Content-Type": "text/plain"}, json.dumps(request.headers).encode())

    by_id, results = await broken_endpoint(example, echo)
    assert "[redacted]" in by_id["E2E-002"].evidence["body"]
    assert no_secret_in(results)


def test_read_back_url_sits_beside_the_endpoint():
    assert (
        e2e.read_back_url("https://api.acme.example/segment/v1/events")
        == "https://api.acme.example/segment/v1/received"
    )
    assert e2e.read_back_url("http://127.0.0.1:9/v1/events") == "http://127.0.0.1:9/v1/received"


def test_lost_fields_names_missing_and_changed_paths():
    sent = {"a": 1, "b": {"c": [1, {"d": 2}], "e": "x"}, "f": 1.0}
    assert e2e.lost_fields(sent, {**sent, "extra": True}) == []
    assert e2e.lost_fields(sent, {"a": 1, "b": {"c": [1, {"d": 3}]}, "f": 1}) == ["b.c.1.d", "b.e"]
    assert e2e.lost_fields(sent, {"a": 2, "b": {"c": [1], "e": "x"}, "f": 1}) == ["a", "b.c"]
