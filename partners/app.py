"""A sample destination as a bare ASGI application.

Routes: `POST /v1/events` (one event), `POST /v1/batch` (`{"batch": [...]}`),
`GET /v1/received?messageId=...|userId=...` (read-back, same credentials), `GET /healthz`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs

from partner_review.models.spec import CALL_TYPES, DEFAULT_LIMITS, Limits, validate, validate_batch
from partner_review.partners.behaviours import BEHAVIOURS, Behaviour
from partner_review.partners.credentials import DEFAULT_SECRET, Credentials
from partner_review.partners.received import Received, timestamp_of

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

EVENTS, BATCH, RECEIVED, HEALTH = "/v1/events", "/v1/batch", "/v1/received", "/healthz"
HARD_BODY_LIMIT = 8 * 1024 * 1024


class TooLarge(Exception):
    pass


class SamplePartner:
    """One sample destination; `received` holds what it stored."""

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        credentials: Credentials | None = None,
        unsupported: Iterable[str] = (),
        burst: float | None = None,
        retry_after: int | None = None,
        max_received: int = 100_000,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        unknown = set(unsupported) - set(CALL_TYPES)
        if unknown:
            raise ValueError(f"unsupported call types must be among {', '.join(CALL_TYPES)}: {sorted(unknown)}")
        self.behaviour = behaviour
        self.credentials = credentials or Credentials()
        self.unsupported = frozenset(unsupported)
        self.limits = limits
        self.received = Received(max_received)
        self.requests = 0
        self.failures = 0
        self.retry_after = retry_after
        self._capacity = burst if burst is not None else max(1.0, behaviour.rate)
        self._tokens = self._capacity
        self._refilled = time.monotonic()

    # ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path == HEALTH:
            return await self._answer(send, 200, {"ok": True, "behaviour": self.behaviour.name})
        if path not in (EVENTS, BATCH, RECEIVED):
            return await self._answer(send, 404, {"error": f"no route {path}; events go to {EVENTS}"})
        expected = "GET" if path == RECEIVED else "POST"
        if method != expected:
            return await self._answer(send, 405, {"error": f"use {expected} {path}"}, allow=expected)
        if path == RECEIVED:
            return await self._read_back(scope, headers, send)
        await self._ingest(path, headers, receive, send)

    async def _ingest(self, path: str, headers: dict[str, str], receive: Receive, send: Send) -> None:
        b = self.behaviour
        limit = self.limits.event_bytes if path == EVENTS else self.limits.batch_bytes
        try:
            body = await _read_body(receive, HARD_BODY_LIMIT if not b.validates else limit)
        except TooLarge:
            if not b.validates:
                return await self._answer(send, 200, {"ok": True})
            kind = "event" if path == EVENTS else "batch"
            return await self._answer(send, 413, {"error": f"the {kind} is over the {limit:,} byte limit"})
        if b.rate and not self._take_token():
            wait = self.retry_after or max(1, math.ceil((1 - self._tokens) / b.rate))
            return await self._answer(send, 429, {"error": "rate limit exceeded"}, retry_after=str(wait))
        self.requests += 1
        if b.fail_every and self.requests % b.fail_every == 0:
            self.failures += 1
            status = 500 if self.failures % 2 else 503
            return await self._answer(send, status, {"error": "internal error" if status == 500 else "maintenance"})
        if b.delay and await _disconnected_within(receive, b.delay):
            return
        if b.checks_auth and not self.credentials.accepts(headers):
            return await self._answer(
                send, 401, {"error": "invalid or missing credentials"}, www_authenticate=self._scheme()
            )
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            if not b.validates:
                return await self._answer(send, 200, {"ok": True})
            return await self._answer(send, 400, {"error": "the body is not JSON"})
        if path == EVENTS:
            await self._event(payload, send)
        else:
            await self._batch(payload, len(body), send)

    async def _event(self, event: Any, send: Send) -> None:
        if isinstance(event, dict) and event.get("type") == "delete":
            return await self._delete(event, send)
        if self.behaviour.validates:
            violations = validate(event, limits=self.limits)
            if violations:
                return await self._answer(
                    send, 400, {"error": "invalid event", "violations": [v._asdict() for v in violations]}
                )
            if event["type"] in self.unsupported:
                return await self._answer(send, 501, {"error": f"{event['type']} calls are not supported"})
            if too_old := self._too_old(event):
                return await self._answer(send, 400, {"error": "event too old", "violations": [too_old]})
        if isinstance(event, dict):
            self._store(event)
        await self._answer(
            send, 200, {"ok": True, "messageId": event.get("messageId") if isinstance(event, dict) else None}
        )

    async def _batch(self, payload: Any, size: int, send: Send) -> None:
        if self.behaviour.fails_batches:
            return await self._answer(send, 500, {"error": "internal error"})
        if not self.behaviour.validates:
            for event in payload.get("batch", []) if isinstance(payload, dict) else []:
                if isinstance(event, dict):
                    self._store(event)
            return await self._answer(send, 202, {"ok": True})
        problems = validate_batch(payload, size=size, limits=self.limits)
        if problems:
            return await self._answer(
                send, 400, {"error": "invalid batch", "violations": [v._asdict() for v in problems]}
            )
        events = payload["batch"]
        invalid = []
        for index, event in enumerate(events):
            if isinstance(event, dict) and event.get("type") == "delete":
                continue
            violations = [v._asdict() for v in validate(event, limits=self.limits)]
            if not violations and (too_old := self._too_old(event)):
                violations.append(too_old)
            invalid += [{"index": index, **v} for v in violations]
        if invalid:
            return await self._answer(send, 400, {"error": "invalid events in batch", "violations": invalid[:100]})
        accepted, unsupported = 0, []
        for event in events:
            if event.get("type") == "delete":
                self.received.delete_user(str(event.get("userId")))
            elif event["type"] in self.unsupported:
                unsupported.append(event.get("messageId"))
            else:
                self._store(event)
                accepted += 1
        await self._answer(send, 202, {"ok": True, "accepted": accepted, "unsupported": unsupported})

    async def _delete(self, event: dict[str, Any], send: Send) -> None:
        user_id = event.get("userId")
        if not isinstance(user_id, str) or not user_id:
            return await self._answer(send, 400, {"error": "a delete needs the userId to erase"})
        erased = self.received.delete_user(user_id)
        await self._answer(send, 200, {"ok": True, "deleted": erased})

    async def _read_back(self, scope: Scope, headers: dict[str, str], send: Send) -> None:
        if self.behaviour.checks_auth and not self.credentials.accepts(headers):
            return await self._answer(
                send, 401, {"error": "invalid or missing credentials"}, www_authenticate=self._scheme()
            )
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "messageId" in query:
            return await self._answer(send, 200, {"events": self.received.by_message_id(query["messageId"][0])})
        if "userId" in query:
            order: Literal["timestamp", "arrival"] = "arrival" if self.behaviour.reorders else "timestamp"
            return await self._answer(send, 200, {"events": self.received.by_user_id(query["userId"][0], order=order)})
        await self._answer(send, 400, {"error": "give messageId=... or userId=..."})

    # Helpers ---------------------------------------------------------------------------------

    def _too_old(self, event: dict[str, Any]) -> dict[str, str] | None:
        """The violation for an event older than the behaviour's `max_age` (None when it may pass)."""
        moment = timestamp_of(event) if self.behaviour.max_age else None
        if moment is None or (datetime.now(UTC) - moment).total_seconds() <= self.behaviour.max_age:
            return None
        hours = self.behaviour.max_age / 3600
        return {"rule": "too-old", "path": "timestamp", "message": f"events older than {hours:g} hours are refused"}

    def _store(self, event: dict[str, Any]) -> None:
        if self.behaviour.drops_fields:
            event = {k: _scalars_only(v) if k in ("properties", "traits") else v for k, v in event.items()}
        self.received.add(event)

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._refilled) * self.behaviour.rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def _scheme(self) -> str:
        return {"bearer": "Bearer", "basic": 'Basic realm="sample-partner"'}.get(self.credentials.scheme, "ApiKey")

    async def _answer(
        self,
        send: Send,
        status: int,
        body: dict[str, Any],
        *,
        allow: str | None = None,
        retry_after: str | None = None,
        www_authenticate: str | None = None,
    ) -> None:
        if self.behaviour.html:
            content = f"<!doctype html><html><body><p>{status}</p><pre>{json.dumps(body)}</pre></body></html>".encode()
            content_type = b"text/html; charset=utf-8"
        else:
            content = json.dumps(body).encode()
            content_type = b"application/json"
        headers = [(b"content-type", content_type), (b"content-length", str(len(content)).encode())]
        for name, value in (("allow", allow), ("retry-after", retry_after), ("www-authenticate", www_authenticate)):
            if value:
                headers.append((name.encode(), value.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _disconnected_within(receive: Receive, seconds: float) -> bool:
    """Wait `seconds`; True as soon as the client hangs up (so a slow answer frees its task)."""
    try:
        message = await asyncio.wait_for(receive(), seconds)
    except TimeoutError:
        return False
    return message["type"] == "http.disconnect"


def _scalars_only(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items() if not isinstance(v, (dict, list))}


def app(behaviour: str = "conformant", **options: Any) -> SamplePartner:
    """A sample partner ASGI app.

    Options: `scheme`, `secret`, `header` (credentials; default bearer `acme-api-key-for-review`),
    `unsupported` (call types answered 501), `delay` (slow), `fail_every` (flaky), `rate`, `burst`,
    `retry_after` (rate-limited), `max_received`, `limits` (models.spec.Limits).
    """
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}; choose one of {', '.join(BEHAVIOURS)}")
    tuned = {k: options.pop(k) for k in ("delay", "fail_every", "rate") if k in options}
    chosen = replace(BEHAVIOURS[behaviour], **tuned)
    credentials = Credentials(
        scheme=options.pop("scheme", "bearer"),
        secret=options.pop("secret", DEFAULT_SECRET),
        header=options.pop("header", None),
    )
    return SamplePartner(chosen, credentials=credentials, **options)
