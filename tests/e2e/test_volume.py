"""The load test against real servers on loopback: the sample partners and a tiny raw one.

Rates and durations are small (tens of requests/s for a second or two); assertions are on what
happened (statuses, counts, verdicts), not on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import json
import math
import time

import pytest

from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.partners import running
from partner_review.tasks.volume.histogram import BUCKETS
from partner_review.tasks.volume.load import Plan, VolumeRefused, build_bodies, generate_load, load_test


@pytest.fixture
def settings_env(monkeypatch):
    """Set PARTNER_REVIEW_* variables for one test and re-read settings."""

    def apply(**values):
        for key, value in values.items():
            monkeypatch.setenv(f"PARTNER_REVIEW_{key.upper()}", str(value))
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield apply
    get_settings.cache_clear()


def submission_for(example: dict, base: str, *, batch: bool = True):
    destination = next(c for c in example["components"] if c["type"] == "destination")
    destination["endpoint"] = f"{base}/v1/events"
    if batch:
        destination["batch_endpoint"] = f"{base}/v1/batch"
    else:
        destination.pop("batch_endpoint", None)
    return parse_submission(example)


def by_check(results):
    assert len({r.check for r in results}) == len(results) == 4
    return {r.check: r for r in results}


class RawServer(asyncio.Protocol):
    """A minimal HTTP/1.1 server on the test's own loop: one fixed answer to every request."""

    def __init__(self, owner: Raw):
        self.owner = owner
        self.buffer = b""

    def connection_made(self, transport):
        self.transport = transport
        self.owner.connections += 1

    def data_received(self, data):
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").lower()
            length = next(
                (int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("content-length:")), 0
            )
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.owner.requests += 1
            self.transport.write(self.owner.answer)


class Raw:
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None):
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.answer = f"HTTP/1.1 {status} {reason}\r\nContent-Length: 2\r\n{extra}\r\n{{}}".encode()
        self.requests = 0
        self.connections = 0

    async def __aenter__(self) -> str:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: RawServer(self), "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()


# The sample partners ---------------------------------------------------------------------------


async def test_conformant_partner_passes_and_progress_is_reported(example, settings_env):
    settings_env()
    seen = []
    with running("conformant") as base:
        results = await load_test(
            submission_for(example, base),
            rate=50,
            duration=2,
            on_progress=lambda done, total, snap: seen.append((done, total, snap)),
        )
    r = by_check(results)
    assert [r[c].outcome for c in ("VOL-001", "VOL-002", "VOL-003")] == ["pass"] * 3
    assert r["VOL-004"].outcome == "skip" and "did not throttle" in r["VOL-004"].message
    rate = r["VOL-001"].evidence
    assert rate["scheduled"] == rate["sent"] == rate["responses"] == 100
    assert r["VOL-003"].evidence["status_counts"] == {"200": 100}
    assert r["VOL-002"].evidence["latency_seconds"]["count"] == 100
    assert seen and seen[-1][:2] == (100, 100)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    assert {"sent", "errors", "rate_limited", "p99_seconds"} <= set(seen[-1][2])


async def test_flaky_partner_fails_on_errors(example, settings_env):
    settings_env()
    with running("flaky") as base:
        r = by_check(await load_test(submission_for(example, base), rate=50, duration=2))
    errors = r["VOL-003"]
    assert errors.outcome == "fail"
    assert set(errors.evidence["errors_by_status"]) == {"500", "503"}
    assert 0.25 <= errors.evidence["error_ratio"] <= 0.4  # every 3rd request fails
    assert "500" in errors.message and "503" in errors.message
    assert r["VOL-002"].outcome == "pass"


async def test_slow_partner_fails_on_latency(example, settings_env):
    settings_env(volume_p99_seconds=0.5)
    with running("slow", delay=1.0) as base:
        r = by_check(await load_test(submission_for(example, base), rate=10, duration=2))
    latency = r["VOL-002"]
    assert latency.outcome == "fail" and "over the 0.5 s limit" in latency.message
    assert latency.evidence["latency_seconds"]["p50"] >= 1.0  # the partner waits 1 s before answering
    assert r["VOL-003"].outcome == "pass" and r["VOL-001"].outcome == "pass"


