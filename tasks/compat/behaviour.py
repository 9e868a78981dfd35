"""Stage `compat`, by behaviour: the same recorded traffic sent to the live version's endpoints and
to the new one's, answers compared request by request (Airbyte's control/target comparison).

The traffic is built once from one seed and sent to both sides, each with its own credential and
the same concurrency: every Spec call type, a batch, the auth probes (no credential, a wrong one),
a malformed event (no userId or anonymousId) and an event a week old. Each answer is reduced to
accepted (2xx, not an HTML page), declined (501), refused (any other status) or no answer, with its
status class and the shape of its body (keys and types, not values).

- CMP-001 (blocker): a request the live version accepts and the new one does not: customers'
  traffic breaks.
- CMP-002 (blocker): an auth probe the live version refuses and the new one accepts: credentials
  are no longer required.
- CMP-003 (warning): any other difference (status within a class, class, body shape).

A live side that does not answer leaves the comparison unmade: `error`, never a pass. A refusal by
the new version that may not last (no answer, 429, 5xx) is sent once more before it counts as a
blocker; accepted then, it is a warning. Each request is bounded by the e2e answer deadline, each
round of the comparison by `cap_seconds`.

The traffic is sent (and confirmed) first; the answers are gathered into a `Compared` and the CMP
checks, objects with their `run`, judge it afterwards with `tasks/runner.py:run_objects`.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from partner_review.models.checks import Check, Result, declare
from partner_review.models.events import EventFactory
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Destination, Submission
from partner_review.tasks.e2e.checks import WRONG_SECRET
from partner_review.tasks.e2e.exchange import Endpoint, Exchange, auth_headers
from partner_review.tasks.net.client import client
from partner_review.tasks.net.retry_after import retry_after_seconds
from partner_review.tasks.runner import Scope, run_objects, stage

OLD_EVENT_AGE = timedelta(days=7)
DETAIL_CHARS = 200
SHAPE_CHARS = 300
KEPT_ID, AUTH_KEPT_ID, SAME_ANSWERS_ID = "CMP-001", "CMP-002", "CMP-003"  # declared below, with their logic
Credential = Literal["given", "none", "wrong"]
Verdict = Literal["accepted", "declined", "refused", "no answer"]


@dataclass(frozen=True)
class Probe:
    """One request of the recorded traffic."""

    name: str
    payload: Any
    batch: bool = False
    credential: Credential = "given"

    @property
    def auth(self) -> bool:
        return self.credential != "given"


def traffic(factory: EventFactory, *, now: datetime) -> list[Probe]:
    """The traffic both versions get, built once."""
    probes = [Probe(call, factory.call(call)) for call in CALL_TYPES]
    probes.append(Probe("track (Order Completed)", factory.order_completed()))
    probes.append(Probe("batch", {"batch": [factory.call(c) for c in CALL_TYPES], "sentAt": factory.timestamp()}, True))
    probes.append(Probe("no credential", factory.track(), credential="none"))
    probes.append(Probe("wrong credential", factory.track(), credential="wrong"))
    malformed = {k: v for k, v in factory.track().items() if k not in ("userId", "anonymousId")}
    probes.append(Probe("malformed event (no userId or anonymousId)", malformed))
    stamp = (now - OLD_EVENT_AGE).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    probes.append(Probe("event 7 days old", {**factory.track(), "timestamp": stamp, "sentAt": stamp}))
    return probes


def shape(value: Any) -> str:
    """The shape of JSON: keys and types, not values (lists by their first item), at most SHAPE_CHARS."""
    found = _shape(value)
    return found if len(found) <= SHAPE_CHARS else found[: SHAPE_CHARS - 1] + "…"


def _shape(value: Any, depth: int = 0) -> str:
    if isinstance(value, dict):
        if depth >= 3:
            return "{…}"
        return "{" + ",".join(f"{k}:{_shape(v, depth + 1)}" for k, v in sorted(value.items())[:50]) + "}"
    if isinstance(value, list):
        if depth >= 3:
            return "[…]"
        return f"[{_shape(value[0], depth + 1)}]" if value else "[]"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def answer(ex: Exchange | None, endpoint: Endpoint | None, *, missing: str = "") -> dict[str, Any]:
    """One side's answer as compared and shown: verdict, status, status class, body shape, detail."""
    if ex is None or endpoint is None:
        return {"answer": "refused", "status": None, "class": "none", "shape": "none", "detail": missing}
    if ex.error or ex.too_large or ex.status is None:
        detail = ex.error or "the answer was over the size limit"
        return {"answer": "no answer", "status": ex.status, "class": "none", "shape": "none", "detail": detail}
    status = ex.status
    verdict: Verdict = "accepted" if 200 <= status < 300 and not ex.html else "declined" if status == 501 else "refused"
    body = ex.json()
    form = "empty" if not ex.body.strip() else "html" if ex.html else shape(body) if body is not None else "text"
    text = " ".join(ex.body[:DETAIL_CHARS].decode("utf-8", errors="replace").split())
    out = {
        "answer": verdict,
        "status": status,
        "class": f"{status // 100}xx",
        "shape": form,
        "detail": endpoint.redact.text(text),
        "latency_ms": round(ex.latency_ms, 1),
    }
    return out | (
        {"retry_after": endpoint.redact.text(ex.retry_after[:100])} if status == 429 and ex.retry_after else {}
    )


