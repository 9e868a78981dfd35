"""Stage `spec`: a source's sample_events and events_url checked against the Segment Spec."""

from __future__ import annotations

import copy
import json
import socket

import pytest

from partner_review.models.checks import verdict
from partner_review.models.events import EventFactory
from partner_review.models.settings import get_settings
from partner_review.models.submission import Source, parse_submission
from partner_review.tasks.spec import sources as spec
from tests.e2e.sites import Site, page, redirect, status

SLUG = "acme-analytics"


@pytest.fixture
def settings_env(monkeypatch):
    def set_env(**values) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"PARTNER_REVIEW_{key.upper()}", str(value))
        get_settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    get_settings.cache_clear()


def with_source(example: dict, *, sample_events=None, events_url=None):
    data = copy.deepcopy(example)
    source = next(c for c in data["components"] if c["type"] == "source")
    if sample_events is not None:
        source["sample_events"] = sample_events
    if events_url is not None:
        source["events_url"] = events_url
    return parse_submission(data)


def by_check(results):
    return {r.check: r for r in results}


def valid_events(count: int = 5):
    return EventFactory(seed=21, source=(SLUG, "1.0.0")).events(count)


async def test_the_example_source_follows_the_spec(example):
    results = await spec.check_sources(parse_submission(example))
    found = by_check(results)
    assert set(found) == {c.id for c in spec.CHECKS}
    assert all(found[rule].outcome == "pass" for rule in spec.RULE_CHECKS)
    assert found["SPEC-018"].outcome == "skip" and "no events_url" in found["SPEC-018"].message
    assert verdict(results) == "pass"


async def test_one_result_per_rule_with_counts_and_first_offenders(example, settings_env):
    settings_env(spec_examples_per_rule=2)
    events = valid_events(3) + [
        {
            "type": "track",
            "event": "Purchase",
            "userId": "u-1",
            "timestamp": "2026-11-20T10:00:00Z",
            "context": {"integration": {"name": SLUG, "version": "1.0.0"}},
            "properties": {"orderTotal": 10},
        },
        {"type": "track", "event": "Purchased", "anonymousId": "a-1", "context": {}, "messageId": "m" * 120},
        {"type": "track", "event": "Checkout Complete", "userId": "u-2", "timestamp": "20 Nov 2026"},
    ]
    results = await spec.check_sources(with_source(example, sample_events=events))
    found = by_check(results)
    assert len(results) == len(spec.CHECKS)  # one per rule, not one per event
    synonyms = found["SPEC-016"]
    assert synonyms.outcome == "fail"
    assert synonyms.evidence["offending_events"] == 3 and synonyms.evidence["events_checked"] == 6
    assert len(synonyms.evidence["examples"]) == 2
    assert synonyms.evidence["examples"][0]["origin"] == "sample_events[3]"
    assert '"Order Completed"' in synonyms.message
    assert found["SPEC-004"].evidence["offending_events"] == 1
    assert found["SPEC-007"].outcome == "fail" and found["SPEC-008"].outcome == "fail"
    assert found["SPEC-013"].evidence["offending_events"] == 2
    assert found["SPEC-015"].outcome == "warn"  # a warning, not a blocker
    assert found["SPEC-012"].outcome == "pass"
    assert verdict(results) == "fail"


async def test_malformed_sample_events_are_findings_not_exceptions(example):
    big = {
        "type": "track",
        "event": "Report Viewed",
        "userId": "u",
        "properties": {"blob": "x" * 200_000},
        "context": {"integration": {"name": SLUG, "version": "1.0.0"}},
    }
    source = Source.model_construct(
        type="source",
        name="Raw",
        events_url=None,
        sample_events=["not an event", 42, None, [1], {"type": 7}, {"userId": []}, big],
    )
    submission = with_source(example).model_copy(update={"components": [source]})
    found = by_check(await spec.check_sources(submission))
    assert found["SPEC-001"].evidence["offending_events"] == 4
    assert found["SPEC-002"].evidence["offending_events"] == 2
    assert found["SPEC-012"].evidence["offending_events"] == 1
    assert len(found["SPEC-012"].evidence["examples"][0]["event"]) <= spec.EXCERPT


