"""The sample partner's security behaviours: a hardened HTTPS front, and one weakness at a time.

`hardened(app)` wraps an ASGI app with what the security stage asks of a partner: HSTS for a year
on every answer and an RFC 9116 `/.well-known/security.txt`. The sample website is always served
this way (`site_running`). `secure_running(weaknesses=...)` serves the sample website and a sample
destination (`/v1/events`, `/v1/batch`, `behaviour` as for `running`) from one HTTPS server whose
certificate names `server_name` and `aliases`, with the weaknesses asked for:

    with secure_running(weaknesses={"tls-legacy"}) as site:   # site.base_url: https://acme.example:<port>
        ...  # resolve the names to 127.0.0.1 (PARTNER_REVIEW_RESOLVE) and trust site.ca_file

Authentication weaknesses are the destination behaviours `no-auth` and `lenient` (partners.behaviours).
"""

from __future__ import annotations

import contextlib
import datetime
import shutil
import ssl
import tempfile
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

WEAKNESSES: dict[str, str] = {
    "tls-1.0-only": "Speaks TLS 1.0 and nothing newer.",
    "tls-legacy": "Accepts TLS 1.0 and 1.1 beside 1.2 and 1.3.",
    "expiring-cert": "Its certificate expires in 5 days.",
    "expired-cert": "Its certificate expired yesterday.",
    "wrong-name-cert": "Its certificate names other.example, not the host.",
    "no-hsts": "Sends no Strict-Transport-Security header.",
    "short-hsts": "Sends Strict-Transport-Security with max-age=86400 (a day).",
    "no-security-txt": "Serves no /.well-known/security.txt (404).",
    "expired-security-txt": "Its security.txt expired a year ago.",
    "leaky-errors": "Answers every error with a Python traceback, `Server: gunicorn/19.9.0` and "
    "`X-Powered-By: Flask/1.0.2`.",
}
SECURITY_TXT_PATH = "/.well-known/security.txt"
DESTINATION_PATHS = ("/v1/", "/healthz")
TRACEBACK = b"""Traceback (most recent call last):
  File "/srv/acme/venv/lib/python3.9/site-packages/flask/app.py", line 2447, in wsgi_app
    response = self.full_dispatch_request()
  File "/srv/acme/app/segment/ingest.py", line 88, in ingest
    event = json.loads(request.data)
json.decoder.JSONDecodeError: Expecting value: line 1 column 62 (char 61)
"""


class UnknownWeakness(ValueError):
    pass


def _checked(weaknesses: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(weaknesses)
    unknown = chosen - set(WEAKNESSES)
    if unknown:
        raise UnknownWeakness(f"unknown weakness {sorted(unknown)}; choose among {', '.join(WEAKNESSES)}")
    return chosen


def security_txt(*, expired: bool = False) -> bytes:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=-365 if expired else 180)
    return (
        "# Acme Analytics security contact (RFC 9116)\n"
        "Contact: mailto:security@acme.example\n"
        f"Expires: {moment.replace(microsecond=0).isoformat().replace('+00:00', 'Z')}\n"
        "Preferred-Languages: en\n"
    ).encode()


def hardened(application: App, weaknesses: Iterable[str] = ()) -> App:
    """`application` with HSTS and security.txt, minus the `weaknesses` asked for. A `set` is read
    on every request, so its owner can add or remove a weakness while the server runs."""
    live = weaknesses if isinstance(weaknesses, set) else _checked(weaknesses)
    _checked(live)

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await application(scope, receive, send)
        weak = frozenset(live)
        hsts = None if "no-hsts" in weak else b"max-age=86400" if "short-hsts" in weak else b"max-age=31536000"
        extra = [(b"strict-transport-security", hsts)] if hsts else []
        if scope["path"] == SECURITY_TXT_PATH and "no-security-txt" not in weak:
            body = security_txt(expired="expired-security-txt" in weak)
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers + extra})
            return await send({"type": "http.response.body", "body": body})
        leaking = False

        async def dressed(message: dict[str, Any]) -> None:
            nonlocal leaking
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + extra
                if "leaky-errors" in weak and message["status"] >= 400:
                    leaking = True
                    headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
                    headers += [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(TRACEBACK)).encode()),
                        (b"x-powered-by", b"Flask/1.0.2"),
                    ]
                message = {**message, "headers": headers}
            elif leaking and message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": TRACEBACK}
            await send(message)

        await application(scope, receive, dressed)

    return front


