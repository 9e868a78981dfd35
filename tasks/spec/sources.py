"""Stage `spec`: do a source's events follow the Segment Spec?

The events are the component's `sample_events` and those served at its `events_url` (a JSON
array, a `{"batch": [...]}` body, or JSON lines; fetched with the one outbound client and
size-bounded). Each event is checked with `models.spec.validate(..., source=True)`; the stage
reports one Result per rule (SPEC-001 ... SPEC-017) with the count of offending events and the
first few of them, plus SPEC-018 for fetching `events_url`.

Each check is an object (`SpecRule`, one per rule of `models.spec.RULES`, and `EventsUrlServes`)
judging a source's `SourceEvents`: what checking its events found (the tally, gathered in worker
processes) and what fetching its events_url gave, gathered once by `check_source`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from partner_review.models.checks import Check, NotRun, Result, declare
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.spec import RULES, Limits, Violation, validate
from partner_review.models.submission import Source, Submission
from partner_review.tasks import offload
from partner_review.tasks.context import Context
from partner_review.tasks.net.client import OutboundError, TooLarge, TooSlow, client, read_capped
from partner_review.tasks.runner import Scope, offline_reason, run_objects, stage

EXCERPT = 300


def limits(settings: Settings) -> Limits:
    """The Spec limits as configured (the size limits are shared with the volume stage)."""
    return Limits.from_settings(settings)


@dataclass
class Item:
    """One event to check and where it came from (`sample_events[3]`, `events_url line 7`)."""

    origin: str
    event: Any
    problem: Violation | None = None  # set when the item could not even be parsed


@dataclass(frozen=True)
class EventsFetched:
    """What fetching a source's events_url gave: why there are no events (`problem`, with its
    evidence: SPEC-018 fails with it), or the text it served (decoded; parsed and checked in a worker
    process)."""

    problem: str | None
    evidence: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    size: int = 0


async def fetch_events(url: str, settings: Settings) -> EventsFetched:
    """The text served at `url`, or why there are no events."""
    cap = settings.spec_events_url_max_bytes
    try:
        async with client(max_response_bytes=cap, settings=settings) as http:
            async with http.stream(
                "GET", url, headers={"Accept": "application/json, application/x-ndjson"}
            ) as response:
                status = response.status_code
                if status != 200:
                    where = f" to {response.headers.get('location')}" if 300 <= status < 400 else ""
                    return EventsFetched(
                        f"events_url answered {status}{where}; it must answer 200 with the events",
                        {"url": url, "status": status},
                    )
                body = await read_capped(response, cap)
    except TooLarge:
        return EventsFetched(
            f"events_url serves more than {cap / 1024 / 1024:g} MiB; serve a sample of events, not a full export",
            {"url": url},
        )
    except (httpx.TimeoutException, TooSlow):
        return EventsFetched("events_url did not answer in time", {"url": url})
    except OutboundError as exc:
        return EventsFetched(f"events_url could not be fetched: {exc}", {"url": url})
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return EventsFetched(f"events_url could not be fetched: {type(exc).__name__}: {exc}", {"url": url})
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return EventsFetched("events_url does not serve UTF-8 text (JSON is UTF-8)", {"url": url})
    return EventsFetched(None, text=text, size=len(body))


def parse_events(text: str) -> list[Item]:
    """Events from a JSON array, a `{"batch": [...]}` body, one JSON event, or JSON lines."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = json.loads(stripped)
    except ValueError:
        whole = None
    else:
        if isinstance(whole, list):
            return [Item(f"events_url[{i}]", e) for i, e in enumerate(whole)]
        if isinstance(whole, dict) and isinstance(whole.get("batch"), list):
            return [Item(f"events_url batch[{i}]", e) for i, e in enumerate(whole["batch"])]
        return [Item("events_url", whole)]
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(Item(f"events_url line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            problem = Violation("SPEC-001", "", f"line {number} is not valid JSON ({exc.msg}): {line.strip()[:60]!r}")
            items.append(Item(f"events_url line {number}", None, problem))
    return items


CHUNK = 500  # events per worker call: pickling them holds this process's GIL ~1 ms (10,000 at once: ~30 ms)


@dataclass
class Tally:
    """What checking some events found: per rule, how many events break it and the first examples."""

    checked: int = 0
    offending: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULE_CHECKS, 0))
    found: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {rule: [] for rule in RULE_CHECKS})

    def merge(self, later: Tally, examples: int) -> Tally:
        """This tally followed by `later` (events in order: the first examples stay first)."""
        self.checked += later.checked
        for rule in RULE_CHECKS:
            self.offending[rule] += later.offending[rule]
            self.found[rule] = (self.found[rule] + later.found[rule])[:examples]
        return self