async def test_stalled_endpoint_ends_within_duration_plus_timeout(example, settings_env):
    settings_env(volume_timeout_seconds=1)
    with running("slow") as base:  # answers after 6 s, far past the timeout
        started = time.monotonic()
        r = by_check(await load_test(submission_for(example, base), rate=10, duration=1))
        took = time.monotonic() - started
    assert took < 1 + 1 + 2.0, f"the load test took {took:.1f} s against a stalled endpoint"
    assert r["VOL-003"].outcome == "fail" and r["VOL-003"].evidence["timeouts"] == 10
    assert r["VOL-002"].outcome == "fail" and "no answer within the 1 s request timeout" in r["VOL-002"].message
    assert r["VOL-001"].outcome == "fail" and "no answer" in r["VOL-001"].message


async def test_rate_limited_partner_is_backed_off_from_and_judged_on_throughput(example, settings_env):
    settings_env()
    with running("rate-limited") as base:  # 429 with Retry-After above 5 requests/s
        r = by_check(await load_test(submission_for(example, base), rate=20, duration=2))
    throttle = r["VOL-004"].evidence
    assert r["VOL-004"].outcome == "pass" and throttle["rate_limited_429"] >= 1
    assert throttle["retry_after_honoured"] is True and throttle["sends_during_backoff"] == 0
    assert throttle["retry_after_missing"] == 0 and throttle["backoff_seconds"] > 0
    assert throttle["skipped_in_backoff"] > 0
    rate = r["VOL-001"].evidence
    # Honouring Retry-After means few requests meet the limiter: most of the schedule is held back.
    assert throttle["rate_limited_429"] * 2 < rate["sent"] < rate["scheduled"]
    assert r["VOL-001"].outcome == "fail" and "throttled with 429" in r["VOL-001"].message
    assert r["VOL-003"].outcome == "pass"  # a 429 is not an error: it is judged by VOL-001 and VOL-004


async def test_rate_limited_partner_within_its_limit_is_not_penalised(example, settings_env):
    settings_env()
    with running("rate-limited", rate=100) as base:
        r = by_check(await load_test(submission_for(example, base), rate=20, duration=1))
    assert [r[c].outcome for c in ("VOL-001", "VOL-002", "VOL-003", "VOL-004")] == ["pass", "pass", "pass", "skip"]


async def test_batch_mode_sends_spec_sized_batches(example, settings_env):
    settings_env(volume_batch_size=100)
    with running("conformant") as base:
        r = by_check(await load_test(submission_for(example, base), rate=10, duration=1, batch=True))
    evidence = r["VOL-001"].evidence
    assert r["VOL-001"].outcome == "pass" and evidence["mode"] == "batch"
    assert evidence["events_sent"] == 1_000 and evidence["events_per_batch"] == 100
    assert r["VOL-003"].evidence["status_counts"] == {"202": 10}  # the partner validated every batch
    assert evidence["endpoint"].endswith("/v1/batch")


async def test_batches_are_cut_at_the_500_kb_limit(example, settings_env):
    settings_env(volume_batch_size=2500)
    with running("conformant") as base:
        r = by_check(await load_test(submission_for(example, base), rate=2, duration=1, batch=True))
    per_batch = r["VOL-001"].evidence["events_per_batch"]
    assert 0 < per_batch < 2500  # 2,500 realistic events would be over 500 KB
    assert r["VOL-003"].evidence["status_counts"] == {"202": 2}, r["VOL-003"].evidence


async def test_batch_mode_without_a_batch_endpoint_is_skipped(example, settings_env):
    settings_env()
    results = await load_test(
        submission_for(example, "http://127.0.0.1:9", batch=False), rate=10, duration=1, batch=True
    )
    assert {r.outcome for r in results} == {"skip"} and "batch_endpoint" in results[0].message


# Throttling without Retry-After, the guard, refusals ------------------------------------------


