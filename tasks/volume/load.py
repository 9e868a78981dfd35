"""The volume stage: load every destination of a submission and judge it.

No Prefect here: the review flow wraps `load_test` in a task and turns `on_progress` into a
Prefect progress artifact; `partner-review load-test` (cli/load_test.py) shows it as a progress bar.
Where one process cannot hold the target rate, the schedule is split across several processes
(`processes.py`); one process runs in this event loop (`engine.py`).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
from collections.abc import Awaitable, Callable
from typing import Any

from partner_review.models.checks import Result
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Destination, Submission
from partner_review.tasks import collector
from partner_review.tasks.context import Context
from partner_review.tasks.runner import Scope, run_objects, stage
from partner_review.tasks.volume.engine import Run, snapshot
from partner_review.tasks.volume.judge import CHECKS, ERRORS, LATENCY, RATE, THROTTLING, Load
from partner_review.tasks.volume.payloads import BODY_VARIANTS, build_bodies, sample_events
from partner_review.tasks.volume.plan import (
    LoadProcessFailed,
    Measurement,
    Plan,
    Progress,
    Target,
    VolumeRefused,
    target,
    vetted_url,
)
from partner_review.tasks.volume.processes import run_split

__all__ = [
    "BODY_VARIANTS",
    "CHECKS",
    "ERRORS",
    "LATENCY",
    "RATE",
    "THROTTLING",
    "LoadProcessFailed",
    "Measurement",
    "Plan",
    "Progress",
    "VolumeRefused",
    "build_bodies",
    "generate_load",
    "load_test",
    "target",
]


async def generate_load(plan: Plan, on_progress: Progress | None = None) -> Measurement:
    """Send `plan.rate` requests/s for `plan.duration` s and measure the answers.

    One process runs in the current event loop; several are started (spawned) and merged.
    Returns when the schedule is over and every request has been answered or timed out: at most
    the duration plus the request timeout (and process start-up) after the call.
    """
    total = math.ceil(plan.rate * plan.duration - 1e-9)
    callback = _guarded(on_progress)

    async def tick_one(m: Measurement) -> None:
        if callback is not None:
            await callback(m.done, total, snapshot(m, plan))

    async def tick_many(done: int, counts: dict[str, Any]) -> None:
        if callback is not None:
            counts.pop("done")
            await callback(done, total, {**counts, "p99_seconds": None, "target_rate": plan.rate})

    with collector.frozen():  # a full GC pass over a large submission would hold the loop mid-load
        if plan.processes <= 1:
            return await Run(plan, 0).run(on_tick=tick_one if callback else None)
        measurement = await run_split(plan, tick_many if callback else None)
    if callback is not None:
        await callback(measurement.done, total, snapshot(measurement, plan))
    return measurement


def _guarded(on_progress: Progress | None) -> Callable[..., Awaitable[None]] | None:
    """The progress callback as a coroutine. An async callback is awaited; a plain function runs
    in a worker thread, so a blocking one (a synchronous API call) cannot hold up the requests
    sharing this event loop and show up as partner latency. A failing callback is reported once
    and then left alone, so a progress display cannot stop a load test."""
    if on_progress is None:
        return None
    broken: list[str] = []
    run_in_thread = not inspect.iscoroutinefunction(on_progress)

    async def call(done: int, total: int, data: dict[str, Any]) -> None:
        if broken:
            return
        try:
            if run_in_thread:
                outcome = await asyncio.to_thread(on_progress, done, total, data)
            else:
                outcome = on_progress(done, total, data)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:  # noqa: BLE001
            broken.append(f"{type(exc).__name__}: {exc}")
            import logging

            logging.getLogger(__name__).warning("load test progress callback failed, ignoring it: %s", broken[0])

    return call


@stage(CHECKS, network_use="sends load to the partner's endpoint")
async def load_test(
    submission: Submission,
    *,
    rate: float | None = None,
    duration: float | None = None,
    batch: bool | None = None,
    on_progress: Progress | None = None,
    offline: bool = False,
    settings: Settings | None = None,
) -> list[Result]:
    """Load every destination of the submission at `rate` requests/s for `duration` s and judge it.

    Defaults come from settings. Raises VolumeRefused (before any traffic) for a rate, duration or
    batch size out of range. `on_progress(done, total, snapshot)` is called about four times a
    second (sync or async).
    """
    settings = given_or_current(settings)
    chosen = target(settings, rate, duration, batch)
    destinations = submission.destinations
    results: list[Result] = []
    per = math.ceil(chosen.rate * chosen.duration - 1e-9)
    for k, destination in enumerate(destinations):
        label = f"{destination.name}: " if len(destinations) > 1 else ""

        def shifted(done: int, total: int, data: dict[str, Any], k: int = k, name: str = destination.name):
            if on_progress is not None:
                return on_progress(k * per + done, per * len(destinations), {**data, "component": name})

        scope = Scope.of(submission, offline=offline)
        results += await _load_destination(
            destination, chosen, settings, shifted if on_progress else None, label, scope=scope
        )
    return results


async def _load_destination(
    destination: Destination,
    chosen: Target,
    settings: Settings,
    on_progress: Progress | None,
    label: str,
    *,
    scope: Scope,
) -> list[Result]:
    import httpx

    from partner_review.tasks.e2e.exchange import auth_headers
    from partner_review.tasks.net import client as outbound

    mode = "batch" if chosen.batch else "events"
    url = destination.batch_endpoint if chosen.batch else destination.endpoint
    checks = CHECKS
    if not url:
        reason = f"{label}batch mode asked for, but the destination declares no batch_endpoint"
        return [c.skipped(reason) for c in checks]
    try:
        target_url, host, address = await vetted_url(url, settings)
    except (outbound.OutboundError, httpx.InvalidURL) as exc:
        return [c.errored(f"{label}the load test did not run: {exc}", endpoint=url) for c in checks]
    processes = max(1, min(math.ceil(chosen.rate / settings.volume_rate_per_process), os.cpu_count() or 1))
    total = math.ceil(chosen.rate * chosen.duration - 1e-9)
    events = sample_events(destination, BODY_VARIANTS if not chosen.batch else min(chosen.batch_size, 500))
    bodies, counts = build_bodies(
        events, batch_size=chosen.batch_size if chosen.batch else None, max_seq=total, settings=settings
    )
    plan = Plan(
        url=target_url,
        host=host,
        address=address,
        headers={"Content-Type": "application/json", "User-Agent": outbound.USER_AGENT}
        | auth_headers(destination.auth),
        bodies=bodies,
        events_per_body=counts,
        rate=chosen.rate,
        duration=chosen.duration,
        timeout=settings.volume_timeout_seconds,
        connections=max(1, math.ceil(settings.volume_connections / processes)),
        processes=processes,
    )
    try:
        measurement = await generate_load(plan, on_progress)
    except LoadProcessFailed as exc:
        return [c.errored(f"{label}the load test could not finish: {exc}", endpoint=url) for c in checks]
    # The load is over: the checks judge what it measured (tasks/volume/judge.py).
    load = Load(measurement, plan, mode, label=label, shown=url, events_per_batch=max(counts) if chosen.batch else None)
    return run_objects(CHECKS, load, Context.of(settings), scope)
