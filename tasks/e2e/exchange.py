"""One request to the partner's endpoint and its answer, with the credential redacted from evidence."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from partner_review.models.settings import Settings
from partner_review.models.submission import Auth, Destination
from partner_review.tasks.net.client import OutboundError, TooLarge, TooSlow, read_up_to

REQUEST_EXCERPT = 1000  # characters of a request body kept as evidence
BODY_EXCERPT = 500  # bytes of an answer kept as evidence

# Credentials and redaction ----------------------------------------------------------------------


def auth_headers(auth: Auth, secret: str | None = None) -> dict[str, str]:
    """The headers carrying a credential (`basic`: the secret is the user, the password empty)."""
    value = auth.secret.get_secret_value() if secret is None else secret
    if auth.scheme == "bearer":
        return {"Authorization": f"Bearer {value}"}
    if auth.scheme == "basic":
        pair = value if ":" in value else f"{value}:"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return {auth.header or "Authorization": value}


class Redactor:
    """Removes a secret (and its Basic encodings) from anything that goes into a Result."""

    def __init__(self, secret: str) -> None:
        forms = {secret, base64.b64encode(secret.encode()).decode(), base64.b64encode(f"{secret}:".encode()).decode()}
        self.forms = sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)

    def text(self, value: str) -> str:
        for form in self.forms:
            value = value.replace(form, "[redacted]")
        return value

    def headers(self, headers: dict[str, str], auth: Auth) -> dict[str, str]:
        secret_header = (auth.header or "Authorization").lower() if auth.scheme == "header" else "authorization"
        out = {}
        for name, value in headers.items():
            if name.lower() == secret_header:
                scheme = value.split(" ", 1)[0] + " " if auth.scheme != "header" and " " in value else ""
                out[name] = f"{scheme}[redacted]"
            else:
                out[name] = self.text(value)
        return out


# One request, one answer ------------------------------------------------------------------------


@dataclass
class Exchange:
    """A request sent and what came back (or why nothing did)."""

    method: str
    url: str
    headers: dict[str, str]
    sent: Any = None
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    location: str | None = None
    retry_after: str | None = None
    latency_ms: float = 0.0
    attempts: int = 1
    error: str | None = None
    timed_out: bool = False
    too_large: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.too_large and self.status is not None and 200 <= self.status < 300

    @property
    def html(self) -> bool:
        head = self.body[:200].lstrip().lower()
        return "text/html" in self.content_type.lower() or head.startswith((b"<!doctype html", b"<html"))

    def evidence(self, redact: Redactor) -> dict[str, Any]:
        request: dict[str, Any] = {"method": self.method, "url": redact.text(self.url), "headers": self.headers}
        if self.sent is not None:
            text = json.dumps(self.sent, default=str)
            request["body"] = redact.text(text[:REQUEST_EXCERPT] + ("..." if len(text) > REQUEST_EXCERPT else ""))
            request["bytes"] = len(text.encode())
        out: dict[str, Any] = {"request": request, "status": self.status, "latency_ms": round(self.latency_ms, 1)}
        if self.content_type:
            out["content_type"] = self.content_type
        if self.body:
            text = self.body[:BODY_EXCERPT].decode("utf-8", errors="replace")
            out["body"] = redact.text(text + ("..." if len(self.body) > BODY_EXCERPT else ""))
        for key in ("location", "retry_after", "error"):
            if getattr(self, key):
                out[key] = redact.text(str(getattr(self, key)))
        if self.attempts > 1:
            out["attempts"] = self.attempts
        return out


class Endpoint:
    """Sends requests for one destination through the one outbound client."""

    def __init__(self, http: httpx.AsyncClient, destination: Destination, settings: Settings) -> None:
        self.http = http
        self.destination = destination
        self.settings = settings
        self.redact = Redactor(destination.auth.secret.get_secret_value())
        self.auth = auth_headers(destination.auth)
        self.gate = asyncio.Semaphore(settings.e2e_concurrency)

    async def post(self, url: str, payload: Any, *, headers: dict[str, str] | None = None) -> Exchange:
        content = json.dumps(payload, separators=(",", ":")).encode()
        sent_headers = {"Content-Type": "application/json", **(self.auth if headers is None else headers)}
        return await self._send("POST", url, sent_headers, content=content, sent=payload)

    async def get(self, url: str, params: dict[str, str]) -> Exchange:
        target = str(httpx.URL(url, params=params))
        return await self._send("GET", target, dict(self.auth))

    async def _send(
        self, method: str, url: str, headers: dict[str, str], *, content: bytes | None = None, sent: Any = None
    ) -> Exchange:
        timeout = self.settings.e2e_timeout_seconds
        limit = self.settings.e2e_max_response_bytes
        shown = self.redact.headers(headers, self.destination.auth)
        async with self.gate:
            for attempt in range(1, self.settings.e2e_transport_retries + 2):
                ex = Exchange(method, url, shown, sent=sent, attempts=attempt)
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(timeout + 1.0):  # the client bounds it first; this is a backstop
                        await self._exchange(ex, method, url, headers, content, limit)
                except (httpx.TimeoutException, TooSlow, TimeoutError):
                    ex.timed_out = True
                    ex.error = f"no complete answer within {timeout:g} s, the time a destination has to answer"
                except TooLarge:
                    ex.too_large = True
                except (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                    ex.error = _describe(exc)
                    if attempt <= self.settings.e2e_transport_retries:
                        continue
                except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                    ex.error = _describe(exc)
                finally:
                    ex.latency_ms = (time.perf_counter() - started) * 1000
                return ex
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(
        self, ex: Exchange, method: str, url: str, headers: dict[str, str], content: bytes | None, limit: int
    ) -> None:
        async with self.http.stream(method, url, headers=headers, content=content) as response:
            ex.status = response.status_code
            ex.content_type = response.headers.get("content-type", "")
            ex.location = response.headers.get("location")
            ex.retry_after = response.headers.get("retry-after")
            ex.body, ex.too_large = await read_up_to(response, limit)


def _describe(exc: Exception) -> str:
    if isinstance(exc, OutboundError):
        return str(exc)
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the connection was closed without a valid HTTP answer ({exc or 'reset'})"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return f"the connection was reset ({exc or type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"