async def test_429_without_retry_after_is_a_warning_and_still_backed_off(example, settings_env):
    settings_env()
    raw = Raw(429, "Too Many Requests")
    async with raw as base:
        r = by_check(await load_test(submission_for(example, base), rate=20, duration=1.5))
    throttle = r["VOL-004"]
    assert throttle.outcome == "warn" and "no usable Retry-After" in throttle.message
    assert throttle.evidence["retry_after_missing"] == throttle.evidence["rate_limited_429"] == raw.requests
    assert raw.requests < 30 and throttle.evidence["skipped_in_backoff"] > 0  # paused, not hammered
    assert r["VOL-001"].outcome == "fail"


async def test_retry_after_as_an_http_date_is_understood(example, settings_env):
    settings_env()
    raw = Raw(429, "Too Many Requests", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})  # in the past: 0 s
    async with raw as base:
        r = by_check(await load_test(submission_for(example, base), rate=20, duration=0.5))
    assert r["VOL-004"].outcome == "pass" and r["VOL-004"].evidence["retry_after_missing"] == 0


async def test_the_outbound_guard_is_not_bypassed(example, settings_env, monkeypatch):
    settings_env(allowed_networks="")
    raw = Raw(200, "OK")
    async with raw as base:
        results = await load_test(submission_for(example, base), rate=20, duration=1)
    assert {r.outcome for r in results} == {"error"}
    assert "loopback" in results[0].message and "did not run" in results[0].message
    assert raw.connections == 0


@pytest.mark.parametrize(
    "rate,duration,words",
    [
        (1001, 1, "above the maximum of 1000"),
        (5000, 1, "Segment's recommended maximum"),
        (0, 1, "positive number of requests/s"),
        (-3, 1, "positive number of requests/s"),
        (math.nan, 1, "positive number of requests/s"),
        (10, 0, "positive number of seconds"),
        (10, 601, "longest load test is 600 s"),
        (0.5, 1, "less than one request"),
    ],
)
async def test_out_of_range_targets_are_refused_before_any_traffic(example, settings_env, rate, duration, words):
    settings_env()
    raw = Raw(200, "OK")
    async with raw as base:
        with pytest.raises(VolumeRefused, match=words):
            await load_test(submission_for(example, base), rate=rate, duration=duration)
    assert raw.connections == 0


async def test_partner_declared_maximum_is_a_setting(example, settings_env):
    settings_env(volume_max_rate=30)
    with pytest.raises(VolumeRefused, match="above the maximum of 30"):
        await load_test(submission_for(example, "http://127.0.0.1:9"), rate=31, duration=1)


async def test_offline_skips_every_volume_check(example, settings_env):
    settings_env()
    results = await load_test(submission_for(example, "http://127.0.0.1:9"), offline=True)
    assert len(results) == 4 and {r.outcome for r in results} == {"skip"}
    assert all("offline" in r.message for r in results)


# The engine ------------------------------------------------------------------------------------


async def test_rate_split_across_processes_is_merged(example, settings_env):
    settings_env(volume_rate_per_process=10)
    with running("conformant") as base:
        r = by_check(await load_test(submission_for(example, base), rate=20, duration=1))
    evidence = r["VOL-001"].evidence
    assert evidence["processes"] == 2
    assert evidence["sent"] == evidence["responses"] == 20
    assert r["VOL-002"].evidence["latency_seconds"]["count"] == 20
    assert r["VOL-003"].evidence["status_counts"] == {"200": 20}
    assert [r[c].outcome for c in ("VOL-001", "VOL-002", "VOL-003")] == ["pass"] * 3


async def test_memory_stays_bounded_and_a_broken_progress_callback_is_ignored(settings_env):
    settings_env()

    def broken(done, total, snap):
        raise RuntimeError("display went away")

    from partner_review.models.events import generate

    bodies, counts = build_bodies(generate(16), batch_size=None, max_seq=1000, settings=get_settings())
    raw = Raw(200, "OK")
    async with raw as base:
        plan = Plan(
            url=f"{base}/v1/events",
            host="127.0.0.1",
            address="127.0.0.1",
            headers={},
            bodies=bodies,
            events_per_body=counts,
            rate=400,
            duration=1.0,
            timeout=5.0,
            connections=32,
        )
        m = await generate_load(plan, broken)
    assert m.sent == raw.requests == m.latency.count and m.sent + m.unsent == m.scheduled == 400
    assert len(m.latency.counts) == BUCKETS
    assert len(json.dumps(m.to_dict())) < 10_000  # counters and a sparse histogram, not samples


