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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from partner_review.models.checks import Result
from partner_review.models.events import SEMANTIC, EventFactory
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Destination, Submission
from partner_review.tasks.e2e.checks import (
    CHECKS,
    WRONG_SECRET,
    Trial,
    batch_grade,
    delete_grade,
    green_calls,
    lost_fields,
    read_back_url,
    reads_back,
)
from partner_review.tasks.e2e.exchange import Endpoint, Exchange, auth_headers
from partner_review.tasks.e2e.grading import grade
from partner_review.tasks.net.client import client
from partner_review.tasks.runner import Scope, run_objects, stage

__all__ = [
    "CHECKS",
    "Endpoint",
    "Exchange",
    "auth_headers",
    "grade",
    "lost_fields",
    "read_back_url",
    "reads_back",
    "run_e2e_suite",
    "run_end_to_end",
]

# The suite: the requests, sent once; the checks judge what came back (tasks/e2e/checks.py) ------


@dataclass
class Suite:
    """The test suite for one destination component: sends its requests and gathers the answers."""

    endpoint: Endpoint
    destination: Destination
    label: str
    factory: EventFactory
    settings: Settings
    user_id: str

    @property
    def declared(self) -> set[str]:
        return set(self.destination.supported_calls)

    @property
    def limit(self) -> int:
        """Largest answer read (the grade names it when a partner sends more)."""
        return self.settings.e2e_max_response_bytes

    def _green(self, ex: Exchange, call: str) -> bool:
        return grade(ex, call, self.declared, self.limit)[0] == "green"

    async def run(self) -> Trial:
        """Every request of the suite; what the destination accepted decides what is sent next."""
        events = {call: self.factory.call(call) for call in CALL_TYPES}
        semantic = {name: self.factory.semantic(name) for name in SEMANTIC}
        sent = await _gather(
            self.endpoint.post(self.destination.endpoint, e) for e in [*events.values(), *semantic.values()]
        )
        calls = dict(zip(events, sent))
        answers = dict(zip(semantic, sent[len(events) :]))
        accepted = green_calls(calls, self.declared, self.limit)
        delivered = [events[call] for call in accepted]
        delivered += [semantic[name] for name, ex in answers.items() if self._green(ex, "track")]
        call = next((c for c in ("track", *CALL_TYPES) if c in accepted), "track")
        bad, invalid, oversized, repeated, batch, batch_events = await self.probes(call, accepted, delivered)
        if batch is not None and batch_grade(batch, self.limit)[0] == "green":
            delivered.extend(batch_events)
        read_backs = await self.read_back(delivered)
        deleted = await self.endpoint.post(self.destination.endpoint, self.delete_event())
        erased = None
        if delete_grade(deleted, self.limit)[0] == "green" and read_backs and reads_back(read_backs[0]):
            erased = await self.endpoint.get(read_back_url(self.destination.endpoint), {"userId": self.user_id})
        return Trial(
            destination=self.destination,
            redact=self.endpoint.redact,
            limit=self.limit,
            user_id=self.user_id,
            calls=calls,
            semantic=answers,
            probe_call=call,
            bad_credential=bad,
            invalid=invalid,
            oversized=oversized,
            repeated=repeated,
            batch=batch,
            batch_events=len(batch_events),
            delete=deleted,
            label=self.label,
            delivered=tuple(delivered),
            read_backs=tuple(read_backs),
            erased=erased,
        )

    async def probes(
        self, call: str, accepted: list[str], delivered: list[dict[str, Any]]
    ) -> tuple[Exchange, Exchange, Exchange, Exchange, Exchange | None, list[dict[str, Any]]]:
        """The negative probes (wrong credential, invalid, oversized, repeated messageId) and the batch."""
        endpoint = self.destination.endpoint
        original = next((e for e in delivered if e["type"] == call), None) or self.factory.call(call)
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
            calls = sorted(accepted) or list(self.declared or CALL_TYPES)
            batch_events = [self.factory.call(c) for c in calls]
            if "track" in accepted:
                batch_events.append(self.factory.order_completed())
            jobs.append(
                self.endpoint.post(
                    self.destination.batch_endpoint, {"batch": batch_events, "sentAt": self.factory.timestamp()}
                )
            )
        bad, inv, big, again, *batch = await _gather(jobs)
        return bad, inv, big, again, (batch[0] if batch else None), batch_events

    async def read_back(self, delivered: list[dict[str, Any]]) -> list[Exchange]:
        """The stored copy of each delivered event (only the first when there is no read-back endpoint)."""
        if not delivered:
            return []
        url = read_back_url(self.destination.endpoint)
        first = await self.endpoint.get(url, {"messageId": str(delivered[0].get("messageId"))})
        if not reads_back(first):
            return [first]
        rest = await _gather(self.endpoint.get(url, {"messageId": str(e.get("messageId"))}) for e in delivered[1:])
        return [first, *rest]

    def delete_event(self) -> dict[str, Any]:
        return {
            "type": "delete",
            "userId": self.user_id,
            "messageId": str(uuid.UUID(int=self.factory.rng.getrandbits(128))),
            "timestamp": self.factory.timestamp(),
            "context": {"library": {"name": "partner-review", "version": "0.1.0"}},
        }


async def _gather(jobs: Iterable[Awaitable[Exchange]]) -> list[Exchange]:
    return list(await asyncio.gather(*jobs))


async def run_end_to_end(
    destination: Destination,
    http: httpx.AsyncClient,
    *,
    label: str = "",
    seed: int | None = None,
    settings: Settings | None = None,
    scope: Scope | None = None,
) -> tuple[list[Result], set[str]]:
    """The suite for one destination: its results and the call types it accepted (green). The
    requests are sent first; the checks judge the answers afterwards, off the timed path."""
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
    trial = await suite.run()
    scope = scope or Scope(components=frozenset({"app", "destination"}))
    return run_objects(CHECKS, trial, None, scope), trial.accepted


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
                run_end_to_end(
                    d,
                    http,
                    label=f"{d.name}: " if len(destinations) > 1 else "",
                    settings=settings,
                    scope=Scope.of(submission, offline=offline),
                )
                for d in destinations
            )
        )
    for found, calls in outcomes:
        results += found
        accepted |= calls
    return results, accepted
