"""Stage `replay`: whether a destination takes history sent again later (Segment's "replay compatibility info").

A replay delivers events long after they happened: with old timestamps, out of order and more than
once (the same messageIds). Against each destination, after e2e, one call type it accepted is sent as:
a current event (the control), events 1 day, 30 days and 1 year old, a batch of historical events out
of order (one by one in that order without a batch endpoint), then the dated events again with their
messageIds. Each is graded accepted (2xx) or refused (status and message). Where the partner offers
the read-back endpoint (docs/e2e.md), the stored events say whether they were kept, kept once, and
whether their order follows `timestamp` or arrival.

Information for the reviewer and the partner, never a blocker: RPL-007 answers "replay compatible:
yes / no / partly" and why, and `replay_answer` gives that answer for a whole review.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from partner_review.models.checks import Check, Result, register
from partner_review.models.events import EventFactory
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Destination, Submission
from partner_review.tasks.e2e.checks import reads_back as _reads_back
from partner_review.tasks.e2e.suite import Endpoint, Exchange, grade, read_back_url
from partner_review.tasks.net.client import client
from partner_review.tasks.runner import stage

AGES: dict[str, timedelta] = {"1 day": timedelta(days=1), "30 days": timedelta(days=30), "1 year": timedelta(days=365)}
# Days old, in sending order: neither oldest-first nor newest-first, so arrival and timestamp orders differ.
OUT_OF_ORDER_DAYS = (7, 2, 30, 1, 14)
RATE_LIMIT_RETRIES = 2
Answer = Literal["yes", "no", "partly"]

_AGE_REMEDY = (
    "Accept events whose timestamp is {age} old with 200/202 and store them at that time, or say in the "
    "documentation how far back a replay may go."
)
AGE_CHECKS: dict[str, Check] = {
    age: register(
        f"RPL-00{i}",
        f"An event {age} old is accepted",
        stage="replay",
        severity="info",
        network=True,
        remedy=_AGE_REMEDY.format(age=age),
    )
    for i, age in enumerate(AGES, 1)
}
OUT_OF_ORDER = register(
    "RPL-004",
    "A batch of historical events out of order is accepted",
    stage="replay",
    severity="info",
    network=True,
    remedy="Accept events in any order; a replay does not send history oldest first.",
)
RESENT = register(
    "RPL-005",
    "Historical events sent again with the same messageIds are accepted and stored once",
    stage="replay",
    severity="warning",
    network=True,
    remedy="A replay repeats events: de-duplicate on messageId and answer 200 again instead of an error.",
)
STORED_ORDER = register(
    "RPL-006",
    "Stored events follow their timestamp, not their arrival",
    stage="replay",
    severity="info",
    network=True,
    remedy="Order (or at least date) stored events by `timestamp`, so replayed history lands where it happened.",
)
COMPATIBLE = register(
    "RPL-007",
    "Replay compatible: historical data sent again later is accepted",
    stage="replay",
    severity="info",
    network=True,
    remedy="Accept old, out-of-order and repeated events (see RPL-001 to RPL-006), or document the limits.",
)
CHECKS: tuple[Check, ...] = (*AGE_CHECKS.values(), OUT_OF_ORDER, RESENT, STORED_ORDER, COMPATIBLE)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Replay:
    """The replay probes for one destination."""

    endpoint: Endpoint
    destination: Destination
    call: str
    factory: EventFactory
    settings: Settings
    now: datetime
    label: str = ""
    results: list[Result] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the answer is not a plain "yes"
    notes: list[str] = field(default_factory=list)  # what could not be observed
    taken: dict[str, Exchange] = field(default_factory=dict)  # the dated events accepted, by age

    def _evidence(self, ex: Exchange | None = None, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"component": self.destination.name, **extra}
        return {**out, **ex.evidence(self.endpoint.redact)} if ex else out

    def _say(self, text: str) -> str:
        return f"{self.label}{text}"

    def event(self, days_old: timedelta) -> dict[str, Any]:
        """An event of the probe's call type as it happened `days_old` ago (timestamp and sentAt)."""
        stamp = _stamp(self.now - days_old)
        return {**self.factory.call(self.call), "timestamp": stamp, "sentAt": stamp}

    async def send(self, url: str, payload: Any) -> Exchange:
        """One request; a 429 is waited out (Retry-After, at most the answer deadline) and sent again."""
        ex = await self.endpoint.post(url, payload)
        for _ in range(RATE_LIMIT_RETRIES):
            if ex.status != 429:
                break
            await asyncio.sleep(min(_seconds(ex.retry_after), self.settings.e2e_timeout_seconds))
            ex = await self.endpoint.post(url, payload)
        return ex

    def accepted(self, ex: Exchange) -> tuple[bool, str]:
        colour, why = grade(ex, self.call, set(), self.settings.e2e_max_response_bytes)
        return colour == "green", why

    async def run(self) -> None:
        control = self.event(timedelta(0))
        ex = await self.send(self.destination.endpoint, control)
        ok, why = self.accepted(ex)
        if not ok:
            reason = f"a current {self.call} event was not accepted ({why}), so refusals cannot be put down to age"
            self.results += [c.errored(self._say(reason), **self._evidence(ex)) for c in CHECKS]
            return
        dated = {age: self.event(delta) for age, delta in AGES.items()}
        taken = await self.ages(dated)
        batch = await self.out_of_order()
        resent = await self.resend([dated[age] for age in taken])
        stored = await self.read_back()
        self.judge_ages(dated, taken, stored)
        self.judge_resent(resent, stored)
        self.judge_order(batch, stored)
        await self.delete()
        self.summarise()

    async def ages(self, dated: dict[str, dict[str, Any]]) -> dict[str, Exchange]:
        """Send each dated event; grade the refused ones now (the accepted wait for the read-back)."""
        taken: dict[str, Exchange] = {}
        for age, event in dated.items():
            ex = await self.send(self.destination.endpoint, event)
            ok, why = self.accepted(ex)
            if ok:
                taken[age] = ex
                continue
            self.problems.append(f"events {age} old are not accepted ({why})")
            self.results.append(
                AGE_CHECKS[age].failed(
                    self._say(f"an event {age} old (timestamp {event['timestamp']}) was not accepted: {why}"),
                    **self._evidence(ex, timestamp=event["timestamp"]),
                )
            )
        self.taken = taken
        return taken

    async def out_of_order(self) -> list[dict[str, Any]] | None:
        """The out-of-order events when the destination took them, else None (RPL-004 graded here)."""
        events = [self.event(timedelta(days=d)) for d in OUT_OF_ORDER_DAYS]
        stamps = [e["timestamp"] for e in events]
        if self.destination.batch_endpoint:
            exchanges = [
                await self.send(self.destination.batch_endpoint, {"batch": events, "sentAt": _stamp(self.now)})
            ]
            how = f"a batch of {len(events)} events"
        else:
            exchanges = [await self.send(self.destination.endpoint, e) for e in events]
            how = f"{len(events)} events sent one by one (no batch_endpoint)"
        for ex in exchanges:
            ok, why = self.accepted(ex)
            if not ok:
                self.problems.append(f"{how} out of order were not accepted ({why})")
                self.results.append(
                    OUT_OF_ORDER.failed(
                        self._say(f"{how}, timestamps out of order, was not accepted: {why}"),
                        **self._evidence(ex, timestamps=stamps),
                    )
                )
                return None
        self.results.append(
            OUT_OF_ORDER.passed(
                self._say(f"{how} dated {', '.join(f'{d} days' for d in OUT_OF_ORDER_DAYS)} ago was accepted"),
                **self._evidence(exchanges[-1], timestamps=stamps),
            )
        )
        return events

    async def resend(self, events: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Exchange]]:
        return [(e, await self.send(self.destination.endpoint, e)) for e in events]

    async def read_back(self) -> list[dict[str, Any]] | None:
        """The replay user's stored events, in the order the partner gives them (None: no read-back)."""
        url = read_back_url(self.destination.endpoint)
        ex = await self.endpoint.get(url, {"userId": str(self.factory.user_id)})
        if not _reads_back(ex):
            reason = ex.error or (f"answered {ex.status}" if ex.status else "no answer")
            self.notes.append(f"no read-back at {url} ({reason}): storage and stored order not observed")
            return None
        events = (ex.json() or {})["events"]
        return [e for e in events if isinstance(e, dict)]

    def judge_ages(
        self, dated: dict[str, dict[str, Any]], taken: dict[str, Exchange], stored: list[dict[str, Any]] | None
    ) -> None:
        kept = {_message_id(e) for e in stored or []}
        for age, ex in taken.items():
            event = dated[age]
            evidence = self._evidence(ex, timestamp=event["timestamp"])
            if stored is None:
                self.results.append(
                    AGE_CHECKS[age].passed(
                        self._say(
                            f"an event {age} old was accepted ({ex.status}); storage not verified (no read-back)"
                        ),
                        **evidence,
                    )
                )
            elif event["messageId"] in kept:
                self.results.append(
                    AGE_CHECKS[age].passed(self._say(f"an event {age} old was accepted and stored"), **evidence)
                )
            else:
                self.problems.append(f"events {age} old are accepted but not stored")
                self.results.append(
                    AGE_CHECKS[age].failed(
                        self._say(f"an event {age} old was accepted ({ex.status}) but is not in the read-back"),
                        **evidence,
                    )
                )

    def judge_resent(self, resent: list[tuple[dict[str, Any], Exchange]], stored: list[dict[str, Any]] | None) -> None:
        if not resent:
            self.results.append(
                RESENT.skipped(
                    self._say("no dated event was accepted, so none could be sent again"), **self._evidence()
                )
            )
            return
        refused = [(e, ex, why) for e, ex in resent for ok, why in [self.accepted(ex)] if not ok]
        if refused:
            event, ex, why = refused[0]
            self.problems.append(f"events sent again with the same messageId are not accepted ({why})")
            self.results.append(
                RESENT.failed(
                    self._say(f"{len(refused)} of {len(resent)} events sent again with their messageId: {why}"),
                    **self._evidence(ex, messageId=event["messageId"]),
                )
            )
            return
        ids = [e["messageId"] for e, _ in resent]
        last = resent[-1][1]
        if stored is None:
            self.results.append(
                RESENT.passed(
                    self._say(
                        f"{len(resent)} events sent again with their messageId were accepted; "
                        "de-duplication not verified (no read-back)"
                    ),
                    **self._evidence(last, messageIds=ids),
                )
            )
            return
        copies = {i: sum(1 for e in stored if _message_id(e) == i) for i in ids}
        doubled = {i: n for i, n in copies.items() if n > 1}
        if doubled:
            self.problems.append("events sent again are stored twice")
            self.results.append(
                RESENT.failed(
                    self._say(f"{len(doubled)} of {len(ids)} events sent again are stored more than once"),
                    **self._evidence(last, copies=doubled),
                )
            )
        else:
            self.results.append(
                RESENT.passed(
                    self._say(f"{len(ids)} events sent again with their messageId were accepted and stored once"),
                    **self._evidence(last, messageIds=ids),
                )
            )

    def judge_order(self, batch: list[dict[str, Any]] | None, stored: list[dict[str, Any]] | None) -> None:
        if batch is None:
            self.results.append(
                STORED_ORDER.skipped(self._say("the out-of-order events were refused: no order to read back"))
            )
            return
        if stored is None:
            self.results.append(
                STORED_ORDER.skipped(
                    self._say(
                        f"no read-back endpoint at {read_back_url(self.destination.endpoint)}; "
                        "the stored order cannot be observed"
                    ),
                    **self._evidence(),
                )
            )
            return
        sent = [e["messageId"] for e in batch]
        seen = [m for e in stored if (m := _message_id(e)) is not None and m in set(sent)]
        by_time = [e["messageId"] for e in sorted(batch, key=lambda e: str(e["timestamp"]))]
        evidence = self._evidence(arrival=sent, by_timestamp=by_time, stored=seen)
        if sorted(seen) != sorted(sent):
            self.problems.append("out-of-order events are not all stored")
            self.results.append(
                STORED_ORDER.failed(
                    self._say(f"{len(seen)} of {len(sent)} out-of-order events are in the read-back"), **evidence
                )
            )
        elif seen in (by_time, by_time[::-1]):
            newest = " (newest first)" if seen == by_time[::-1] else ""
            self.results.append(
                STORED_ORDER.passed(self._say(f"the stored order follows timestamp{newest}"), **evidence)
            )
        elif seen in (sent, sent[::-1]):
            self.problems.append("the stored order follows arrival, not timestamp")
            self.results.append(
                STORED_ORDER.failed(
                    self._say(
                        "the stored order follows arrival, not timestamp: replayed history lands after newer data"
                    ),
                    **evidence,
                )
            )
        else:
            self.problems.append("the stored order follows neither timestamp nor arrival")
            self.results.append(
                STORED_ORDER.failed(self._say("the stored order follows neither timestamp nor arrival"), **evidence)
            )

    async def delete(self) -> None:
        """Erase the replay user's events (not graded: E2E-015 grades delete)."""
        event = {
            "type": "delete",
            "userId": self.factory.user_id,
            "messageId": self.factory.message_id(),
            "timestamp": _stamp(self.now),
            "context": {"library": {"name": "partner-review", "version": "0.1.0"}},
        }
        await self.endpoint.post(self.destination.endpoint, event)

    def summarise(self) -> None:
        answer: Answer = "yes" if not self.problems else ("no" if not self.taken else "partly")
        why = self.problems or ["events 1 day, 30 days and 1 year old, out of order and sent again were all accepted"]
        why = why + self.notes
        message = self._say(f"replay compatible: {answer} ({'; '.join(why)})")
        evidence = self._evidence(replay_compatible=answer, why=why, call=self.call)
        self.results.append(
            COMPATIBLE.passed(message, **evidence) if answer == "yes" else COMPATIBLE.failed(message, **evidence)
        )


