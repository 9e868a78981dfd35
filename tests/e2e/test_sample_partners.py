"""The sample partners, driven over real HTTP on loopback (each behaviour as the contract names it)."""

from __future__ import annotations

import base64

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_review import partners
from partner_review.models.events import EventFactory

AUTH = {"Authorization": "Bearer acme-api-key-for-review"}
HTTP = httpx.Client(timeout=10)  # one client: building one per request costs more than the request


@pytest.fixture(scope="module", autouse=True)
def _close_client():
    yield
    HTTP.close()


@pytest.fixture
def factory():
    return EventFactory(seed=11, user_id="user-under-test")


def post(base: str, event, headers=AUTH, path="/v1/events") -> httpx.Response:
    return HTTP.post(base + path, json=event, headers=headers)


def read_back(base: str, headers=AUTH, **params) -> httpx.Response:
    return HTTP.get(base + "/v1/received", params=params, headers=headers)


def test_contract_behaviours_are_offered():
    assert set(partners.BEHAVIOURS) == {
        "conformant",
        "slow",
        "flaky",
        "lenient",
        "no-auth",
        "rate-limited",
        "drops-fields",
        "wrong-content-type",
        "rejects-old-events",
        "reorders",
        "fails-batches",
    }
    with pytest.raises(ValueError, match="unknown behaviour"):
        partners.app("sluggish")
    with pytest.raises(ValueError, match="unsupported call types"):
        partners.app("conformant", unsupported=["purchase"])


def test_conformant_accepts_valid_events_and_reads_them_back(factory):
    with partners.running("conformant") as base:
        for event in factory.one_of_each():
            assert post(base, event).status_code == 200, event
        sent = factory.order_completed()
        answer = post(base, sent)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        stored = read_back(base, messageId=sent["messageId"]).json()["events"]
        assert stored == [sent]
        assert len(read_back(base, userId="user-under-test").json()["events"]) == 11