async def test_the_collector_skips_what_was_alive_before_the_load_until_it_ends(settings_env, monkeypatch):
    """A full garbage-collection pass over a large submission would hold the loop for tens of ms
    in the middle of the load: what is alive when the load starts is frozen until it ends."""
    import gc

    from partner_review.tasks import collector

    monkeypatch.setattr(collector, "_pinned", False)  # a receiver started by an earlier test pins for good
    gc.unfreeze()
    settings_env()
    from partner_review.models.events import generate

    bodies, counts = build_bodies(generate(8), batch_size=None, max_seq=100, settings=get_settings())
    frozen: list[int] = []

    async def progress(done, total, snap):
        frozen.append(gc.get_freeze_count())

    assert gc.get_freeze_count() == 0
    async with Raw(200, "OK") as base:
        plan = Plan(
            url=f"{base}/v1/events",
            host="127.0.0.1",
            address="127.0.0.1",
            headers={},
            bodies=bodies,
            events_per_body=counts,
            rate=100,
            duration=1.0,
            timeout=5.0,
            connections=8,
        )
        alive = len(gc.get_objects())
        m = await generate_load(plan, progress)
    assert m.responses == 100 and frozen
    assert min(frozen[:-1]) >= alive * 0.9  # every tick during the load (the last one comes after it)
    assert gc.get_freeze_count() == 0


async def test_every_event_sent_has_a_unique_message_id(settings_env):
    settings_env()
    from partner_review.models.events import generate

    bodies, counts = build_bodies(generate(40), batch_size=7, max_seq=99, settings=get_settings())
    plan = Plan(
        url="http://127.0.0.1:9/v1/batch",
        host="127.0.0.1",
        address="127.0.0.1",
        headers={},
        bodies=bodies,
        events_per_body=counts,
        rate=10,
        duration=10,
        timeout=1,
        connections=1,
    )
    ids = []
    for seq in range(100):  # every request of a run at 10/s for 10 s
        body, carried = plan.body(seq)
        batch = json.loads(body)["batch"]
        assert len(batch) == carried == 7
        ids += [e["messageId"] for e in batch]
    assert len(ids) == len(set(ids)) == 700


# The command-line entry ------------------------------------------------------------------------


def test_cli_runs_with_a_progress_bar_and_exits_by_the_verdict(example, settings_env, tmp_path, capsys):
    from partner_review.cli.load_test import run_cli

    settings_env()
    path = tmp_path / "submission.json"
    with running("flaky") as base:
        destination = next(c for c in example["components"] if c["type"] == "destination")
        destination["endpoint"] = f"{base}/v1/events"
        path.write_text(json.dumps(example))
        status = run_cli(str(path), 20, 1)
    out = capsys.readouterr().out
    assert status == 1  # VOL-003 is a blocker and failed
    assert "20 req/s × 1 s" in out and "VOL-003" in out and "fail" in out


@pytest.mark.parametrize(
    "content,rate,words",
    [
        (None, 10, "cannot read"),
        ("{not json", 10, "is not JSON"),
        ('{"version": 1}', 10, "components: required field is missing"),
        ("VALID", 5000, "load test refused"),
    ],
)
def test_cli_usage_errors_exit_2_with_a_message(example, settings_env, tmp_path, capsys, content, rate, words):
    from partner_review.cli.load_test import run_cli

    settings_env()
    path = tmp_path / "submission.json"
    if content is not None:
        path.write_text(json.dumps(example) if content == "VALID" else content)
    assert run_cli(str(path), rate, 1) == 2
    assert words in " ".join(capsys.readouterr().err.split())
