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
import random
import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from partner_review.models.checks import Result
from partner_review.models.events import SEMANTIC, EventFactory
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Destination, Submission
from partner_review.tasks.e2e.checks import (
    ANY_ACCEPTED,
    BAD_CREDENTIAL,
    BATCH,
    CALL_CHECKS,
    CHECKS,
    DELETE,
    INVALID_EVENT,
    OVERSIZED_EVENT,
    READ_BACK,
    READ_BACK_PATH,
    REPEATED_MESSAGE,
    SEMANTIC_EVENTS,
    WRONG_SECRET,
)
from partner_review.tasks.e2e.exchange import Endpoint, Exchange, auth_headers
from partner_review.tasks.e2e.grading import grade
from partner_review.tasks.net.client import client
from partner_review.tasks.runner import stage

__all__ = ["CHECKS", "auth_headers", "lost_fields", "read_back_url", "run_e2e_suite", "run_end_to_end"]

# The suite -------------------------------------------------------------------------------------


def read_back_url(endpoint: str) -> str:
    """`https://api.acme.example/segment/v1/events` -> `https://api.acme.example/segment/v1/received`."""
    return urljoin(endpoint, READ_BACK_PATH)


def lost_fields(sent: Any, stored: Any, path: str = "") -> list[str]:
    """Paths of fields sent that are missing or different in what was stored (extras are fine)."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return [path or "(event)"]
        out: list[str] = []
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
                BATCH.not_applicable(self._say("no batch_endpoint is declared"), component=self.destination.name)
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
        if colour == "yellow":  # a 501 declines a call type; a declared batch endpoint has none to decline
            why = "answered 501 (not implemented), but a declared batch_endpoint must take batches; fix it or remove it"
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


async def run_end_to_end(
    destination: Destination,
    http: httpx.AsyncClient,
    *,
    label: str = "",
    seed: int | None = None,
    settings: Settings | None = None,
) -> tuple[list[Result], set[str]]:
    """The suite for one destination: its results and the call types it accepted (green)."""
    settings = given_or_current(settings)
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


@stage(CHECKS, network_use="sends events to the partner's endpoint", nothing=set)
async def run_e2e_suite(
    submission: Submission, *, offline: bool = False, settings: Settings | None = None
) -> tuple[list[Result], set[str]]:
    """Results for every destination component, and the call types the endpoints accepted (green)."""
    destinations = submission.destinations
    settings = given_or_current(settings)
    results: list[Result] = []
    accepted: set[str] = set()
    async with client(
        settings=settings,
        timeout=httpx.Timeout(settings.e2e_timeout_seconds),
        max_seconds=settings.e2e_timeout_seconds,
        max_response_bytes=settings.e2e_max_response_bytes,
    ) as http:
        outcomes = await asyncio.gather(
            *(
                run_end_to_end(d, http, label=f"{d.name}: " if len(destinations) > 1 else "", settings=settings)
                for d in destinations
            )
        )
    for found, calls in outcomes:
        results += found
        accepted |= calls
    return results, accepted