async def test_events_url_json_array_is_fetched_and_checked(example):
    events = valid_events(4) + [
        {
            "type": "track",
            "event": "add to cart",
            "userId": "u",
            "context": {"integration": {"name": SLUG, "version": "1.0.0"}},
        }
    ]
    async with Site() as site:
        site.route("/events", page(json.dumps(events), content_type="application/json"))
        found = by_check(await spec.check_sources(with_source(example, events_url=site.url("/events"))))
    assert found["SPEC-018"].outcome == "pass" and found["SPEC-018"].evidence["events"] == 5
    assert found["SPEC-016"].evidence["examples"][0]["origin"] == "events_url[4]"
    assert found["SPEC-016"].evidence["events_checked"] == 6  # the one sample event and five fetched


async def test_events_url_json_lines_with_a_broken_line(example):
    lines = "\n".join(json.dumps(e) for e in valid_events(2)) + "\n{not json\n" + json.dumps(valid_events(1)[0])
    async with Site() as site:
        site.route("/events.jsonl", page(lines, content_type="application/x-ndjson"))
        found = by_check(await spec.check_sources(with_source(example, events_url=site.url("/events.jsonl"))))
    assert found["SPEC-001"].outcome == "fail"
    assert "line 3 is not valid JSON" in found["SPEC-001"].message
    assert found["SPEC-018"].evidence["events"] == 4


async def test_events_url_batch_body_is_read_as_events(example):
    body = {"batch": valid_events(3)}
    async with Site() as site:
        site.route("/batch", page(json.dumps(body), content_type="application/json"))
        found = by_check(await spec.check_sources(with_source(example, events_url=site.url("/batch"))))
    assert found["SPEC-018"].evidence["events"] == 3
    assert all(found[rule].outcome == "pass" for rule in spec.RULE_CHECKS)


@pytest.mark.parametrize(
    "case, words",
    [
        ("missing", "answered 404"),
        ("redirect", "answered 302 to /elsewhere"),
        ("too-large", "more than"),
        ("unreachable", "could not be fetched"),
        ("empty", "serves no events"),
    ],
)
async def test_events_url_problems_fail_spec_018(example, settings_env, case, words):
    settings_env(spec_events_url_max_bytes=2048)
    async with Site() as site:
        site.route("/missing", status(404))
        site.route("/redirect", redirect("/elsewhere"))
        site.route("/too-large", page(json.dumps(valid_events(40)), content_type="application/json"))
        site.route("/empty", page("  ", content_type="application/json"))
        if case == "unreachable":
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/events"
            sock.close()
        else:
            url = site.url(f"/{case}")
        results = await spec.check_sources(with_source(example, events_url=url))
    found = by_check(results)
    assert found["SPEC-018"].outcome == "fail" and words in found["SPEC-018"].message
    assert found["SPEC-018"].evidence["component"] == "Acme Analytics Events"
    assert found["SPEC-001"].outcome == "pass"  # the sample events are still checked


async def test_offline_checks_sample_events_and_skips_events_url(example):
    bad = [{"type": "track", "event": "Purchase", "userId": "u"}]
    results = await spec.check_sources(
        with_source(example, sample_events=bad, events_url="https://acme.example/events"), offline=True
    )
    found = by_check(results)
    assert found["SPEC-018"].outcome == "skip" and "offline" in found["SPEC-018"].message
    assert found["SPEC-016"].outcome == "fail"


async def test_offline_with_only_events_url_skips_every_rule_with_the_reason(example):
    data = copy.deepcopy(example)
    source = next(c for c in data["components"] if c["type"] == "source")
    source.pop("sample_events")
    source["events_url"] = "https://acme.example/events"
    results = await spec.check_sources(parse_submission(data), offline=True)
    assert all(r.outcome == "skip" for r in results)
    assert "offline" in by_check(results)["SPEC-003"].message


async def test_event_count_is_bounded(example, settings_env):
    settings_env(spec_max_events=3)
    found = by_check(await spec.check_sources(with_source(example, sample_events=valid_events(8))))
    assert found["SPEC-003"].evidence["events_checked"] == 3
    assert found["SPEC-003"].evidence["events_not_checked"] == 5


async def test_a_submission_without_source_skips(example):
    data = copy.deepcopy(example)
    data["components"] = [c for c in data["components"] if c["type"] == "destination"]
    results = await spec.check_sources(parse_submission(data))
    assert {r.check for r in results} == {c.id for c in spec.CHECKS}
    assert all(r.outcome == "skip" and "no source" in r.message for r in results)