def tally(items: list[Item], *, slug: str, settings: Settings) -> Tally:
    """Every item checked against the Spec (CPU work: run in a worker process by `check_source`)."""
    spec_limits = limits(settings)
    found = Tally(checked=len(items))
    for item in items:
        violations = (
            [item.problem] if item.problem else validate(item.event, source=True, slug=slug, limits=spec_limits)
        )
        seen: set[str] = set()
        for v in violations:
            if v.rule not in found.found:
                continue
            if v.rule not in seen:
                found.offending[v.rule] += 1
                seen.add(v.rule)
            if len(found.found[v.rule]) < settings.spec_examples_per_rule:
                found.found[v.rule].append(
                    {
                        "origin": item.origin,
                        "messageId": _message_id(item.event),
                        "path": v.path,
                        "message": v.message,
                        "event": _excerpt(item.event),
                    }
                )
    return found


def tally_sample(events: list[Any], first: int, *, slug: str, settings: Settings) -> Tally:
    """`sample_events[first:first + len(events)]` checked (the items are made in the worker: making
    10,000 of them on the loop costs it a few ms, and the garbage collector's full pass far more)."""
    items = [Item(f"sample_events[{first + i}]", e) for i, e in enumerate(events)]
    return tally(items, slug=slug, settings=settings)


def tally_served(text: str, budget: int, *, slug: str, settings: Settings) -> tuple[int, Tally]:
    """events_url's text parsed and its first `budget` events checked: (events served, tally).
    In a worker process: parsing up to 5 MiB of JSON is CPU work too, and only the tally comes back."""
    items = parse_events(text)
    return len(items), tally(items[:budget], slug=slug, settings=settings)


@dataclass(frozen=True)
class SourceEvents:
    """The subject of the Spec checks for one source component: what checking its events found
    (`found`, over `checked` events, `not_checked` more left out by the budget), whether it had no
    events at all, and what became of its events_url: not given (`url` None), left unfetched
    (`offline`), or fetched (`fetched`, and the number of events it served)."""

    component: str
    found: Tally
    not_checked: int = 0
    no_events: bool = False
    url: str | None = None
    offline: bool = False
    fetched: EventsFetched | None = None
    served: int = 0


class SpecRule(Check[SourceEvents]):
    """SPEC-001..017: how many of the source's events break the rule (`models.spec.RULES`) of this id."""

    def run(self, subject: SourceEvents, ctx: object = None) -> Result:
        component = subject.component
        if subject.no_events:
            served = EVENTS_URL.run(subject)
            because: NotRun = "offline" if served.not_run == "offline" else "not-verified"
            return self.skipped(
                f"{component}: no events to check ({served.message})", because=because, component=component
            )
        found = subject.found
        total = found.checked
        extra: dict[str, Any] = {"component": component, "events_checked": total}
        if subject.not_checked:
            extra["events_not_checked"] = subject.not_checked
        count = found.offending[self.id]
        if not count:
            return self.passed(f"{component}: all {total} events follow this rule", **extra)
        first = found.found[self.id][0]
        return self.failed(
            f"{component}: {count} of {total} events break this rule; first, {first['origin']}: {first['message']}",
            **extra,
            offending_events=count,
            examples=found.found[self.id],
        )


RULE_CHECKS: dict[str, Check[SourceEvents]] = {
    rule.id: declare(SpecRule(rule.id, rule.title, stage="spec", severity=rule.severity, remedy=rule.remedy))
    for rule in RULES.values()
}