def _message_id(event: dict[str, Any]) -> str | None:
    """A stored event's messageId when it is a string (a partner's read-back may hold anything)."""
    value = event.get("messageId")
    return value if isinstance(value, str) else None


def _seconds(retry_after: str | None) -> float:
    try:
        return max(0.0, float(retry_after or 1))
    except ValueError:
        return 1.0


def probe_call(destination: Destination, accepted_calls: set[str] | None) -> str | None:
    """The call type to replay: track when it can be, else the first one e2e accepted (or declared)."""
    candidates = accepted_calls if accepted_calls else set(destination.supported_calls or CALL_TYPES)
    if accepted_calls is not None and not accepted_calls:
        return None
    for call in ("track", *CALL_TYPES):
        if call in candidates:
            return call
    return None


async def check_replay_of(
    destination: Destination,
    http: httpx.AsyncClient,
    *,
    accepted_calls: set[str] | None = None,
    label: str = "",
    seed: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> list[Result]:
    """The replay probes against one destination."""
    call = probe_call(destination, accepted_calls)
    if call is None:
        return [c.skipped(f"{label}e2e accepted no call type, so a replay cannot be measured") for c in CHECKS]
    settings = given_or_current(settings)
    seed = random.SystemRandom().getrandbits(32) if seed is None else seed
    replay = Replay(
        endpoint=Endpoint(http, destination, settings),
        destination=destination,
        call=call,
        factory=EventFactory(seed, user_id=f"partner-review-replay-{seed:08x}"),
        settings=settings,
        now=now or datetime.now(UTC),
        label=label,
    )
    await replay.run()
    return replay.results


@stage(CHECKS, network_use="sends replayed events to the partner's endpoint")
async def check_replay(
    submission: Submission,
    *,
    accepted_calls: set[str] | None = None,
    offline: bool = False,
    settings: Settings | None = None,
) -> list[Result]:
    """RPL-* results for every destination component. `accepted_calls`: what e2e accepted (None: not run)."""
    destinations = submission.destinations
    settings = given_or_current(settings)
    async with client(
        settings=settings,
        timeout=httpx.Timeout(settings.e2e_timeout_seconds),
        max_seconds=settings.e2e_timeout_seconds,
        max_response_bytes=settings.e2e_max_response_bytes,
    ) as http:
        found = await asyncio.gather(
            *(
                check_replay_of(
                    d,
                    http,
                    accepted_calls=accepted_calls,
                    label=f"{d.name}: " if len(destinations) > 1 else "",
                    settings=settings,
                )
                for d in destinations
            )
        )
    return [r for results in found for r in results]


def replay_answer(results: Iterable[Result]) -> tuple[Answer, str] | None:
    """ "yes", "no" or "partly" for the whole review, and why; None when no destination was measured."""
    measured = [r for r in results if r.check == COMPATIBLE.id and r.outcome in ("pass", "warn")]
    if not measured:
        return None
    answers: set[Answer] = {r.evidence["replay_compatible"] for r in measured}
    answer: Answer = answers.pop() if len(answers) == 1 else "partly"
    several = len(measured) > 1
    why = [
        (f"{r.evidence.get('component')}: " if several else "") + "; ".join(r.evidence.get("why") or [])
        for r in measured
    ]
    return answer, " | ".join(why)


def replay_sentence(results: Iterable[Result]) -> str | None:
    """The report's line, `Replay compatible: partly (why)`; None when replay was not measured."""
    found = replay_answer(results)
    if found is None:
        return None
    answer, why = found
    return f"Replay compatible: {answer} ({why})"