def difference(probe: Probe, live: dict[str, Any], new: dict[str, Any]) -> tuple[str, str] | None:
    """(check id, what differs) for one request answered by both, or None when they answer alike."""
    if probe.auth and live["answer"] != "accepted" and new["answer"] == "accepted":
        return AUTH_KEPT.id, f"the live version refuses it ({live['status']}), the new one accepts it ({new['status']})"
    if not probe.auth and live["answer"] == "accepted" and new["answer"] != "accepted":
        said = f"{new['status']}" if new["status"] else new["answer"]
        return KEPT.id, f"the live version accepts it ({live['status']}), the new one {new['answer']} it ({said})"
    if live["answer"] != new["answer"] or live["class"] != new["class"]:
        return SAME_ANSWERS.id, f"{live['answer']} {live['status']} live, {new['answer']} {new['status']} new"
    if live["status"] != new["status"]:
        return SAME_ANSWERS.id, f"status {live['status']} live, {new['status']} new (same class)"
    if live["shape"] != new["shape"]:
        return SAME_ANSWERS.id, f"the body's shape changed: {live['shape']} live, {new['shape']} new"
    return None


@dataclass
class Side:
    """One version's destination and the client that sends it the traffic."""

    destination: Destination
    endpoint: Endpoint

    def url(self, probe: Probe) -> str | None:
        return self.destination.batch_endpoint if probe.batch else self.destination.endpoint

    async def send(self, probe: Probe) -> Exchange | None:
        url = self.url(probe)
        if url is None:
            return None
        headers = {"none": {}, "wrong": auth_headers(self.destination.auth, WRONG_SECRET)}.get(probe.credential)
        return await self.endpoint.post(url, probe.payload, headers=headers)

    async def answers(self, probes: list[Probe], cap: float) -> list[dict[str, Any]]:
        """Every probe's answer; those still unanswered after `cap` seconds are 'no answer'."""
        jobs = [asyncio.ensure_future(self.send(p)) for p in probes]
        done, pending = await asyncio.wait(jobs, timeout=cap)
        for job in pending:
            job.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        out = []
        for job in jobs:
            if job in pending:
                out.append(answer(None, None) | {"answer": "no answer", "detail": f"not answered within {cap:g} s"})
            elif (ex := job.result()) is None:
                out.append(answer(None, None, missing="no batch_endpoint declared"))
            else:
                out.append(answer(ex, self.endpoint))
        return out


def transient(answer: dict[str, Any]) -> bool:
    """An answer that may not last: no answer, 429 or a 5xx."""
    status = answer["status"]
    return answer["answer"] == "no answer" or status == 429 or (status is not None and status >= 500)


async def confirm(
    probes: list[Probe], live: list[dict[str, Any]], new: list[dict[str, Any]], side: Side, settings: Settings
) -> None:
    """Send once more to the new version what it refused, where the live version accepted it, when the
    refusal may not last (see `transient`); one accepted the second time is kept as
    `new[i]["first"]` beside the second answer (a warning, not a blocker)."""
    again = [
        i
        for i, (p, was, now) in enumerate(zip(probes, live, new))
        if not p.auth and was["answer"] == "accepted" and now["answer"] != "accepted" and transient(now)
    ]
    if not again:
        return
    waits = [retry_after_seconds(new[i].get("retry_after")) or 1.0 for i in again if new[i]["status"] == 429]
    if waits:
        await asyncio.sleep(min(max(waits), settings.e2e_timeout_seconds))
    second = await side.answers([probes[i] for i in again], cap_seconds(settings, len(again)))
    for i, answered in zip(again, second):
        new[i] = answered | {"first": new[i]} if answered["answer"] == "accepted" else new[i] | {"again": answered}


