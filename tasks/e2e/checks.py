"""The end-to-end checks: one per call type, the semantic events, the negative probes, batch,
read-back and delete.

Each check is an object (`Check[Trial]` with its `run`): the stage (tasks/e2e/suite.py) sends the
suite's requests to one destination once and gathers the exchanges into a `Trial`; the checks
judge that trial with `tasks/runner.py:run_objects`, nothing sent. `grade` is Segment's grading of
one answer (tasks/e2e/grading.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from partner_review.models.checks import Check, Result, declare
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Destination
from partner_review.tasks.e2e.exchange import Exchange, Redactor
from partner_review.tasks.e2e.grading import grade

READ_BACK_PATH = "received"
WRONG_SECRET = "partner-review-wrong-credential"


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


def reads_back(ex: Exchange) -> bool:
    """Whether an answer is the read-back endpoint's (`{"events": [...]}`, docs/e2e.md)."""
    data = ex.json() if ex.ok and not ex.html else None
    return isinstance(data, dict) and isinstance(data.get("events"), list)


def green_calls(calls: Mapping[str, Exchange], declared: set[str], limit: int) -> list[str]:
    """The call types whose answer grades green, in the order sent."""
    return [call for call, ex in calls.items() if grade(ex, call, declared, limit)[0] == "green"]


@dataclass(frozen=True)
class Trial:
    """The subject of the e2e checks: what one destination answered to the suite's requests."""

    destination: Destination
    redact: Redactor
    limit: int  # the largest answer read (e2e_max_response_bytes)
    user_id: str
    calls: Mapping[str, Exchange]  # one Spec-valid event per call type, in CALL_TYPES order
    semantic: Mapping[str, Exchange]  # the E-commerce semantic events, by name
    probe_call: str  # the call type the negative probes used
    bad_credential: Exchange
    invalid: Exchange
    oversized: Exchange
    repeated: Exchange
    batch: Exchange | None  # None: no batch_endpoint declared
    batch_events: int
    delete: Exchange
    label: str = ""  # "name: " before each message when the submission has several destinations
    delivered: tuple[dict[str, Any], ...] = ()  # the events accepted, in the order read back
    read_backs: tuple[Exchange, ...] = ()  # the read-back answers, one per delivered event (first only if it failed)
    erased: Exchange | None = None  # the read-back for the deleted user (None: no read-back endpoint)

    @property
    def declared(self) -> set[str]:
        return set(self.destination.supported_calls)

    @property
    def accepted(self) -> set[str]:
        return set(green_calls(self.calls, self.declared, self.limit))

    @property
    def read_back_url(self) -> str:
        return read_back_url(self.destination.endpoint)

    def evidence(self, ex: Exchange, **extra: Any) -> dict[str, Any]:
        return {"component": self.destination.name, **extra, **ex.evidence(self.redact)}

    def say(self, text: str) -> str:
        return f"{self.label}{text}"


@dataclass(frozen=True)
class CallAccepted(Check[Trial]):
    """E2E-001 to E2E-006: the call type `call` graded green or yellow."""

    call: str = ""

    def run(self, subject: Trial, ctx: object = None) -> Result:
        ex = subject.calls[self.call]
        colour, why = grade(ex, self.call, subject.declared, subject.limit)
        evidence = subject.evidence(ex, call=self.call, grade=colour)
        if colour == "red":
            return self.failed(subject.say(f"{self.call}: red, {why}"), **evidence)
        return self.passed(subject.say(f"{self.call}: {colour}, {why}"), **evidence)


_CALL_REMEDY = (
    "Answer 200 or 202 within 5 s to every valid {call} call, or 501 if {call} is not supported "
    "(and leave it out of supported_calls)."
)
CALL_CHECKS: dict[str, Check[Trial]] = {
    call: declare(
        CallAccepted(
            f"E2E-00{i}",
            f"{call.capitalize()} calls are accepted, or declined with 501 when not supported",
            stage="e2e",
            requirement=("spec",),
            severity="blocker",
            remedy=_CALL_REMEDY.format(call=call),
            network=True,
            call=call,
        )
    )
    for i, call in enumerate(CALL_TYPES, 1)
}


