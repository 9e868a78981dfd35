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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from partner_review.models.checks import Check, Result, declare
from partner_review.models.events import EventFactory
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Destination, Submission
from partner_review.tasks.e2e.checks import read_back_url, reads_back
from partner_review.tasks.e2e.exchange import Endpoint, Exchange, Redactor
from partner_review.tasks.e2e.grading import grade
from partner_review.tasks.net.client import client
from partner_review.tasks.runner import Scope, run_objects, stage

AGES: dict[str, timedelta] = {"1 day": timedelta(days=1), "30 days": timedelta(days=30), "1 year": timedelta(days=365)}
# Days old, in sending order: neither oldest-first nor newest-first, so arrival and timestamp orders differ.
OUT_OF_ORDER_DAYS = (7, 2, 30, 1, 14)
RATE_LIMIT_RETRIES = 2
Answer = Literal["yes", "no", "partly"]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Replayed:
    """The subject of the replay checks: what one destination answered to the replayed events.

    `control` is the current event sent first; when it was refused nothing else was sent."""

    destination: Destination
    call: str  # the call type replayed
    redact: Redactor
    limit: int  # the largest answer read (e2e_max_response_bytes)
    control: Exchange
    label: str = ""
    dated: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # the dated events, by age (AGES)
    answers: Mapping[str, Exchange] = field(default_factory=dict)  # their answers, by age
    out_of_order: tuple[dict[str, Any], ...] = ()  # the historical events, in sending order
    batched: bool = False  # sent as one batch (else one by one)
    out_of_order_answers: tuple[Exchange, ...] = ()
    resent: tuple[tuple[dict[str, Any], Exchange], ...] = ()  # the accepted dated events sent again
    read_back: Exchange | None = None  # the replay user's stored events (docs/e2e.md)

    def accepted(self, ex: Exchange) -> tuple[bool, str]:
        colour, why = grade(ex, self.call, set(), self.limit)
        return colour == "green", why

    @property
    def control_refused(self) -> str | None:
        """Why the current event was not accepted, or None when it was."""
        ok, why = self.accepted(self.control)
        return None if ok else why

    @property
    def taken(self) -> list[str]:
        """The ages whose event was accepted, in AGES order."""
        return [age for age, ex in self.answers.items() if self.accepted(ex)[0]]

    @property
    def read_back_url(self) -> str:
        return read_back_url(self.destination.endpoint)

    @property
    def stored(self) -> list[dict[str, Any]] | None:
        """The replay user's stored events, in the order the partner gives them (None: no read-back)."""
        if self.read_back is None or not reads_back(self.read_back):
            return None
        return [e for e in (self.read_back.json() or {})["events"] if isinstance(e, dict)]

    @property
    def notes(self) -> list[str]:
        """What could not be observed."""
        ex = self.read_back
        if ex is None or reads_back(ex):
            return []
        reason = ex.error or (f"answered {ex.status}" if ex.status else "no answer")
        return [f"no read-back at {self.read_back_url} ({reason}): storage and stored order not observed"]

    @property
    def how(self) -> str:
        n = len(self.out_of_order)
        return f"a batch of {n} events" if self.batched else f"{n} events sent one by one (no batch_endpoint)"

    @property
    def out_of_order_refused(self) -> tuple[Exchange, str] | None:
        """The first answer refusing the out-of-order events, and why; None when they were accepted."""
        for ex in self.out_of_order_answers:
            ok, why = self.accepted(ex)
            if not ok:
                return ex, why
        return None

    def evidence(self, ex: Exchange | None = None, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"component": self.destination.name, **extra}
        return {**out, **ex.evidence(self.redact)} if ex else out

    def say(self, text: str) -> str:
        return f"{self.label}{text}"


Judged = tuple[Result, str | None]  # a result and the problem it adds to the replay answer (RPL-007)


class ReplayCheck(Check[Replayed]):
    """A replay check: errored when the current event was refused (refusals cannot be put down to
    age), else its `judge`, which also says what problem it finds for the replay answer."""

    def run(self, subject: Replayed, ctx: object = None) -> Result:
        why = subject.control_refused
        if why is not None:
            reason = f"a current {subject.call} event was not accepted ({why}), so refusals cannot be put down to age"
            return self.errored(subject.say(reason), **subject.evidence(subject.control))
        return self.judge(subject)[0]

    def judge(self, subject: Replayed) -> Judged:
        raise NotImplementedError


@dataclass(frozen=True)
class AgeAccepted(ReplayCheck):
    """RPL-001 to RPL-003: the event `age` old accepted, and stored when the read-back says."""

    age: str = ""

    def judge(self, subject: Replayed) -> Judged:
        age, event, ex = self.age, subject.dated[self.age], subject.answers[self.age]
        ok, why = subject.accepted(ex)
        if not ok:
            return (
                self.failed(
                    subject.say(f"an event {age} old (timestamp {event['timestamp']}) was not accepted: {why}"),
                    **subject.evidence(ex, timestamp=event["timestamp"]),
                ),
                f"events {age} old are not accepted ({why})",
            )
        stored = subject.stored
        evidence = subject.evidence(ex, timestamp=event["timestamp"])
        if stored is None:
            message = f"an event {age} old was accepted ({ex.status}); storage not verified (no read-back)"
            return self.passed(subject.say(message), **evidence), None
        if event["messageId"] in {_message_id(e) for e in stored}:
            return self.passed(subject.say(f"an event {age} old was accepted and stored"), **evidence), None
        return (
            self.failed(
                subject.say(f"an event {age} old was accepted ({ex.status}) but is not in the read-back"), **evidence
            ),
            f"events {age} old are accepted but not stored",
        )