def test_conformant_refuses_bad_credentials_invalid_and_oversized_events(factory):
    with partners.running("conformant") as base:
        assert post(base, factory.track(), headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert post(base, factory.track(), headers={}).status_code == 401
        invalid = post(base, {"type": "track", "userId": "u"})
        assert invalid.status_code == 400
        assert invalid.json()["violations"][0]["rule"] == "SPEC-005"
        assert post(base, factory.track(properties={"blob": "x" * 40_000})).status_code == 413
        not_json = HTTP.post(base + "/v1/events", content=b"{nope", headers=AUTH)
        assert not_json.status_code == 400
        assert read_back(base, headers={}, userId="u").status_code == 401
        assert HTTP.get(base + "/v1/events").status_code == 405
        assert HTTP.get(base + "/elsewhere").status_code == 404


def test_conformant_answers_501_for_unsupported_calls(factory):
    with partners.running("conformant", unsupported=["screen", "alias"]) as base:
        assert post(base, factory.screen()).status_code == 501
        assert post(base, factory.alias()).status_code == 501
        assert post(base, factory.page()).status_code == 200
        batch = post(base, {"batch": [factory.screen(), factory.page()]}, path="/v1/batch")
        assert batch.status_code == 202
        assert batch.json()["accepted"] == 1 and len(batch.json()["unsupported"]) == 1


def test_conformant_batch_endpoint_and_limits(factory):
    with partners.running("conformant") as base:
        body = factory.batch(30)
        assert post(base, body, path="/v1/batch").status_code == 202
        assert read_back(base, messageId=body["batch"][7]["messageId"]).json()["events"] == [body["batch"][7]]
        broken = post(base, {"batch": [factory.track(), {"type": "track"}]}, path="/v1/batch")
        assert broken.status_code == 400 and broken.json()["violations"][0]["index"] == 1
        assert post(base, {"events": []}, path="/v1/batch").status_code == 400
        huge = {"batch": [factory.track(properties={"blob": "x" * 30_000}) for _ in range(20)]}
        assert post(base, huge, path="/v1/batch").status_code == 413


def test_conformant_honours_delete_for_a_user(factory):
    with partners.running("conformant") as base:
        for event in factory.events(5):
            post(base, event)
        other = EventFactory(seed=1, user_id="someone-else").track()
        post(base, other)
        deleted = post(base, {"type": "delete", "userId": "user-under-test", "messageId": "d-1"})
        assert deleted.status_code == 200 and deleted.json()["deleted"] == 5
        assert read_back(base, userId="user-under-test").json()["events"] == []
        assert read_back(base, messageId=other["messageId"]).json()["events"] == [other]
        assert post(base, {"type": "delete"}).status_code == 400


@pytest.mark.parametrize(
    "scheme, secret, header, headers",
    [
        ("basic", "key-1", None, {"Authorization": "Basic " + base64.b64encode(b"key-1:").decode()}),
        ("basic", "user:pass", None, {"Authorization": "Basic " + base64.b64encode(b"user:pass").decode()}),
        ("header", "key-2", "X-Api-Key", {"X-Api-Key": "key-2"}),
    ],
)
def test_other_credential_schemes(factory, scheme, secret, header, headers):
    with partners.running("conformant", scheme=scheme, secret=secret, header=header) as base:
        assert post(base, factory.track(), headers=headers).status_code == 200
        assert post(base, factory.track(), headers=AUTH).status_code == 401


def test_lenient_answers_200_to_anything(factory):
    with partners.running("lenient") as base:
        assert post(base, {"type": "nonsense"}, headers={}).status_code == 200
        assert post(base, factory.track(properties={"blob": "x" * 40_000}), headers={}).status_code == 200
        assert HTTP.post(base + "/v1/events", content=b"{nope").status_code == 200


def test_no_auth_accepts_any_credential_but_still_validates(factory):
    with partners.running("no-auth") as base:
        assert post(base, factory.track(), headers={}).status_code == 200
        assert post(base, {"type": "track"}, headers={}).status_code == 400


def test_slow_answers_only_after_its_delay(factory):
    with partners.running("slow", delay=3.0) as base:
        with pytest.raises(httpx.TimeoutException):
            httpx.post(base + "/v1/events", json=factory.track(), headers=AUTH, timeout=0.3)
        assert read_back(base, userId="user-under-test").status_code == 200  # read-back is not delayed


def test_slow_default_delay_is_over_the_five_second_rule():
    assert partners.BEHAVIOURS["slow"].delay > 5


def test_flaky_fails_every_nth_request_with_500_then_503(factory):
    with partners.running("flaky", fail_every=2) as base:
        codes = [post(base, factory.track()).status_code for _ in range(6)]
    assert codes == [200, 500, 200, 503, 200, 500]


def test_rate_limited_answers_429_with_retry_after_above_its_rate(factory):
    with partners.running("rate-limited", rate=0.001, burst=2) as base:
        codes = [post(base, factory.track()) for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert int(codes[2].headers["retry-after"]) >= 1


def test_drops_fields_loses_nested_properties_and_traits(factory):
    with partners.running("drops-fields") as base:
        order, person = factory.order_completed(), factory.identify()
        assert post(base, order).status_code == 200 and post(base, person).status_code == 200
        [stored_order] = read_back(base, messageId=order["messageId"]).json()["events"]
        [stored_person] = read_back(base, messageId=person["messageId"]).json()["events"]
    assert "products" in order["properties"] and "products" not in stored_order["properties"]
    assert stored_order["properties"]["order_id"] == order["properties"]["order_id"]
    assert "address" not in stored_person["traits"]


def test_wrong_content_type_answers_html(factory):
    with partners.running("wrong-content-type") as base:
        answer = post(base, factory.track())
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text.startswith("<!doctype html>")


def test_running_stops_the_server_on_exit():
    with partners.running("conformant") as base:
        assert HTTP.get(base + "/healthz").json() == {"ok": True, "behaviour": "conformant"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/healthz", timeout=2)


def test_app_is_a_plain_asgi_callable_for_any_server():
    application = partners.app("conformant", unsupported=["group"])
    assert callable(application)
    assert application.unsupported == {"group"}
    assert "acme-api-key-for-review" not in repr(application.credentials)


def test_serve_blocks_and_serves_until_stopped():
    import socket
    import subprocess
    import sys
    import time

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    code = f"from partner_review import partners; partners.serve('no-auth', '127.0.0.1', {port})"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = HTTP.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "the sample partner did not start"
                time.sleep(0.1)
        assert answer.json() == {"ok": True, "behaviour": "no-auth"}
    finally:
        process.terminate()
        process.wait(10)


def _dated(factory, hours_ago: float) -> dict:
    from datetime import UTC, datetime, timedelta

    stamp = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(timespec="milliseconds")
    return {**factory.track(), "timestamp": stamp.replace("+00:00", "Z")}


def test_rejects_old_events_refuses_an_event_over_24_hours_old(factory):
    with partners.running("rejects-old-events") as base:
        assert post(base, _dated(factory, 0)).status_code == 200
        assert post(base, _dated(factory, 23.5)).status_code == 200
        old = post(base, _dated(factory, 24.1))
        assert old.status_code == 400 and old.json()["violations"][0]["rule"] == "too-old"
        mixed = post(base, {"batch": [_dated(factory, 1), _dated(factory, 24 * 30)]}, path="/v1/batch")
        assert mixed.status_code == 400 and mixed.json()["violations"] == [
            {"index": 1, "rule": "too-old", "path": "timestamp", "message": "events older than 24 hours are refused"}
        ]
        assert post(base, {"batch": [_dated(factory, 2)]}, path="/v1/batch").status_code == 202
        assert len(read_back(base, userId="user-under-test").json()["events"]) == 3
    with partners.running("conformant") as base:
        assert post(base, _dated(factory, 24 * 365)).status_code == 200


@pytest.mark.parametrize("behaviour, order", [("conformant", "timestamp"), ("reorders", "arrival")])
def test_read_back_by_user_follows_timestamp_unless_the_partner_reorders(factory, behaviour, order):
    sent = [_dated(factory, hours) for hours in (5, 50, 1, 20)]
    with partners.running(behaviour) as base:
        for event in sent:
            assert post(base, event).status_code == 200
        stored = [e["messageId"] for e in read_back(base, userId="user-under-test").json()["events"]]
    by_time = [e["messageId"] for e in sorted(sent, key=lambda e: e["timestamp"])]
    assert stored == (by_time if order == "timestamp" else [e["messageId"] for e in sent])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40), st.integers(), st.datetimes().map(str)), max_size=8))
def test_read_back_order_survives_any_timestamp(stamps):
    from partner_review.partners.received import Received

    received = Received()
    for i, stamp in enumerate(stamps):
        received.add({"messageId": str(i), "userId": "u", "timestamp": stamp})
    assert sorted(e["messageId"] for e in received.by_user_id("u")) == sorted(str(i) for i in range(len(stamps)))
