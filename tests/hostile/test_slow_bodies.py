"""Issue 13 item 10: unauthenticated and slow bodies cannot hold the receiver's memory or
connections (real uvicorn on loopback, raw sockets as the attacker)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from partner_review.webhooks.server import running
from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

MB = 1024 * 1024


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@pytest.fixture
def receiver(engine_store, monkeypatch):
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_BODY_DEADLINE_SECONDS", "1")
    get_settings.cache_clear()
    with running() as base:
        yield int(base.rsplit(":", 1)[1])


def head(port: int, length: int, headers: dict[str, str]) -> bytes:
    lines = ["POST /webhooks/submissions HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer_of(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_a_missing_signature_is_refused_before_the_body_and_memory_stays_bounded(receiver):
    body = b" " * (MB - 1)  # one byte short of the declared length: the body is never complete
    before = rss()
    sockets, answers = [], []
    lock = threading.Lock()

    def attack() -> None:
        sock = socket.create_connection(("127.0.0.1", receiver))
        with lock:
            sockets.append(sock)
        sock.settimeout(5)
        try:
            sock.sendall(head(receiver, MB, {DELIVERY_HEADER: "x-1"}) + body)
        except OSError:  # refused and closed while still sending: what we want
            pass
        with lock:
            answers.append(answer_of(sock))

    threads = [threading.Thread(target=attack) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    grown = rss() - before
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 401")]
    assert len(refused) == 100, [a[:40] for a in answers if not a.startswith(b"HTTP/1.1 401")][:5]
    assert all(b"connection: close" in a.lower() for a in refused)
    assert grown < 50 * MB, f"{grown / MB:.0f} MiB"
    for sock in sockets:  # the receiver closed every one of them
        sock.settimeout(5)
        try:
            while sock.recv(65536):
                pass
        except (ConnectionResetError, TimeoutError) as error:
            assert not isinstance(error, TimeoutError), "a refused connection was left open"
        sock.close()


def test_a_body_not_complete_within_the_deadline_is_cut_off(receiver):
    body = b'{"version": 1}'
    sock = socket.create_connection(("127.0.0.1", receiver))
    started = time.monotonic()
    sock.sendall(head(receiver, 1000, {DELIVERY_HEADER: "slow-1", HEADER: sign("test-webhook-secret", body)}) + body)
    answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"not complete within 1 s" in answer or b"within 1 s" in answer + sock.recv(4096)
    assert time.monotonic() - started < 5
    sock.close()


def test_bodies_in_flight_are_bounded(engine_store, monkeypatch, example):
    """With one body slot, a second delivery waits for the first slow body to be cut off."""
    import json

    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_BODY_DEADLINE_SECONDS", "2")
    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_MAX_CONCURRENT_BODIES", "1")
    get_settings.cache_clear()
    good = json.dumps(example).encode()
    with running() as base:
        port = int(base.rsplit(":", 1)[1])
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(head(port, 1000, {DELIVERY_HEADER: "slow", HEADER: sign("test-webhook-secret", b"{}")}) + b"{")
        started = time.monotonic()
        time.sleep(0.3)
        fast = socket.create_connection(("127.0.0.1", port))
        fast.sendall(head(port, len(good), {DELIVERY_HEADER: "fast", HEADER: sign("test-webhook-secret", good)}) + good)
        fast_answer = answer_of(fast)
        waited = time.monotonic() - started
        slow_answer = answer_of(slow)
        assert slow_answer.startswith(b"HTTP/1.1 408")
        assert waited > 1.5, f"answered after {waited:.1f} s: it did not wait for the slot"
        assert fast_answer.startswith(b"HTTP/1.1 202"), fast_answer[:200]
        assert engine_store.find_delivery("fast") is not None
        slow.close()
        fast.close()
