"""Stage `e2e`: the Developer Center test suite, run against each destination's endpoint.

Every call type and four E-commerce semantic events are sent as Spec-valid events with the
component's credentials and graded like Segment's test suite: green (2xx), yellow (501 for a call
type the component does not list in `supported_calls`) or red (anything else: an error status, no
answer within `e2e_timeout_seconds`, an HTML page, a redirect, a 501 for a type it claims to
support). Negative probes follow (wrong credential, invalid event, oversized event, repeated
messageId), then the batch endpoint, the read-back comparison and a `delete` for the test user.

Only connection errors are retried (`e2e_transport_retries`); an answer, a timeout or a 5xx is
graded as it is. docs/e2e.md describes every request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from partner_review.models.checks import Check, Result, register
from partner_review.models.events import SEMANTIC, EventFactory
from partner_review.models.settings import Settings, get_settings
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Auth, Destination, Submission
from partner_review.tasks.net.client import OutboundError, TooLarge, TooSlow, client

REQUEST_EXCERPT = 1000
BODY_EXCERPT = 500
READ_BACK_PATH = "received"
WRONG_SECRET = "partner-review-wrong-credential"

_CALL_REMEDY = (
    "Answer 200 or 202 within 5 s to every valid {call} call, or 501 if {call} is not supported "
    "(and leave it out of supported_calls)."
)
CALL_CHECKS: dict[str, Check] = {
    call: register(
        f"E2E-00{i}",
        f"{call.capitalize()} calls are accepted, or declined with 501 when not supported",
        stage="e2e",
        severity="blocker",
        remedy=_CALL_REMEDY.format(call=call),
        network=True,
    )
    for i, call in enumerate(CALL_TYPES, 1)
}
SEMANTIC_EVENTS = register(
    "E2E-007",
    "E-commerce semantic events are accepted (Order Completed, Product Viewed, Product Added, Checkout Started)",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Accept track calls carrying E-commerce v2 events, products arrays included, with 200/202.",
)
ANY_ACCEPTED = register(
    "E2E-008",
    "The endpoint accepts at least one call type",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Make the endpoint accept the call types your integration supports with 200/202.",
)
BAD_CREDENTIAL = register(
    "E2E-009",
    "A wrong credential is refused with 401 or 403",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Check the API key on every request and answer 401 (or 403) when it is missing or wrong.",
)
INVALID_EVENT = register(
    "E2E-010",
    "An invalid event is refused with 400",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Validate incoming events and answer 400 with a reason when one breaks the Spec "
    "(here: no userId and no anonymousId).",
)
OVERSIZED_EVENT = register(
    "E2E-011",
    "An event over 32 KB is refused, not accepted silently",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Refuse events over 32 KB with 400 or 413 instead of accepting and truncating them.",
)
REPEATED_MESSAGE = register(
    "E2E-012",
    "A repeated messageId is answered without error",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Segment retries deliveries with the same messageId: de-duplicate on messageId and answer 200 again.",
)
BATCH = register(
    "E2E-013",
    "The batch endpoint accepts a batch of events",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy='Accept `{"batch": [...]}` bodies of up to 2,500 events and 500 KB on batch_endpoint with 200/202.',
)
READ_BACK = register(
    "E2E-014",
    "Events read back with every field sent",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Store every field of an event as sent (nested properties and traits included); "
    "see docs/e2e.md for the optional read-back endpoint.",
)
DELETE = register(
    "E2E-015",
    "A delete request for a userId is honoured",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy='Accept `{"type": "delete", "userId": ...}` on the endpoint with 200 and erase that user\'s data.',
)
CHECKS: tuple[Check, ...] = (
    *CALL_CHECKS.values(),
    SEMANTIC_EVENTS,
    ANY_ACCEPTED,
    BAD_CREDENTIAL,
    INVALID_EVENT,
    OVERSIZED_EVENT,
    REPEATED_MESSAGE,
    BATCH,
    READ_BACK,
    DELETE,
)


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
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    ex.too_large = True
                    break
            ex.body = bytes(body[:limit])


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


# Grading ---------------------------------------------------------------------------------------

Grade = tuple[str, str]  # ("green" | "yellow" | "red", why)


def grade(ex: Exchange, call: str, declared: set[str], limit: int) -> Grade:
    """Green, yellow or red for one event, with the reason a partner reads."""
    if ex.error:
        return "red", ex.error
    if ex.too_large:
        return "red", f"answered with a body over {limit:,} bytes; answer an event with a short JSON body"
    status = ex.status or 0
    if 200 <= status < 300:
        if ex.html:
            return "red", (
                f"answered {status} with an HTML page ({ex.content_type or 'no Content-Type'}): "
                "a login, proxy or error page, not the API, took the event; answer with JSON or an empty body"
            )
        if ex.body.strip() and "json" in ex.content_type.lower() and ex.json() is None:
            return "red", f"answered {status} declaring {ex.content_type} but the body is not JSON"
        return "green", f"answered {status} in {ex.latency_ms:.0f} ms"
    if status == 501:
        if declared and call in declared:
            return "red", f"answered 501 (not supported) for {call}, which the component lists in supported_calls"
        return "yellow", f"answered 501: {call} is declined as not supported (accepted non-support)"
    if 300 <= status < 400:
        return "red", (
            f"answered {status} redirecting to {ex.location or '(no Location)'}; Segment does not "
            "follow redirects: use the final URL as the endpoint"
        )
    if status == 429:
        return "red", (
            f"answered 429 (rate limited, Retry-After: {ex.retry_after or 'none'}) during a functional "
            "test sending a few requests; throttle only far above normal traffic"
        )
    if status in (401, 403):
        return "red", (
            f"answered {status}: the review's credential was refused; check auth.scheme and "
            "auth.secret in the submission"
        )
    if status == 400:
        return "red", f"answered 400 to a Spec-valid {call} event: {_short(ex)}"
    return "red", f"answered {status}: {_short(ex)}"


def _short(ex: Exchange) -> str:
    text = " ".join(ex.body[:160].decode("utf-8", errors="replace").split())
    return text or "(empty body)"


# The suite -------------------------------------------------------------------------------------


def read_back_url(endpoint: str) -> str:
    """`https://api.acme.example/segment/v1/events` -> `https://api.acme.example/segment/v1/received`."""
    return urljoin(endpoint, READ_BACK_PATH)


def lost_fields(sent: Any, stored: Any, path: str = "") -> list[str]:
    """Paths of fields sent that are missing or different in what was stored (extras are fine)."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return [path or "(event)"]
        out = []
        for key, value in sent.items():
            sub = f"{path}.{key}" if path else key
            out += [sub] if key not in stored else lost_fields(value, stored[key], sub)
        return out
    if isinstance(sent, list):
        if not isinstance(stored, list) or len(stored) != len(sent):
            return [path]
        return [p for i, item in enumerate(sent) for p in lost_fields(item, stored[i], f"{path}.{i}")]
    return [] if sent == stored else [path]