def cap_seconds(settings: Settings, requests: int) -> float:
    """The longest the comparison may take: every request's deadline (and its connection retries), in
    rounds of the e2e concurrency, plus one round."""
    rounds = math.ceil(requests / settings.e2e_concurrency) + 1
    return rounds * (settings.e2e_timeout_seconds + 1.0) * (settings.e2e_transport_retries + 1)


@dataclass(frozen=True)
class Compared:
    """The subject of the CMP checks: the traffic sent to one destination's two versions and each
    side's answers (reduced by `answer`), request by request; `new[i]` holds a second answer where
    `confirm` sent a request again."""

    probes: tuple[Probe, ...]
    live: tuple[dict[str, Any], ...]
    new: tuple[dict[str, Any], ...]
    versions: dict[str, Any] = field(default_factory=dict)  # the versions, endpoints and component, as evidence
    label: str = ""  # "name: " before each message when several destinations are compared


@dataclass
class Comparison:
    """The request-by-request comparison every CMP check reads: the rows shown as evidence, and by
    check id what differs and what could not be compared."""

    rows: list[dict[str, Any]]
    found: dict[str, list[str]]
    unanswered: dict[str, list[str]]


def compare(subject: Compared) -> Comparison:
    ids = (KEPT_ID, AUTH_KEPT_ID, SAME_ANSWERS_ID)
    rows: list[dict[str, Any]] = []
    found: dict[str, list[str]] = {i: [] for i in ids}
    unanswered: dict[str, list[str]] = {i: [] for i in ids}
    for probe, was, now in zip(subject.probes, subject.live, subject.new):
        row: dict[str, Any] = {"request": probe.name, "credential": probe.credential, "live": was, "new": now}
        if was["answer"] == "no answer":
            concerned = AUTH_KEPT_ID if probe.auth else KEPT_ID
            for check_id in (concerned, SAME_ANSWERS_ID):
                unanswered[check_id].append(f"{probe.name}: {was['detail']}")
            row["difference"] = "not compared: the live version did not answer"
        elif probe.auth and now["answer"] == "no answer":
            unanswered[AUTH_KEPT_ID].append(f"{probe.name}: the new version did not answer ({now['detail']})")
            row["difference"] = "not compared: the new version did not answer"
        elif "first" in now:
            first = now["first"]
            said = f"refused the first time ({first['status'] or first['detail']}), accepted when sent again"
            found[SAME_ANSWERS_ID].append(f"{probe.name}: {said}")
            row["difference"], row["finding"] = said, SAME_ANSWERS_ID
        elif (diff := difference(probe, was, now)) is not None:
            found[diff[0]].append(f"{probe.name}: {diff[1]}")
            row["difference"] = diff[1]
            row["finding"] = diff[0]
        rows.append(row)
    return Comparison(rows, found, unanswered)


class Behaves(Check[Compared]):
    """A CMP check: a finding when the comparison found one of its differences, `error` when the
    requests it needs were not answered (no comparison, not a pass), else a pass saying what held."""

    finding: str = ""  # what its failure says before the differences

    def run(self, subject: Compared, ctx: object = None) -> Result:
        comparison = compare(subject)
        evidence = {**subject.versions, "requests": comparison.rows}
        label = subject.label
        if comparison.found[self.id]:
            listed = "; ".join(comparison.found[self.id])
            return self.failed(f"{label}{self.finding}: {listed}", **evidence)
        if comparison.unanswered[self.id]:
            listed = "; ".join(comparison.unanswered[self.id][:3])
            return self.errored(f"{label}no comparison, not a pass: {listed}", **evidence)
        return self.passed(label + self.alike(subject), **evidence)

    def alike(self, subject: Compared) -> str:
        """What it says when it passes."""
        raise NotImplementedError


class Kept(Behaves):
    finding = "requests the live version accepts are refused by the new one"

    def alike(self, subject: Compared) -> str:
        events = sum(1 for p in subject.probes if not p.auth)
        return f"every request the live version accepts is accepted by the new one ({events} requests compared)"