_AGE_REMEDY = (
    "Accept events whose timestamp is {age} old with 200/202 and store them at that time, or say in the "
    "documentation how far back a replay may go."
)
AGE_CHECKS: dict[str, AgeAccepted] = {
    age: declare(
        AgeAccepted(
            f"RPL-00{i}",
            f"An event {age} old is accepted",
            stage="replay",
            severity="info",
            network=True,
            remedy=_AGE_REMEDY.format(age=age),
            age=age,
        )
    )
    for i, age in enumerate(AGES, 1)
}


class OutOfOrder(ReplayCheck):
    def judge(self, subject: Replayed) -> Judged:
        how, stamps = subject.how, [e["timestamp"] for e in subject.out_of_order]
        refused = subject.out_of_order_refused
        if refused is not None:
            ex, why = refused
            return (
                self.failed(
                    subject.say(f"{how}, timestamps out of order, was not accepted: {why}"),
                    **subject.evidence(ex, timestamps=stamps),
                ),
                f"{how} out of order were not accepted ({why})",
            )
        days = ", ".join(f"{d} days" for d in OUT_OF_ORDER_DAYS)
        return (
            self.passed(
                subject.say(f"{how} dated {days} ago was accepted"),
                **subject.evidence(subject.out_of_order_answers[-1], timestamps=stamps),
            ),
            None,
        )


OUT_OF_ORDER = declare(
    OutOfOrder(
        "RPL-004",
        "A batch of historical events out of order is accepted",
        stage="replay",
        severity="info",
        network=True,
        remedy="Accept events in any order; a replay does not send history oldest first.",
    )
)


class Resent(ReplayCheck):
    def judge(self, subject: Replayed) -> Judged:
        resent = subject.resent
        if not resent:
            message = subject.say("no dated event was accepted, so none could be sent again")
            return self.skipped(message, **subject.evidence()), None
        refused = [(e, ex, why) for e, ex in resent for ok, why in [subject.accepted(ex)] if not ok]
        if refused:
            event, ex, why = refused[0]
            return (
                self.failed(
                    subject.say(f"{len(refused)} of {len(resent)} events sent again with their messageId: {why}"),
                    **subject.evidence(ex, messageId=event["messageId"]),
                ),
                f"events sent again with the same messageId are not accepted ({why})",
            )
        ids = [e["messageId"] for e, _ in resent]
        last = resent[-1][1]
        stored = subject.stored
        if stored is None:
            message = (
                f"{len(resent)} events sent again with their messageId were accepted; "
                "de-duplication not verified (no read-back)"
            )
            return self.passed(subject.say(message), **subject.evidence(last, messageIds=ids)), None
        copies = {i: sum(1 for e in stored if _message_id(e) == i) for i in ids}
        doubled = {i: n for i, n in copies.items() if n > 1}
        if doubled:
            return (
                self.failed(
                    subject.say(f"{len(doubled)} of {len(ids)} events sent again are stored more than once"),
                    **subject.evidence(last, copies=doubled),
                ),
                "events sent again are stored twice",
            )
        return (
            self.passed(
                subject.say(f"{len(ids)} events sent again with their messageId were accepted and stored once"),
                **subject.evidence(last, messageIds=ids),
            ),
            None,
        )


RESENT = declare(
    Resent(
        "RPL-005",
        "Historical events sent again with the same messageIds are accepted and stored once",
        stage="replay",
        severity="warning",
        network=True,
        remedy="A replay repeats events: de-duplicate on messageId and answer 200 again instead of an error.",
    )
)


class StoredOrder(ReplayCheck):
    def judge(self, subject: Replayed) -> Judged:
        if subject.out_of_order_refused is not None:
            return self.skipped(subject.say("the out-of-order events were refused: no order to read back")), None
        stored = subject.stored
        if stored is None:
            message = f"no read-back endpoint at {subject.read_back_url}; the stored order cannot be observed"
            return self.skipped(subject.say(message), **subject.evidence()), None
        batch = subject.out_of_order
        sent = [e["messageId"] for e in batch]
        seen = [m for e in stored if (m := _message_id(e)) is not None and m in set(sent)]
        by_time = [e["messageId"] for e in sorted(batch, key=lambda e: str(e["timestamp"]))]
        evidence = subject.evidence(arrival=sent, by_timestamp=by_time, stored=seen)
        if sorted(seen) != sorted(sent):
            return (
                self.failed(
                    subject.say(f"{len(seen)} of {len(sent)} out-of-order events are in the read-back"), **evidence
                ),
                "out-of-order events are not all stored",
            )
        if seen in (by_time, by_time[::-1]):
            newest = " (newest first)" if seen == by_time[::-1] else ""
            return self.passed(subject.say(f"the stored order follows timestamp{newest}"), **evidence), None
        if seen in (sent, sent[::-1]):
            return (
                self.failed(
                    subject.say(
                        "the stored order follows arrival, not timestamp: replayed history lands after newer data"
                    ),
                    **evidence,
                ),
                "the stored order follows arrival, not timestamp",
            )
        return (
            self.failed(subject.say("the stored order follows neither timestamp nor arrival"), **evidence),
            "the stored order follows neither timestamp nor arrival",
        )