@dataclass
class Suite:
    """The test suite for one destination component."""

    endpoint: Endpoint
    destination: Destination
    label: str
    factory: EventFactory
    settings: Settings
    user_id: str
    results: list[Result] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    delivered: list[dict[str, Any]] = field(default_factory=list)  # green events, for read-back

    @property
    def declared(self) -> set[str]:
        return set(self.destination.supported_calls)

    @property
    def limit(self) -> int:
        """Largest answer read (the grade names it when a partner sends more)."""
        return self.settings.e2e_max_response_bytes

    def _evidence(self, ex: Exchange, **extra: Any) -> dict[str, Any]:
        return {"component": self.destination.name, **extra, **ex.evidence(self.endpoint.redact)}

    def _say(self, text: str) -> str:
        return f"{self.label}{text}"

    async def run(self) -> None:
        probe_call = await self.calls()
        await self.probes(probe_call)
        reader = await self.read_back()
        await self.delete(reader)

    async def calls(self) -> str:
        events = {call: self.factory.call(call) for call in CALL_TYPES}
        semantic = {name: self.factory.semantic(name) for name in SEMANTIC}
        sent = await _gather(
            self.endpoint.post(self.destination.endpoint, e) for e in [*events.values(), *semantic.values()]
        )
        for (call, event), ex in zip(events.items(), sent):
            colour, why = grade(ex, call, self.declared, self.limit)
            check = CALL_CHECKS[call]
            evidence = self._evidence(ex, call=call, grade=colour)
            if colour == "red":
                self.results.append(check.failed(self._say(f"{call}: red, {why}"), **evidence))
                continue
            self.results.append(check.passed(self._say(f"{call}: {colour}, {why}"), **evidence))
            if colour == "green":
                self.accepted.add(call)
                self.delivered.append(event)
        details, reds = [], []
        for (name, event), ex in zip(semantic.items(), sent[len(events) :]):
            colour, why = grade(ex, "track", self.declared, self.limit)
            details.append(self._evidence(ex, event=name, grade=colour))
            if colour == "red":
                reds.append(f"{name}: {why}")
            elif colour == "green":
                self.delivered.append(event)
        if reds:
            self.results.append(
                SEMANTIC_EVENTS.failed(
                    self._say("red: " + "; ".join(reds)), component=self.destination.name, events=details
                )
            )
        else:
            colours = sorted({d["grade"] for d in details})
            self.results.append(
                SEMANTIC_EVENTS.passed(
                    self._say(f"{len(details)} semantic events: {' and '.join(colours)}"),
                    component=self.destination.name,
                    events=details,
                )
            )
        if self.accepted:
            self.results.append(
                ANY_ACCEPTED.passed(
                    self._say("accepted: " + ", ".join(sorted(self.accepted))),
                    component=self.destination.name,
                    accepted=sorted(self.accepted),
                )
            )
        else:
            self.results.append(
                ANY_ACCEPTED.failed(
                    self._say("no call type was accepted with 200/202; a destination must accept at least one"),
                    component=self.destination.name,
                )
            )
        for call in ("track", *CALL_TYPES):
            if call in self.accepted:
                return call
        return "track"

    async def probes(self, call: str) -> None:
        endpoint = self.destination.endpoint
        original = next((e for e in self.delivered if e["type"] == call), None) or self.factory.call(call)
        wrong = auth_headers(self.destination.auth, WRONG_SECRET)
        invalid = {k: v for k, v in self.factory.call(call).items() if k not in ("userId", "anonymousId")}
        oversized = self.factory.call(call)
        padding = "x" * (self.settings.volume_event_max_bytes + 8 * 1024)
        oversized["context"] = {**oversized.get("context", {}), "review_padding": padding}
        jobs: list[Awaitable[Exchange]] = [
            self.endpoint.post(endpoint, self.factory.call(call), headers=wrong),
            self.endpoint.post(endpoint, invalid),
            self.endpoint.post(endpoint, oversized),
            self.endpoint.post(endpoint, original),
        ]
        batch_events: list[dict[str, Any]] = []
        if self.destination.batch_endpoint:
            calls = sorted(self.accepted) or list(self.declared or CALL_TYPES)
            batch_events = [self.factory.call(c) for c in calls]
            if "track" in self.accepted:
                batch_events.append(self.factory.order_completed())
            jobs.append(
                self.endpoint.post(
                    self.destination.batch_endpoint, {"batch": batch_events, "sentAt": self.factory.timestamp()}
                )
            )
        bad, inv, big, again, *batch = await _gather(jobs)
        self._bad_credential(bad)
        self._invalid(inv)
        self._oversized(big)
        self._repeated(again, call)
        if batch:
            self._batch(batch[0], batch_events)
        else:
            self.results.append(
                BATCH.skipped(self._say("no batch_endpoint is declared"), component=self.destination.name)
            )

    def _bad_credential(self, ex: Exchange) -> None:
        evidence = self._evidence(ex)
        if ex.error is None and ex.status in (401, 403):
            self.results.append(
                BAD_CREDENTIAL.passed(self._say(f"a wrong credential was refused with {ex.status}"), **evidence)
            )
        elif ex.ok:
            self.results.append(
                BAD_CREDENTIAL.failed(
                    self._say(
                        f"an event sent with a wrong credential was accepted ({ex.status}): anyone who knows the "
                        "endpoint could write into a customer's account"
                    ),
                    **evidence,
                )
            )
        else:
            self.results.append(
                BAD_CREDENTIAL.failed(
                    self._say(f"a wrong credential got {ex.error or ex.status} instead of 401 or 403"), **evidence
                )
            )

    def _invalid(self, ex: Exchange) -> None:
        evidence = self._evidence(ex, defect="no userId and no anonymousId (SPEC-003)")
        if ex.error is None and ex.status == 400:
            self.results.append(
                INVALID_EVENT.passed(
                    self._say("an event without userId or anonymousId was refused with 400"), **evidence
                )
            )
        elif ex.ok:
            self.results.append(
                INVALID_EVENT.failed(
                    self._say(
                        f"an event without userId or anonymousId was accepted ({ex.status}) instead of refused with 400"
                    ),
                    **evidence,
                )
            )
        else:
            self.results.append(
                INVALID_EVENT.failed(
                    self._say(f"an event without userId or anonymousId got {ex.error or ex.status} instead of 400"),
                    **evidence,
                )
            )

    def _oversized(self, ex: Exchange) -> None:
        evidence = self._evidence(ex)
        if ex.error is None and not ex.too_large and ex.status in (400, 413):
            self.results.append(
                OVERSIZED_EVENT.passed(self._say(f"an event over 32 KB was refused with {ex.status}"), **evidence)
            )
        elif ex.ok:
            self.results.append(
                OVERSIZED_EVENT.failed(
                    self._say(
                        f"an event of {evidence['request']['bytes']:,} bytes (over 32 KB) was accepted silently ({ex.status})"
                    ),
                    **evidence,
                )
            )
        else:
            self.results.append(
                OVERSIZED_EVENT.failed(
                    self._say(f"an event over 32 KB got {ex.error or ex.status} instead of 400 or 413"), **evidence
                )
            )

    def _repeated(self, ex: Exchange, call: str) -> None:
        colour, why = grade(ex, call, self.declared, self.limit)
        evidence = self._evidence(ex, grade=colour)
        if colour == "red":
            self.results.append(
                REPEATED_MESSAGE.failed(self._say(f"re-sending a {call} with the same messageId: {why}"), **evidence)
            )
        else:
            self.results.append(
                REPEATED_MESSAGE.passed(self._say(f"re-sending a {call} with the same messageId {why}"), **evidence)
            )

    def _batch(self, ex: Exchange, events: list[dict[str, Any]]) -> None:
        colour, why = grade(ex, "batch", set(), self.limit)
        evidence = self._evidence(ex, events_in_batch=len(events))
        if colour == "green":
            self.results.append(BATCH.passed(self._say(f"a batch of {len(events)} events: {why}"), **evidence))
            self.delivered.extend(events)
        else:
            self.results.append(BATCH.failed(self._say(f"a batch of {len(events)} events: {why}"), **evidence))

    async def read_back(self) -> str | None:
        """Compare stored events with those sent; the read-back URL when the partner offers one."""
        url = read_back_url(self.destination.endpoint)
        component = self.destination.name
        if not self.delivered:
            self.results.append(
                READ_BACK.skipped(self._say("no event was accepted, so none can be read back"), component=component)
            )
            return None
        first = await self.endpoint.get(url, {"messageId": str(self.delivered[0].get("messageId"))})
        if not _reads_back(first):
            reason = first.error or (f"answered {first.status}" if first.status else "no answer")
            self.results.append(
                READ_BACK.skipped(
                    self._say(
                        f"no read-back endpoint at {url} ({reason}); compare stored fields by hand in the partner's tool"
                    ),
                    component=component,
                    read_back_url=url,
                    status=first.status,
                )
            )
            return None
        rest = await _gather(self.endpoint.get(url, {"messageId": str(e.get("messageId"))}) for e in self.delivered[1:])
        problems = []
        for event, ex in zip(self.delivered, [first, *rest]):
            found = (ex.json() or {}).get("events") if _reads_back(ex) else None
            name = event.get("event") or event["type"]
            if not found:
                problems.append({"messageId": event.get("messageId"), "event": name, "lost": ["(not stored)"]})
                continue
            lost = lost_fields(event, found[0])
            if lost:
                problems.append({"messageId": event.get("messageId"), "event": name, "lost": lost[:20]})
        if problems:
            summary = "; ".join(f"{p['event']}: {', '.join(p['lost'][:4])}" for p in problems[:5])
            self.results.append(
                READ_BACK.failed(
                    self._say(
                        f"{len(problems)} of {len(self.delivered)} events came back without fields they were sent with: {summary}"
                    ),
                    component=component,
                    read_back_url=url,
                    events=problems[:10],
                )
            )
        else:
            self.results.append(
                READ_BACK.passed(
                    self._say(f"{len(self.delivered)} events read back with every field sent"),
                    component=component,
                    read_back_url=url,
                )
            )
        return url

    async def delete(self, reader: str | None) -> None:
        event = {
            "type": "delete",
            "userId": self.user_id,
            "messageId": str(uuid.UUID(int=self.factory.rng.getrandbits(128))),
            "timestamp": self.factory.timestamp(),
            "context": {"library": {"name": "partner-review", "version": "0.1.0"}},
        }
        ex = await self.endpoint.post(self.destination.endpoint, event)
        colour, why = grade(ex, "delete", set(), self.limit)
        evidence = self._evidence(ex)
        if colour == "yellow":
            why = "answered 501, but partners must honour delete (GDPR/CCPA) requests"
        if colour != "green":
            self.results.append(DELETE.failed(self._say(f"a delete for userId {self.user_id}: {why}"), **evidence))
            return
        if reader is None:
            self.results.append(
                DELETE.passed(
                    self._say(
                        f"a delete for userId {self.user_id} was accepted ({ex.status}); erasure not verified (no read-back)"
                    ),
                    **evidence,
                )
            )
            return
        check = await self.endpoint.get(reader, {"userId": self.user_id})
        left = (check.json() or {}).get("events") if _reads_back(check) else None
        if left:
            self.results.append(
                DELETE.failed(
                    self._say(
                        f"a delete for userId {self.user_id} was accepted but {len(left)} of its events are still stored"
                    ),
                    **evidence,
                    read_back=check.evidence(self.endpoint.redact),
                )
            )
        else:
            self.results.append(
                DELETE.passed(
                    self._say(f"a delete for userId {self.user_id} was accepted and its events are gone"), **evidence
                )
            )