def routed(website: App, destination: App) -> App:
    """One app for one host: the destination's paths to `destination`, the rest to `website`."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        target = destination if scope.get("path", "").startswith(DESTINATION_PATHS) else website
        await target(scope, receive, send)

    return route


def _tls_options(weak: frozenset[str]) -> dict[str, Any]:
    """uvicorn options for the protocol versions asked (its default: TLS 1.2 and 1.3)."""
    if not weak & {"tls-1.0-only", "tls-legacy"}:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lowest = ssl.TLSVersion.TLSv1
        highest = ssl.TLSVersion.TLSv1 if "tls-1.0-only" in weak else ssl.TLSVersion.MAXIMUM_SUPPORTED

    def factory(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        context = default()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.0/1.1 at its default level
            context.minimum_version = lowest
            context.maximum_version = highest
        return context

    return {"ssl_context_factory": factory}


def certificates(server_name: str, aliases: Sequence[str], weak: frozenset[str]) -> tuple[bytes, bytes, bytes]:
    from partner_review.partners.site import make_certificates

    now = datetime.datetime.now(datetime.UTC)
    if "wrong-name-cert" in weak:
        return make_certificates("other.example")
    if "expired-cert" in weak:
        return make_certificates(server_name, aliases=aliases, starts=now - datetime.timedelta(days=91), days=90)
    if "expiring-cert" in weak:
        return make_certificates(server_name, aliases=aliases, days=5)
    return make_certificates(server_name, aliases=aliases)


@contextlib.contextmanager
def secure_running(
    *,
    weaknesses: Iterable[str] = (),
    behaviour: str = "conformant",
    server_name: str = "acme.example",
    aliases: Sequence[str] = ("api.acme.example",),
    host: str = "127.0.0.1",
    cert: tuple[bytes, bytes, bytes] | None = None,
) -> Iterator[Any]:
    """The sample website and a sample destination over HTTPS with `weaknesses`; yields a
    `SampleSite` (base URL on `server_name`, the CA to trust, the names to resolve to `host`).
    `cert` replaces the certificate made for the weaknesses (hostile tests). The TLS and certificate
    weaknesses are fixed at start; the others, given in a `set`, can change while it runs."""
    from partner_review.partners.app import app as destination_app
    from partner_review.partners.server import in_thread
    from partner_review.partners.site import SampleSite
    from partner_review.partners.site import app as website_app

    weak = _checked(weaknesses)
    ca_pem, cert_pem, key_pem = cert or certificates(server_name, aliases, weak)
    directory = Path(tempfile.mkdtemp(prefix="partner-review-secure-"))
    try:
        ca_file, cert_file, key_file = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
        ca_file.write_bytes(ca_pem)
        cert_file.write_bytes(cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key_pem)
        live = weaknesses if isinstance(weaknesses, set) else weak  # a set stays live (see `hardened`)
        application = hardened(routed(website_app(), destination_app(behaviour)), live)
        extra: dict[str, Any] = {"server_header": "leaky-errors" not in weak}
        if "leaky-errors" in weak:
            extra["headers"] = [("server", "gunicorn/19.9.0")]
        with in_thread(
            application,
            host=host,
            name=f"secure sample partner {sorted(weak)}",
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
            **_tls_options(weak),
            **extra,
        ) as port:
            names = tuple(dict.fromkeys([server_name, *aliases]))
            yield SampleSite(base_url=f"https://{server_name}:{port}", ca_file=ca_file, port=port, names=names)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
