"""Issue 29 items 1 to 3: control characters in addresses, slugs outside the catalog's rule, a
chunk larger than the body limit and a request head that never completes, on a real receiver
(both engines where a store is involved)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from partner_review.models.submission import parse_submission, slug_problem
from tests.conftest import EXAMPLES
from tests.hostile.signed import raw, signed

CONTROLS = ["\r", "\n", "\r\n", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\u2028"]


def _set(example: dict, field: str, value: str) -> None:
    target, *path = field.split(".")
    if target == "destination":
        node = next(c for c in example["components"] if c["type"] == "destination")
    else:
        node = example[target]
    for name in path[:-1]:
        node = node.setdefault(name, {})
    node[path[-1]] = value


@pytest.mark.parametrize(
    "field",
    [
        "app.support_email",
        "app.website",
        "app.logo_url",
        "app.docs.own_url",
        "app.partner_page_url",
        "destination.endpoint",
    ],
)
def test_a_line_break_in_an_address_is_refused_naming_the_field(client, engine_store, example, field):
    _set(example, field, "support@acme.example\r\nBcc: victim@example.com")
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422, answer.text
    named = field.replace("destination.", "components.0.destination.")
    assert any(f.startswith(f"{named}:") and "control characters" in f for f in answer.json()["fields"]), answer.text
    assert not engine_store.dispatches()


@pytest.mark.parametrize("char", CONTROLS)
def test_every_control_character_in_the_support_email_is_refused(client, engine_store, example, char):
    example["app"]["support_email"] = f"support@acme.example{char}"
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422 and any(f.startswith("app.support_email:") for f in answer.json()["fields"])
    assert not engine_store.dispatches()


def test_control_characters_in_a_listed_url_are_refused(client, engine_store, example):
    example["app"]["screenshots"] = ["https://acme.example/a.png", "https://acme.example/b.png\r\nX: y"]
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422 and any(f.startswith("app.screenshots.1:") for f in answer.json()["fields"])


@pytest.mark.parametrize(
    "slug",
    ["../../x", "Acme-Analytics", "acme_X", "acme.X", "acme--analytics", "-acme", "acme-", "a", "x" * 65,
     "ａｃｍｅ", "асме", "acme analytics", ""],
)  # fmt: skip
def test_a_slug_outside_the_catalog_rule_is_refused_with_the_rule_in_words(client, engine_store, example, slug):
    example["app"]["slug"] = slug
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422, answer.text
    (problem,) = [f for f in answer.json()["fields"] if f.startswith("app.slug:")]
    assert slug == "" or "lower-case ASCII letters and digits joined by single hyphens, 2 to 64 characters" in problem
    assert not engine_store.dispatches()


@pytest.mark.parametrize("slug", ["acme-analytics\n", "ab\n", "ab\r\n", "ab\x00"])
def test_a_slug_with_a_trailing_line_break_is_refused(client, engine_store, example, slug):
    """`$` matches before a final newline: the slug rule ends at `\\Z`, so neither the receiver nor
    CAT-002 nor an artifact key takes `ab\\n` for the slug `ab`."""
    assert slug_problem(slug) is not None
    example["app"]["slug"] = slug
    body = raw(example)
    answer = client.post("/webhooks/submissions", content=body, headers=signed(body))
    assert answer.status_code == 422, answer.text
    assert [f for f in answer.json()["fields"] if f.startswith("app.slug:")]
    assert not engine_store.dispatches()


@pytest.mark.parametrize("slug", ["ab", "acme-analytics", "a1-b2-c3", "x" * 64, "0-9"])
def test_a_catalog_slug_is_accepted(client, engine_store, example, slug):
    example["app"]["slug"] = slug
    body = raw(example)
    assert client.post("/webhooks/submissions", content=body, headers=signed(body)).status_code == 202


def test_the_bundled_examples_pass_the_intake_rules():
    valid = [p for p in EXAMPLES.glob("*.json")]
    assert len(valid) >= 3
    for path in valid:
        data = json.loads(path.read_text())
        if "app" in data:
            assert slug_problem(parse_submission(data).app.slug) is None, path


def test_the_notifier_refuses_an_address_with_a_line_break(engine_store):
    from partner_review.models.settings import get_settings
    from partner_review.tasks.lifecycle.notify import Notifier, UnsendableAddress

    notifier = Notifier(engine_store, get_settings())
    with pytest.raises(UnsendableAddress, match="control character"):
        notifier.send(
            "ack:x", submission_id=None, kind="ack", recipient="a@acme.example\r\nBcc: b@x", subject="s", body="b"
        )
    assert not [n for n in engine_store.notifications() if n.key == "ack:x"]


# --- the HTTP server's own limits (webhooks/protocol.py) ----------------------------------------


@pytest.fixture
def port(engine_store, monkeypatch):
    from partner_review.models.settings import get_settings
    from partner_review.webhooks.server import running

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_BODY_DEADLINE_SECONDS", "30")
    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_HEAD_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    with running() as base:
        yield int(base.rsplit(":", 1)[1])


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_a_chunk_larger_than_the_body_limit_is_refused_at_once(port, example):
    body = raw(example)
    headers = signed(body)
    head = ["POST /webhooks/submissions HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"40000000\r\n" + b"x" * 1000)
        answer = _read_all(sock, 10)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"chunk is larger than" in answer and took < 5, took


def test_a_request_head_that_never_completes_is_closed_after_the_timeout(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /webhooks/submissions HTTP/1.1\r\n")
        closed = None
        for _ in range(40):  # one header byte every 0.1 s: each byte would restart a keep-alive timer
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - started
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    closed = time.monotonic() - started
                    break
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
    assert closed is not None and closed < 3, closed


def test_a_kept_alive_connection_still_serves_requests_in_time(port):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200 and not answer.will_close
            sock = connection.sock
            time.sleep(0.5)  # under the head timeout (1 s): the next request comes on the same connection
            connection.request("GET", "/healthz")
            again = connection.getresponse()
            again.read()
            assert again.status == 200 and connection.sock is sock
    finally:
        connection.close()