STORED_ORDER = declare(
    StoredOrder(
        "RPL-006",
        "Stored events follow their timestamp, not their arrival",
        stage="replay",
        severity="info",
        network=True,
        remedy="Order (or at least date) stored events by `timestamp`, so replayed history lands where it happened.",
    )
)


class Compatible(ReplayCheck):
    """RPL-007: yes, no or partly, with the problems the other checks found in the order they found them."""

    def judge(self, subject: Replayed) -> Judged:
        problems = [p for c in in_sending_order(subject) if c is not self for p in [c.judge(subject)[1]] if p]
        answer: Answer = "yes" if not problems else ("no" if not subject.taken else "partly")
        why = problems or ["events 1 day, 30 days and 1 year old, out of order and sent again were all accepted"]
        why = why + subject.notes
        message = subject.say(f"replay compatible: {answer} ({'; '.join(why)})")
        evidence = subject.evidence(replay_compatible=answer, why=why, call=subject.call)
        return (self.passed(message, **evidence) if answer == "yes" else self.failed(message, **evidence)), None


COMPATIBLE = declare(
    Compatible(
        "RPL-007",
        "Replay compatible: historical data sent again later is accepted",
        stage="replay",
        severity="info",
        network=True,
        remedy="Accept old, out-of-order and repeated events (see RPL-001 to RPL-006), or document the limits.",
    )
)
CHECKS: tuple[ReplayCheck, ...] = (*AGE_CHECKS.values(), OUT_OF_ORDER, RESENT, STORED_ORDER, COMPATIBLE)


def in_sending_order(subject: Replayed) -> tuple[ReplayCheck, ...]:
    """The checks in the order their findings were made: the refused ages (found as they were sent),
    the out-of-order events, then what the read-back tells of the accepted ages, the resent events,
    the stored order, and the answer. CHECKS' order when the current event was refused."""
    if subject.control_refused is not None:
        return CHECKS
    taken = subject.taken
    return (
        *(AGE_CHECKS[age] for age in subject.answers if age not in taken),
        OUT_OF_ORDER,
        *(AGE_CHECKS[age] for age in taken),
        RESENT,
        STORED_ORDER,
        COMPATIBLE,
    )


@dataclass
class Replay:
    """The replay probes for one destination: sends them and gathers the answers."""

    endpoint: Endpoint
    destination: Destination
    call: str
    factory: EventFactory
    settings: Settings
    now: datetime
    label: str = ""

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

    async def run(self) -> Replayed:
        """Every request, once: the control, the dated events, the out-of-order ones, the accepted
        dated events again, the read-back and a delete for the replay user."""
        subject = Replayed(
            destination=self.destination,
            call=self.call,
            redact=self.endpoint.redact,
            limit=self.settings.e2e_max_response_bytes,
            control=await self.send(self.destination.endpoint, self.event(timedelta(0))),
            label=self.label,
        )
        if subject.control_refused is not None:
            return subject
        dated = {age: self.event(delta) for age, delta in AGES.items()}
        answers = {age: await self.send(self.destination.endpoint, event) for age, event in dated.items()}
        taken = [age for age, ex in answers.items() if subject.accepted(ex)[0]]
        events = [self.event(timedelta(days=d)) for d in OUT_OF_ORDER_DAYS]
        if self.destination.batch_endpoint:
            batch = {"batch": events, "sentAt": _stamp(self.now)}
            out_of_order = [await self.send(self.destination.batch_endpoint, batch)]
        else:
            out_of_order = [await self.send(self.destination.endpoint, e) for e in events]
        resent = [(dated[age], await self.send(self.destination.endpoint, dated[age])) for age in taken]
        read_back = await self.endpoint.get(
            read_back_url(self.destination.endpoint), {"userId": str(self.factory.user_id)}
        )
        await self.delete()
        return replace(
            subject,
            dated=dated,
            answers=answers,
            out_of_order=tuple(events),
            batched=bool(self.destination.batch_endpoint),
            out_of_order_answers=tuple(out_of_order),
            resent=tuple(resent),
            read_back=read_back,
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
    scope: Scope | None = None,
) -> list[Result]:
    """The replay probes against one destination: sent first, then judged by the checks."""
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
    subject = await replay.run()
    scope = scope or Scope(components=frozenset({"app", "destination"}))
    return run_objects(in_sending_order(subject), subject, None, scope)


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
                    scope=Scope.of(submission, offline=offline),
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
