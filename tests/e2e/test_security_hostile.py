"""Hostile partners against the security stage: a server that stalls the TLS handshake, one that
sends a 50 MB header, certificates with 10,000 names or dates not valid yet, a
security.txt of 100 MB. Each gets a clear result (fail or error with a reason) in bounded time and
memory, never a traceback."""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
import time
from pathlib import Path

import pytest

from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.partners.site import make_certificates
from partner_review.tasks.security.stage import check_security
from tests.conftest import EXAMPLES
from tests.e2e.sites import Reply, Site, page

HOST = "hostile.example"
MB = 1024 * 1024


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def submission(port: int):
    """The bundled app with its website and docs on the hostile host; a source, no destination."""
    data = json.loads((EXAMPLES / "submission.json").read_text())
    base = f"https://{HOST}:{port}"
    data["app"].update(website=base, oauth=None)
    data["app"]["docs"]["own_url"] = base + "/docs"
    data["components"] = [c for c in data["components"] if c["type"] == "source"]
    return parse_submission(data)


def tls_context(tmp_path: Path, **certificate) -> ssl.SSLContext:
    ca, cert, key = make_certificates(HOST, **certificate)
    (tmp_path / "ca.pem").write_bytes(ca)
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


@pytest.fixture
def aimed(monkeypatch, tmp_path):
    """Point the client at a port: HOST resolves there, the test CA is trusted, connects time out in 1 s."""

    def aim(port: int) -> None:
        monkeypatch.setenv("PARTNER_REVIEW_RESOLVE", f"{HOST}:{port}:127.0.0.1")
        monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(tmp_path / "ca.pem"))
        monkeypatch.setenv("PARTNER_REVIEW_HTTP_CONNECT_TIMEOUT_SECONDS", "1")
        monkeypatch.setenv("PARTNER_REVIEW_HTTP_MAX_SECONDS", "5")
        get_settings.cache_clear()

    yield aim
    get_settings.cache_clear()


async def reviewed(port: int) -> tuple[dict, float]:
    started = time.monotonic()
    results = await check_security(submission(port))
    return {r.check: r for r in results}, time.monotonic() - started


async def test_a_stalled_handshake_is_cut_off(aimed, tmp_path):
    (tmp_path / "ca.pem").write_bytes(make_certificates(HOST)[0])
    held: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read(1024)  # takes the ClientHello, never answers
        await asyncio.sleep(60)

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    aimed(port)
    try:
        results, took = await reviewed(port)
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()
    assert took < 5
    versions = results["SEC-002"]
    assert versions.outcome == "error" and "no TLS handshake within 1 s" in versions.message
    assert set(versions.evidence["hosts"][0]["versions"].values()) == {"no answer"}
    assert results["SEC-003"].outcome == "error"
    for check in ("SEC-005", "SEC-006", "SEC-008"):
        assert results[check].outcome == "skip" and "SEC-002" in results[check].message


async def test_a_50_mb_header_is_refused_in_bounded_time_and_memory(aimed, tmp_path):
    async def huge_header(request):
        async def write(writer):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Filler: ")
            chunk = b"a" * (64 * 1024)
            for _ in range(50 * 16):
                writer.write(chunk)
                await writer.drain()
            writer.write(b"\r\n\r\n")
            await writer.drain()

        return Reply(raw=write)

    async with Site(ssl=tls_context(tmp_path)) as site:
        site.route("/", huge_header).route("/.well-known/security.txt", huge_header)
        aimed(site.port)
        before = rss()
        results, took = await reviewed(site.port)
        grown = rss() - before
    assert took < 10 and grown < 40 * MB
    assert results["SEC-002"].outcome == results["SEC-003"].outcome == "pass"
    for check in ("SEC-005", "SEC-006", "SEC-008"):
        assert results[check].outcome == "error" and HOST in results[check].message, results[check].message


async def test_a_certificate_with_10000_names_gets_a_bounded_answer(aimed, tmp_path):
    names = [f"n{i}.{HOST}" for i in range(10_000)]
    async with Site(ssl=tls_context(tmp_path, aliases=names)) as site:
        site.route("/", page("<h1>hi</h1>"))
        aimed(site.port)
        results, took = await reviewed(site.port)
    assert took < 10
    certificate = results["SEC-003"]
    shown = certificate.evidence["hosts"][0]
    assert len(shown.get("names", [])) <= 10
    if certificate.outcome == "pass":  # an OpenSSL that takes a chain this large: the names are counted, not listed
        assert shown["names_total"] == 10_001
    else:  # OpenSSL refuses a certificate message over 100 KiB: no client could use it
        assert certificate.outcome == "fail" and "larger than TLS clients accept" in certificate.message


async def test_a_certificate_not_valid_yet_is_a_blocker(aimed, tmp_path):
    starts = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=10)
    async with Site(ssl=tls_context(tmp_path, starts=starts)) as site:
        site.route("/", page("<h1>hi</h1>"))
        aimed(site.port)
        results, _ = await reviewed(site.port)
    certificate = results["SEC-003"]
    assert certificate.outcome == "fail" and certificate.severity == "blocker"
    assert "not yet valid" in certificate.message
    shown = certificate.evidence["hosts"][0]
    assert shown["not_before"] > datetime.datetime.now(datetime.UTC).isoformat()


@pytest.mark.parametrize("declared", [False, True])
async def test_a_100_mb_security_txt_is_read_no_further_than_the_cap(aimed, tmp_path, declared):
    size = 100 * MB
    sent = 0

    async def enormous(request):
        async def write(writer):
            nonlocal sent
            length = f"Content-Length: {size}\r\n" if declared else "Connection: close\r\n"
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{length}\r\n".encode())
            line = b"Contact: mailto:security@hostile.example\n" * 1500
            while sent < size:
                writer.write(line)
                sent += len(line)
                await writer.drain()

        return Reply(raw=write)

    async with Site(ssl=tls_context(tmp_path)) as site:
        site.route("/", page("<h1>hi</h1>", headers={"Strict-Transport-Security": "max-age=31536000"}))
        site.route("/.well-known/security.txt", enormous)
        aimed(site.port)
        before = rss()
        results, took = await reviewed(site.port)
        grown = rss() - before
    assert took < 10 and grown < 40 * MB and sent < size
    found = results["SEC-006"]
    assert found.outcome == "warn" and "larger than 32 KiB" in found.message
