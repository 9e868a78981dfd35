"""Prefect tasks: the thin wrappers that give each stage retries, a name and observability.

The logic lives in tasks/ as plain functions (no Prefect import there, so `partner-review check`
and the docs linter stay fast); this module is where Prefect meets it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prefect import task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.cache_policies import NO_CACHE

from partner_review.flows import slots
from partner_review.models.checks import Result
from partner_review.models.settings import Settings
from partner_review.models.submission import Submission
from partner_review.tasks import pipeline
from partner_review.tasks.runner import Scope, applies, skip
from partner_review.tasks.volume import load as volume


async def _load_test_with_progress(
    submission: Submission, *, offline: bool = False, settings: Settings | None = None
) -> list[Result]:
    """The volume stage, one at a time per worker host and per partner host (flows/slots.py), with a
    progress artifact the UI updates while the load runs. The slots held are named in each VOL result;
    when they stay taken too long, the load test is not run and its checks are not verified."""
    scope = Scope.of(submission, offline=offline)
    if not applies(volume.CHECKS, scope):  # no traffic, nothing to show
        return await volume.load_test(submission, offline=offline, settings=settings)
    names = slots.volume_slots(submission)
    try:
        async with slots.holding(names, settings) as held:
            results = await _measured_load(submission, offline=offline, settings=settings)
    except slots.SlotsBusy as busy:
        return [skip(c, scope) or c.skipped(str(busy), concurrency={"slots": names}) for c in volume.CHECKS]
    return [r.model_copy(update={"evidence": {**r.evidence, "concurrency": held.evidence()}}) for r in results]


async def _measured_load(submission: Submission, *, offline: bool, settings: Settings | None) -> list[Result]:
    artifact = await acreate_progress_artifact(0.0, description="Load test progress")
    last = 0.0

    async def progress(done: int, total: int, _snapshot: dict) -> None:
        nonlocal last
        if done == total or time.monotonic() - last >= 1.0:  # the UI needs no more than one update a second
            last = time.monotonic()
            await aupdate_progress_artifact(artifact, 100.0 * done / max(total, 1))

    return await volume.load_test(submission, offline=offline, on_progress=progress, settings=settings)


# Prefect's `task` overloads name every option; options passed on as **kwargs match none of them.
_make_task: Callable[..., Any] = task


def _task(fn: Callable[..., Awaitable[Any]], name: str, **options: Any) -> Any:
    return _make_task(fn, name=name, cache_policy=NO_CACHE, **options)


# What a review flow runs in place of a stage's entry (the same stage, with what only a flow has).
IN_A_FLOW: dict[Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]] = {
    volume.load_test: _load_test_with_progress,
}
# Every declared review stage as its Prefect task (name and retries from the declaration).
STAGE_TASKS: dict[Callable[..., Awaitable[Any]], Any] = {
    pipeline.entry(s): _task(IN_A_FLOW.get(pipeline.entry(s), pipeline.entry(s)), s.task or s.name, retries=s.retries)
    for s in pipeline.review()
}


def stage_task(fn: Callable[..., Awaitable[Any]]) -> Any:
    """The Prefect task of the declared stage whose entry is `fn` (made on first use for a stage
    declared after this module was imported)."""
    found = STAGE_TASKS.get(fn)
    if found is None:
        declared = next(s for s in pipeline.review() if pipeline.entry(s) is fn)
        found = STAGE_TASKS[fn] = _task(IN_A_FLOW.get(fn, fn), declared.task or declared.name, retries=declared.retries)
    return found


async def as_task(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """`pipeline.run_checks`'s call hook: run the stage as its Prefect task."""
    return await stage_task(stage)(*args, **kwargs)


def blocking(fn: Callable[..., Any], *, name: str, retries: int = 0) -> Any:
    """A task around a blocking function (store, SMTP), run in a thread so the flow's loop stays free."""

    async def run(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    run.__name__ = run.__qualname__ = fn.__name__
    return _make_task(run, name=name, retries=retries, retry_delay_seconds=2, cache_policy=NO_CACHE)