class SemanticEvents(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        details, reds = [], []
        for name, ex in subject.semantic.items():
            colour, why = grade(ex, "track", subject.declared, subject.limit)
            details.append(subject.evidence(ex, event=name, grade=colour))
            if colour == "red":
                reds.append(f"{name}: {why}")
        component = subject.destination.name
        if reds:
            return self.failed(subject.say("red: " + "; ".join(reds)), component=component, events=details)
        colours = sorted({d["grade"] for d in details})
        return self.passed(
            subject.say(f"{len(details)} semantic events: {' and '.join(colours)}"), component=component, events=details
        )


SEMANTIC_EVENTS = declare(
    SemanticEvents(
        "E2E-007",
        "E-commerce semantic events are accepted (Order Completed, Product Viewed, Product Added, Checkout Started)",
        stage="e2e",
        requirement=("spec",),
        severity="blocker",
        network=True,
        remedy="Accept track calls carrying E-commerce v2 events, products arrays included, with 200/202.",
    )
)


class AnyAccepted(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        accepted = subject.accepted
        if accepted:
            return self.passed(
                subject.say("accepted: " + ", ".join(sorted(accepted))),
                component=subject.destination.name,
                accepted=sorted(accepted),
            )
        return self.failed(
            subject.say("no call type was accepted with 200/202; a destination must accept at least one"),
            component=subject.destination.name,
        )


ANY_ACCEPTED = declare(
    AnyAccepted(
        "E2E-008",
        "The endpoint accepts at least one call type",
        stage="e2e",
        severity="blocker",
        network=True,
        remedy="Make the endpoint accept the call types your integration supports with 200/202.",
    )
)


class BadCredential(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        ex = subject.bad_credential
        evidence = subject.evidence(ex)
        if ex.error is None and ex.status in (401, 403):
            return self.passed(subject.say(f"a wrong credential was refused with {ex.status}"), **evidence)
        if ex.ok:
            return self.failed(
                subject.say(
                    f"an event sent with a wrong credential was accepted ({ex.status}): anyone who knows the "
                    "endpoint could write into a customer's account"
                ),
                **evidence,
            )
        return self.failed(
            subject.say(f"a wrong credential got {ex.error or ex.status} instead of 401 or 403"), **evidence
        )


BAD_CREDENTIAL = declare(
    BadCredential(
        "E2E-009",
        "A wrong credential is refused with 401 or 403",
        stage="e2e",
        severity="blocker",
        network=True,
        remedy="Check the API key on every request and answer 401 (or 403) when it is missing or wrong.",
    )
)


class InvalidEvent(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        ex = subject.invalid
        evidence = subject.evidence(ex, defect="no userId and no anonymousId (SPEC-003)")
        if ex.error is None and ex.status == 400:
            return self.passed(subject.say("an event without userId or anonymousId was refused with 400"), **evidence)
        if ex.ok:
            return self.failed(
                subject.say(
                    f"an event without userId or anonymousId was accepted ({ex.status}) instead of refused with 400"
                ),
                **evidence,
            )
        return self.failed(
            subject.say(f"an event without userId or anonymousId got {ex.error or ex.status} instead of 400"),
            **evidence,
        )


INVALID_EVENT = declare(
    InvalidEvent(
        "E2E-010",
        "An invalid event is refused with 400",
        stage="e2e",
        severity="blocker",
        network=True,
        remedy="Validate incoming events and answer 400 with a reason when one breaks the Spec "
        "(here: no userId and no anonymousId).",
    )
)


class OversizedEvent(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        ex = subject.oversized
        evidence = subject.evidence(ex)
        if ex.error is None and not ex.too_large and ex.status in (400, 413):
            return self.passed(subject.say(f"an event over 32 KB was refused with {ex.status}"), **evidence)
        if ex.ok:
            return self.failed(
                subject.say(
                    f"an event of {evidence['request']['bytes']:,} bytes (over 32 KB) was accepted silently ({ex.status})"
                ),
                **evidence,
            )
        return self.failed(
            subject.say(f"an event over 32 KB got {ex.error or ex.status} instead of 400 or 413"), **evidence
        )


OVERSIZED_EVENT = declare(
    OversizedEvent(
        "E2E-011",
        "An event over 32 KB is refused, not accepted silently",
        stage="e2e",
        severity="blocker",
        network=True,
        remedy="Refuse events over 32 KB with 400 or 413 instead of accepting and truncating them.",
    )
)


class RepeatedMessage(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        call = subject.probe_call
        colour, why = grade(subject.repeated, call, subject.declared, subject.limit)
        evidence = subject.evidence(subject.repeated, grade=colour)
        if colour == "red":
            return self.failed(subject.say(f"re-sending a {call} with the same messageId: {why}"), **evidence)
        return self.passed(subject.say(f"re-sending a {call} with the same messageId {why}"), **evidence)


REPEATED_MESSAGE = declare(
    RepeatedMessage(
        "E2E-012",
        "A repeated messageId is answered without error",
        stage="e2e",
        severity="blocker",
        network=True,
        remedy="Segment retries deliveries with the same messageId: de-duplicate on messageId and answer 200 again.",
    )
)


def batch_grade(ex: Exchange, limit: int) -> tuple[str, str]:
    """A batch's grade: a 501 declines a call type, and a declared batch endpoint has none to decline."""
    colour, why = grade(ex, "batch", set(), limit)
    if colour == "yellow":
        why = "answered 501 (not implemented), but a declared batch_endpoint must take batches; fix it or remove it"
    return colour, why


class Batch(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        if subject.batch is None:
            return self.not_applicable(subject.say("no batch_endpoint is declared"), component=subject.destination.name)
        colour, why = batch_grade(subject.batch, subject.limit)
        evidence = subject.evidence(subject.batch, events_in_batch=subject.batch_events)
        message = subject.say(f"a batch of {subject.batch_events} events: {why}")
        return self.passed(message, **evidence) if colour == "green" else self.failed(message, **evidence)


BATCH = declare(
    Batch(
        "E2E-013",
        "The batch endpoint accepts a batch of events",
        stage="e2e",
        severity="blocker",
        network=True,
        remedy='Accept `{"batch": [...]}` bodies of up to 2,500 events and 500 KB on batch_endpoint with 200/202.',
    )
)


class ReadBack(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        url = subject.read_back_url
        component = subject.destination.name
        if not subject.delivered:
            return self.skipped(subject.say("no event was accepted, so none can be read back"), component=component)
        first = subject.read_backs[0]
        if not reads_back(first):
            reason = first.error or (f"answered {first.status}" if first.status else "no answer")
            return self.skipped(
                subject.say(
                    f"no read-back endpoint at {url} ({reason}); compare stored fields by hand in the partner's tool"
                ),
                component=component,
                read_back_url=url,
                status=first.status,
            )
        problems = []
        for event, ex in zip(subject.delivered, subject.read_backs):
            found = (ex.json() or {}).get("events") if reads_back(ex) else None
            name = event.get("event") or event["type"]
            if not found:
                problems.append({"messageId": event.get("messageId"), "event": name, "lost": ["(not stored)"]})
                continue
            lost = lost_fields(event, found[0])
            if lost:
                problems.append({"messageId": event.get("messageId"), "event": name, "lost": lost[:20]})
        if problems:
            summary = "; ".join(f"{p['event']}: {', '.join(p['lost'][:4])}" for p in problems[:5])
            return self.failed(
                subject.say(
                    f"{len(problems)} of {len(subject.delivered)} events came back without fields they were sent with: {summary}"
                ),
                component=component,
                read_back_url=url,
                events=problems[:10],
            )
        return self.passed(
            subject.say(f"{len(subject.delivered)} events read back with every field sent"),
            component=component,
            read_back_url=url,
        )


READ_BACK = declare(
    ReadBack(
        "E2E-014",
        "Events read back with every field sent",
        stage="e2e",
        requirement=("spec",),
        severity="blocker",
        network=True,
        remedy="Store every field of an event as sent (nested properties and traits included); "
        "see docs/e2e.md for the optional read-back endpoint.",
    )
)


def delete_grade(ex: Exchange, limit: int) -> tuple[str, str]:
    """A delete's grade: a 501 declines it, which a partner may not do."""
    colour, why = grade(ex, "delete", set(), limit)
    if colour == "yellow":
        why = "answered 501, but partners must honour delete (GDPR/CCPA) requests"
    return colour, why


class Delete(Check[Trial]):
    def run(self, subject: Trial, ctx: object = None) -> Result:
        ex = subject.delete
        user = subject.user_id
        colour, why = delete_grade(ex, subject.limit)
        evidence = subject.evidence(ex)
        if colour != "green":
            return self.failed(subject.say(f"a delete for userId {user}: {why}"), **evidence)
        if subject.erased is None:
            return self.passed(
                subject.say(
                    f"a delete for userId {user} was accepted ({ex.status}); erasure not verified (no read-back)"
                ),
                **evidence,
            )
        left = (subject.erased.json() or {}).get("events") if reads_back(subject.erased) else None
        if left:
            return self.failed(
                subject.say(f"a delete for userId {user} was accepted but {len(left)} of its events are still stored"),
                **evidence,
                read_back=subject.erased.evidence(subject.redact),
            )
        return self.passed(subject.say(f"a delete for userId {user} was accepted and its events are gone"), **evidence)


DELETE = declare(
    Delete(
        "E2E-015",
        "A delete request for a userId is honoured",
        stage="e2e",
        severity="blocker",
        network=True,
        remedy='Accept `{"type": "delete", "userId": ...}` on the endpoint with 200 and erase that user\'s data.',
    )
)
CHECKS: tuple[Check[Trial], ...] = (
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
