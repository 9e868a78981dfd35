"""A heavy but legal logo, doc page and sample events in the same review leave the load test's
latency figures alone: their CPU work runs in worker processes (tasks/offload.py), not on the
event loop that sends the load and times each answer from when its request was due.

The load test runs against the conformant sample partner in a process of its own (a partner in
this process would share its GIL and add delays of its own). The catalog, spec and docs stages
are called as `run_checks` calls them, but started once the load is under way, and they must run
beside it (asserted from the load's progress): in a real review the docs linter starts beside the
load only when replay is quick, and a test that lets the heavy work end first cannot fail. The
heavy run's p99 and max are compared with those of a baseline load test just before and just
after it in the same test, so a machine busy with other work slows all three alike; a run that a
passing burst of other work stalled anyway is tried again (up to three times).

With the offload replaced by a direct call (the work on the loop), every heavy run's p99 and max
come out about as long as the heavy work itself (0.7-1.3 s here) and the test fails; with
asyncio.to_thread instead, 0.3-0.6 s.
"""

from __future__ import annotations

import asyncio

import pytest

from partner_review.models.submission import parse_submission
from partner_review.partners import running_apart
from partner_review.tasks import offload
from tests.e2e.heavy import Run, loaded, make_heavy

RATE, DURATION = 100, 8.0  # 800 requests: a stall of 0.1 s delays ~1 % of them, and so shows in the p99
P99_TOLERANCE = 0.15  # seconds over the worse baseline; the work on the loop adds 0.6 s or more
MAX_TOLERANCE = 0.3
MIN_OVERLAP = 2.0  # seconds of heavy work inside the load, unless all of it was
ATTEMPTS = 3  # a busy machine can stall any one run; work on the loop stalls every one


def check_heavy_work(heavy: Run) -> None:
    """The heavy work really ran, in full, and really overlapped the load: it started once
    requests were answered, and ended before the schedule did or ran beside it for MIN_OVERLAP s
    at least (on a machine slowed by other work)."""
    catalog, spec, docs = heavy.stages
    assert {r.check for r in catalog} >= {"CAT-009", "CAT-031"} and all(r.outcome != "error" for r in catalog)
    assert next(r for r in catalog if r.check == "CAT-031").outcome == "pass"  # the logo was rendered
    checked = {r.evidence.get("events_checked") for r in spec if r.check != "SPEC-018"}
    assert checked == {10_000} and all(r.outcome == "pass" for r in spec if r.check != "SPEC-018")
    assert any(r.outcome == "pass" for r in docs) and all(r.outcome != "error" for r in docs)
    took = heavy.ended - heavy.started
    assert heavy.started > heavy.first_sent and heavy.done_at(heavy.started) > 0
    assert heavy.overlap(DURATION) >= min(took, MIN_OVERLAP), (
        f"the heavy work ({took:.1f} s) hardly overlapped the load"
    )


def within(before: Run, heavy: Run, after: Run) -> tuple[bool, str]:
    """Whether the heavy run's p99 and max are within tolerance of the worse baseline, and the figures."""
    figures = "; ".join(
        f"{name} p99 {run.latency['p99'] * 1000:.0f} ms, max {run.latency['max'] * 1000:.0f} ms, "
        f"longest loop gap {run.loop_gap * 1000:.0f} ms"
        for name, run in (("before", before), ("heavy", heavy), ("after", after))
    )
    figures += f" (heavy work {heavy.ended - heavy.started:.1f} s)"
    p99 = heavy.latency["p99"] <= max(before.latency["p99"], after.latency["p99"]) + P99_TOLERANCE
    top = heavy.latency["max"] <= max(before.latency["max"], after.latency["max"]) + MAX_TOLERANCE
    return p99 and top, figures


async def test_heavy_logo_page_and_events_do_not_change_the_load_tests_latency(example, shared_dir):
    attempts: list[str] = []
    with running_apart("conformant") as base:
        destination = next(c for c in example["components"] if c["type"] == "destination")
        destination["endpoint"] = f"{base}/v1/events"
        destination.pop("batch_endpoint", None)
        submission = parse_submission(make_heavy(example))
        await asyncio.gather(*(asyncio.wrap_future(f) for f in offload.warm()))  # as run_checks does first
        for _ in range(ATTEMPTS):
            before = await loaded(submission, heavy=False, rate=RATE, duration=DURATION)
            heavy = await loaded(submission, heavy=True, rate=RATE, duration=DURATION)
            after = await loaded(submission, heavy=False, rate=RATE, duration=DURATION)
            for run in (before, heavy, after):
                assert next(r for r in run.results if r.check == "VOL-001").outcome == "pass", run.results
            check_heavy_work(heavy)
            ok, figures = within(before, heavy, after)
            attempts.append(figures)
            print("load test latency from the due time:", figures)
            if ok:
                return
    pytest.fail("the heavy work changed the load test's latency in every attempt:\n" + "\n".join(attempts))
