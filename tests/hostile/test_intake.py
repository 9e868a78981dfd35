"""Issue 13, bad input: every case answers what contract section 2 names, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest

from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, compute
from tests.hostile.signed import activity, later, raw, signed

ENDPOINTS = ["/webhooks/submissions", "/webhooks/activity"]


def rows(store) -> int:
    return sum(1 for _ in store.rows())


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("digits,encoding", [("¹²³¹²³¹²³¹", "latin-1"), ("١٧٠٠٠٠٠٠٠٠", "utf-8"), ("１７００", "utf-8")])
def test_non_ascii_digits_in_the_timestamp_are_a_malformed_signature(engine_store, monkeypatch, path, digits, encoding):
    """Raw bytes on the wire (test clients re-encode headers): uvicorn hands them to the app decoded
    as Latin-1, where '¹²³' pass str.isdigit() and int() refuses them."""
    import socket

    from partner_review.models.settings import get_settings
    from partner_review.webhooks.server import running

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    get_settings.cache_clear()
    body = b"{}"
    header = f"t={digits},v1={compute('test-webhook-secret', 1, body)}".encode(encoding)
    request = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n{DELIVERY_HEADER}: d-1\r\n".encode()
    request += HEADER.encode() + b": " + header + b"\r\n\r\n" + body
    with running() as base, socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):  # the receiver closes after a refusal
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:300]
    assert b"unix seconds" in answer


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "case,body",
    [
        ("deep", b"[" * 100_000 + b"]" * 100_000),
        ("deep object", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        ("5000 digits", b'{"version": ' + b"9" * 5000 + b"}"),
    ],
)
def test_deep_nesting_and_huge_integers_are_not_json_we_accept(client, engine_store, path, case, body):
    before = rows(engine_store)
    answer = client.post(path, content=body, headers=signed(body))
    assert answer.status_code == 400, answer.text
    assert "not valid JSON" in answer.json()["error"]
    assert rows(engine_store) == before


def test_free_form_objects_deeper_than_the_limit_are_refused_naming_it(client, example):
    nested: dict = {"leaf": 1}
    for _ in range(250):
        nested = {"n": nested}
    source = next(c for c in example["components"] if c["type"] == "source")
    source["sample_events"][0]["properties"] = nested
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422, answer.text
    assert any("32 levels" in f and f.startswith("components.") for f in answer.json()["fields"])


@pytest.mark.parametrize("version", [2**63, 2**31, 0, -1, True, "1", 1.0, None])
def test_version_is_a_strict_bounded_integer(client, engine_store, example, version):
    example["version"] = version
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422, answer.text
    assert any(f.startswith("version:") for f in answer.json()["fields"])
    assert not engine_store.dispatches()


def test_the_largest_version_is_stored(client, engine_store, example):
    example["version"] = 2**31 - 1
    body = raw(example)
    assert client.post("/webhooks/submissions", content=body, headers=signed(body)).status_code == 202


@pytest.mark.parametrize("field", ["name", "slug"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\n", "\x1b", "\x7f"])
def test_control_characters_in_name_or_slug_are_refused(client, engine_store, example, field, char):
    example["app"][field] = f"acme{char}x"
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422, answer.text
    assert any(f.startswith(f"app.{field}:") for f in answer.json()["fields"])
    assert not engine_store.dispatches()


def test_nul_in_an_activity_workspace_is_refused(client, engine_store, example):
    body = raw(example)
    client.post("/webhooks/submissions", content=body, headers=signed(body))
    body = raw([activity(workspace_id="ws\x00")])
    answer = client.post("/webhooks/activity", content=body, headers=signed(body, "a-1"))
    assert answer.status_code == 422, answer.text


def test_a_reused_delivery_id_with_another_body_is_a_conflict(client, engine_store, example):
    body = raw(example)
    first = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert first.status_code == 202
    example["version"] = 2
    other = raw(example)
    answer = client.post("/webhooks/submissions", content=other, headers=signed(other))
    assert answer.status_code == 409 and "already used for a different body" in answer.json()["error"]
    again = client.post("/webhooks/submissions", content=body, headers=signed(body, timestamp=later()))
    assert again.status_code == 200 and again.json() == first.json()
    assert len(engine_store.dispatches()) == 1


class TestActivityDeliveries:
    @pytest.fixture
    def app_known(self, client, example):
        body = raw(example)
        assert client.post("/webhooks/submissions", content=body, headers=signed(body)).status_code == 202

    def test_the_delivery_header_is_required(self, client, app_known):
        body = raw([activity()])
        answer = client.post("/webhooks/activity", content=body, headers=signed(body, None))
        assert answer.status_code == 400 and DELIVERY_HEADER in answer.json()["error"]

    def test_a_redelivery_changes_nothing_and_gets_the_first_answer(self, client, engine_store, app_known):
        old, new = raw([activity(delivered=5)]), raw([activity(delivered=7)])
        first = client.post("/webhooks/activity", content=old, headers=signed(old, "a-1"))
        assert first.status_code == 200 and first.json() == {"inserted": 1, "updated": 0, "unchanged": 0}
        correction = client.post("/webhooks/activity", content=new, headers=signed(new, "a-2"))
        assert correction.json() == {"inserted": 0, "updated": 1, "unchanged": 0}
        replay = client.post("/webhooks/activity", content=old, headers=signed(old, "a-1", timestamp=later()))
        assert replay.status_code == 200 and replay.json() == first.json()
        assert engine_store.active_days(
            "acme-analytics", until=__import__("datetime").date(2026, 11, 30), window_days=30
        )
        assert _delivered(engine_store) == 7

    def test_an_older_measurement_never_overwrites_a_newer_one(self, client, engine_store, app_known):
        newer = raw([activity(delivered=9, measured_at="2026-11-21T10:00:00Z")])
        older = raw([activity(delivered=4, measured_at="2026-11-21T09:00:00Z")])
        assert client.post("/webhooks/activity", content=newer, headers=signed(newer, "a-1")).status_code == 200
        answer = client.post("/webhooks/activity", content=older, headers=signed(older, "a-2"))
        assert answer.json() == {"inserted": 0, "updated": 0, "unchanged": 1}
        assert _delivered(engine_store) == 9

    def test_ten_thousand_records_in_one_request(self, client, engine_store, app_known, example):
        records = [activity(workspace_id=f"ws-{i % 500}", day=f"2026-10-{1 + i // 500:02d}") for i in range(10_000)]
        body = raw(records)
        answer = client.post("/webhooks/activity", content=body, headers=signed(body, "big"))
        assert answer.status_code == 200 and answer.json()["inserted"] == 10_000
        again = client.post("/webhooks/activity", content=body, headers=signed(body, "big-2", timestamp=later()))
        assert again.json() == {"inserted": 0, "updated": 0, "unchanged": 10_000}


def _delivered(store) -> int:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return conn.execute(text("SELECT events_delivered FROM activity")).scalar_one()


def test_a_whitespace_secret_is_no_secret(client, engine_store, example, monkeypatch):
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_SECRET", "   ")
    get_settings.cache_clear()
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body, secret="   "))
    assert answer.status_code == 401 and "no webhook secret" in answer.json()["error"]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(client, example, scheme):
    body = raw(example)
    sid = client.post("/webhooks/submissions", content=body, headers=signed(body)).json()["submission_id"]
    answer = client.get(f"/submissions/{sid}", headers={"authorization": f"{scheme} reader-token"})
    assert answer.status_code == 200
    assert client.get(f"/submissions/{sid}", headers={"authorization": "Basic reader-token"}).status_code == 401


def test_sqlite_store_syncs_every_commit(env):
    from partner_review.models.settings import get_settings
    from partner_review.models.store import Store

    store = Store(get_settings())
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        store.close()


def test_timestamps_stay_fresh(client, example):
    body = json.dumps(example).encode()
    stale = client.post("/webhooks/submissions", content=body, headers=signed(body, timestamp=int(time.time()) - 301))
    assert stale.status_code == 401