def _reads_back(ex: Exchange) -> bool:
    data = ex.json() if ex.ok and not ex.html else None
    return isinstance(data, dict) and isinstance(data.get("events"), list)


async def _gather(jobs: Iterable[Awaitable[Exchange]]) -> list[Exchange]:
    return list(await asyncio.gather(*jobs))


async def test_destination(
    destination: Destination, http: httpx.AsyncClient, *, label: str = "", seed: int | None = None
) -> tuple[list[Result], set[str]]:
    """The suite for one destination: its results and the call types it accepted (green)."""
    settings = get_settings()
    seed = random.SystemRandom().getrandbits(32) if seed is None else seed
    user_id = f"partner-review-{seed:08x}"
    suite = Suite(
        endpoint=Endpoint(http, destination, settings),
        destination=destination,
        label=label,
        # Events dated now, as Segment's suite sends them: a destination may refuse old ones (stage replay asks).
        factory=EventFactory(seed, user_id=user_id, start=datetime.now(UTC)),
        settings=settings,
        user_id=user_id,
    )
    await suite.run()
    return suite.results, suite.accepted


async def test_destinations(submission: Submission, *, offline: bool = False) -> tuple[list[Result], set[str]]:
    """Results for every destination component, and the call types the endpoints accepted (green)."""
    destinations = submission.destinations
    if offline:
        return [
            c.skipped("offline: the end-to-end suite sends events to the endpoint; run without --offline")
            for c in CHECKS
        ], set()
    if not destinations:
        return [c.skipped("the submission has no destination component") for c in CHECKS], set()
    settings = get_settings()
    results: list[Result] = []
    accepted: set[str] = set()
    async with client(
        timeout=httpx.Timeout(settings.e2e_timeout_seconds),
        max_seconds=settings.e2e_timeout_seconds,
        max_response_bytes=settings.e2e_max_response_bytes,
    ) as http:
        outcomes = await asyncio.gather(
            *(test_destination(d, http, label=f"{d.name}: " if len(destinations) > 1 else "") for d in destinations)
        )
    for found, calls in outcomes:
        results += found
        accepted |= calls
    return results, accepted


# Not pytest tests, whatever their names: importing them into a test module must not collect them.
test_destination.__test__ = False  # type: ignore[attr-defined]
test_destinations.__test__ = False  # type: ignore[attr-defined]