class EventsUrlServes(Check[SourceEvents]):
    """SPEC-018: the source's events_url answered with its events (left unfetched offline, saying so)."""

    def run(self, subject: SourceEvents, ctx: object = None) -> Result:
        name, url = subject.component, subject.url
        if not url:
            return self.not_applicable(f"{name}: no events_url given", component=name)
        if subject.offline or subject.fetched is None:
            return self.skipped(
                f"{name}: {offline_reason('fetches events_url')}", because="offline", component=name, url=url
            )
        fetched = subject.fetched
        if fetched.problem is not None:
            return self.failed(f"{name}: {fetched.problem}", component=name, **fetched.evidence)
        if subject.served:
            return self.passed(
                f"{name}: events_url served {subject.served} events",
                component=name,
                url=url,
                bytes=fetched.size,
                events=subject.served,
            )
        return self.failed(f"{name}: events_url serves no events", component=name, url=url, bytes=fetched.size)


EVENTS_URL = declare(
    EventsUrlServes(
        "SPEC-018",
        "events_url serves the source's events",
        stage="spec",
        severity="blocker",
        network=True,
        remedy="Serve sample events at events_url with 200: a JSON array of events, or one JSON event per line.",
    )
)
CHECKS: tuple[Check[SourceEvents], ...] = (*RULE_CHECKS.values(), EVENTS_URL)
# The stage's runner (`@stage` on check_sources) has applied the run's scope: a source is there, and
# offline its events_url is left unfetched, which SPEC-018 says per source (in its own words).
SOURCE_SCOPE = Scope(components=frozenset({"app", "source"}))


def results_of(found: Tally, *, component: str, not_checked: int = 0) -> list[Result]:
    """One Result per Spec rule: counts and the first offending events."""
    subject = SourceEvents(component, found, not_checked)
    return run_objects(tuple(RULE_CHECKS.values()), subject, None, SOURCE_SCOPE)


def rule_results(items: list[Item], *, slug: str, component: str, settings: Settings) -> list[Result]:
    """One Result per Spec rule over all items (in this process; `check_source` spreads the work)."""
    checked = items[: settings.spec_max_events]
    found = tally(checked, slug=slug, settings=settings)
    return results_of(found, component=component, not_checked=len(items) - len(checked))


def _message_id(event: Any) -> Any:
    value = event.get("messageId") if isinstance(event, dict) else None
    return value if isinstance(value, (str, int)) else None


def _excerpt(event: Any) -> str:
    try:
        text = json.dumps(event, default=str)
    except (ValueError, RecursionError):
        text = repr(type(event))
    return text if len(text) <= EXCERPT else text[: EXCERPT - 3] + "..."


async def check_source(source: Source, slug: str, *, offline: bool, settings: Settings) -> list[Result]:
    """A source's sample_events and events_url against the Spec. Validation (and parsing events_url)
    runs in worker processes, CHUNK events a call: off the loop where e2e and the load test measure latency."""
    budget = settings.spec_max_events
    sample = source.sample_events
    checked = min(len(sample), budget)
    parts = [
        asyncio.ensure_future(
            offload.run(tally_sample, sample[i : min(i + CHUNK, checked)], i, slug=slug, settings=settings)
        )
        for i in range(0, checked, CHUNK)
    ]
    served, served_tally = 0, Tally()
    fetched: EventsFetched | None = None
    try:
        if source.events_url and not offline:
            fetched = await fetch_events(source.events_url, settings)
            if fetched.problem is None:
                left = max(0, budget - checked)
                served, served_tally = await offload.run(tally_served, fetched.text, left, slug=slug, settings=settings)
        found = Tally()
        for counted in await asyncio.gather(*parts):
            found.merge(counted, settings.spec_examples_per_rule)
    finally:
        for part in parts:  # an error or a cancellation above: stop waiting for the rest
            part.cancel()
    found.merge(served_tally, settings.spec_examples_per_rule)
    subject = SourceEvents(
        source.name,
        found,
        not_checked=len(sample) - checked + served - served_tally.checked,
        no_events=not sample and not served,
        url=source.events_url,
        offline=offline,
        fetched=fetched,
        served=served,
    )
    return run_objects(CHECKS, subject, Context.of(settings), SOURCE_SCOPE)


@stage(CHECKS, network_use="fetches events_url")
async def check_sources(
    submission: Submission, *, offline: bool = False, settings: Settings | None = None
) -> list[Result]:
    """Spec adherence of every source component; offline: sample_events only, events_url skipped."""
    settings = given_or_current(settings)
    results: list[Result] = []
    for source in submission.sources:
        results += await check_source(source, submission.app.slug, offline=offline, settings=settings)
    return results
