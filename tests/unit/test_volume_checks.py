"""The volume checks as objects: each judges a hand-built measured run, no load sent."""

from __future__ import annotations

from partner_review.models.settings import Settings
from partner_review.tasks.context import Context
from partner_review.tasks.runner import Scope, run_objects
from partner_review.tasks.volume import judge
from partner_review.tasks.volume.plan import Measurement, Plan

CTX = Context.of(Settings(volume_p99_seconds=5.0, volume_min_rate_ratio=0.9, volume_max_error_ratio=0.01))
URL = "https://api.acme.example/v1/events"


def plan(rate: float = 100.0, duration: float = 10.0) -> Plan:
    return Plan(
        url="https://93.184.216.34/v1/events", host="api.acme.example", address="93.184.216.34", headers={},
        bodies=((b"{}",),), events_per_body=(1,), rate=rate, duration=duration, timeout=10.0, connections=50,
    )  # fmt: skip


def measured(answers: int = 1000, *, seconds: float = 0.05, **counters) -> Measurement:
    m = Measurement(scheduled=1000, sent=1000, events_sent=1000, responses=answers, **counters)
    m.status_counts = {200: answers - counters.get("rate_limited", 0), **m.status_counts}
    for _ in range(answers):
        m.latency.record_seconds(seconds)
    return m


def test_a_healthy_run_passes_and_does_not_exercise_throttling():
    load = judge.Load(measured(), plan(), "events", shown=URL)
    results = run_objects(judge.CHECKS, load, CTX, Scope(components=frozenset({"app", "destination"})))
    assert [r.check for r in results] == ["VOL-001", "VOL-002", "VOL-003", "VOL-004"]
    assert [r.outcome for r in results] == ["pass", "pass", "pass", "skip"]
    assert results[0].message == f"{URL} answered 100 requests/s of a 100/s target for 10 s"
    assert results[0].evidence["endpoint"] == URL and results[0].evidence["min_rate"] == 90.0


def test_a_slow_run_fails_latency_and_names_the_limit():
    result = judge.LATENCY.run(judge.Load(measured(seconds=7.0), plan(), "events", label="Acme: ", shown=URL), CTX)
    assert result.outcome == "fail"
    assert result.message.startswith(f"Acme: {URL}: p99 latency 7.") and "over the 5 s limit" in result.message
    assert result.evidence["measured_from"] == "intended send time"


def test_errors_are_counted_by_status_and_the_batch_size_is_evidence():
    m = measured(status_counts={503: 50})
    m.status_counts = {200: 950, 503: 50}
    result = judge.ERRORS.run(judge.Load(m, plan(), "batch", shown=URL, events_per_batch=100), CTX)
    assert result.outcome == "fail" and "50× 503" in result.message
    assert result.evidence["events_per_batch"] == 100 and list(result.evidence)[-1] == "events_per_batch"


def test_429_without_retry_after_is_a_warning():
    m = measured(rate_limited=20, retry_after_missing=5)
    result = judge.THROTTLING.run(judge.Load(m, plan(), "events", shown=URL), CTX)
    assert result.outcome == "warn" and result.message.startswith(f"{URL}: 5 of 20 429 answers had no usable")