class AuthKept(Behaves):
    finding = "credentials are no longer required"

    def alike(self, subject: Compared) -> str:
        if any(p.auth and a["answer"] == "accepted" for p, a in zip(subject.probes, subject.live)):
            return "the live version did not require credentials either; nothing changed"
        return "the new version refuses requests without or with a wrong credential, as the live one does"


class SameAnswers(Behaves):
    finding = "answers differ"

    def alike(self, subject: Compared) -> str:
        return f"no other difference in {len(subject.probes)} requests (status, status class, body shape)"


KEPT = declare(
    Kept(
        "CMP-001",
        "Traffic the live version accepts is accepted by the new version",
        stage="compat",
        severity="blocker",
        network=True,
        applies_to="destination",
        remedy="Accept every request the live version accepts (old events, batches, each call type): customers "
        "send the same traffic after the update. Refuse more only in a new component.",
    )
)
AUTH_KEPT = declare(
    AuthKept(
        "CMP-002",
        "The new version still requires credentials",
        stage="compat",
        severity="blocker",
        network=True,
        applies_to="destination",
        remedy="Refuse requests without a credential or with a wrong one (401/403), as the live version does.",
    )
)
SAME_ANSWERS = declare(
    SameAnswers(
        "CMP-003",
        "The new version answers like the live version",
        stage="compat",
        severity="warning",
        network=True,
        applies_to="destination",
        remedy="Keep status codes and answer bodies as the live version has them, or tell customers what changed.",
    )
)
CHECKS: tuple[Behaves, ...] = (KEPT, AUTH_KEPT, SAME_ANSWERS)


async def compare_destination(
    new: Destination,
    live: Destination,
    http: httpx.AsyncClient,
    *,
    versions: dict[str, Any],
    label: str = "",
    settings: Settings,
    scope: Scope | None = None,
) -> list[Result]:
    """Send the traffic to both versions, confirm what the new one refused, then run the CMP checks."""
    now = datetime.now(UTC)
    seed = random.SystemRandom().getrandbits(32)
    factory = EventFactory(seed, user_id=f"partner-review-compat-{seed:08x}", start=now)
    probes = traffic(factory, now=now)
    cap = cap_seconds(settings, len(probes))
    sides = [Side(d, Endpoint(http, d, settings)) for d in (live, new)]
    was, then = await asyncio.gather(*(side.answers(probes, cap) for side in sides))
    await confirm(probes, was, then, sides[1], settings)
    urls = {"live_endpoint": live.endpoint, "new_endpoint": new.endpoint}
    subject = Compared(
        tuple(probes), tuple(was), tuple(then), versions={**versions, **urls, "component": new.name}, label=label
    )
    return run_objects(CHECKS, subject, None, scope or Scope(components=frozenset({"app", "destination"})))


async def compare_behaviour(
    submission: Submission,
    released: Submission | None,
    *,
    reason: str = "",
    offline: bool = False,
    settings: Settings | None = None,
) -> list[Result]:
    """CMP-* results for each destination the new version shares (type and name) with the live one."""
    if released is None:  # said first: offline or not, there is nothing to compare with
        why = reason or "no released version to compare with: the comparison applies to an update of a live app"
        return [c.not_applicable(why) for c in CHECKS]
    return list(await _compare(submission, released, offline=offline, settings=given_or_current(settings)))


@stage(CHECKS, network_use="sends the same traffic to the live version's endpoints and the new one's")
async def _compare(
    submission: Submission, released: Submission, *, offline: bool = False, settings: Settings
) -> list[Result]:
    live = {d.name: d for d in released.destinations}
    pairs = [(d, live[d.name]) for d in submission.destinations if d.name in live]
    if not pairs:
        why = f"no destination of v{released.version} is in v{submission.version} under the same name (see UPD-003)"
        return [c.not_applicable(why) for c in CHECKS]
    versions = {"live_version": released.version, "new_version": submission.version}
    async with client(
        timeout=httpx.Timeout(settings.e2e_timeout_seconds),
        max_seconds=settings.e2e_timeout_seconds,
        max_response_bytes=settings.e2e_max_response_bytes,
        settings=settings,
    ) as http:
        found = await asyncio.gather(
            *(
                compare_destination(
                    d,
                    was,
                    http,
                    versions=versions,
                    label=f"{d.name}: " if len(pairs) > 1 else "",
                    settings=settings,
                    scope=Scope.of(submission, offline=offline),
                )
                for d, was in pairs
            )
        )
    return [r for results in found for r in results]
