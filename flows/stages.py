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
from partner_review.models.submission import Submission
from partner_review.tasks import pipeline
from partner_review.tasks.runner import Scope, applies, skip
from partner_review.tasks.volume import load as volume


async def _load_test_with_progress(submission: Submission, *, offline: bool = False) -> list[Result]:
    """The volume stage, one at a time per worker host and per partner host (flows/slots.py), with a
    progress artifact the UI updates while the load runs. The slots held are named in each VOL result;
    when they stay taken too long, the load test is not run and its checks are not verified."""
    scope = Scope.of(submission, offline=offline)
    if not applies(volume.CHECKS, scope):  # no traffic, nothing to show
        return await volume.load_test(submission, offline=offline)
    names = slots.volume_slots(submission)
    try:
        async with slots.holding(names) as held:
            results = await _measured_load(submission, offline=offline)
    except slots.SlotsBusy as busy:
        return [skip(c, scope) or c.skipped(str(busy), concurrency={"slots": names}) for c in volume.CHECKS]
    return [r.model_copy(update={"evidence": {**r.evidence, "concurrency": held.evidence()}}) for r in results]


async def _measured_load(submission: Submission, *, offline: bool) -> list[Result]:
    artifact = await acreate_progress_artifact(0.0, description="Load test progress")
    last = 0.0

    async def progress(done: int, total: int, _snapshot: dict) -> None:
        nonlocal last
        if done == total or time.monotonic() - last >= 1.0:  # the UI needs no more than one update a second
            last = time.monotonic()
            await aupdate_progress_artifact(artifact, 100.0 * done / max(total, 1))

    return await volume.load_test(submission, offline=offline, on_progress=progress)


# Prefect's `task` overloads name every option; options passed on as **kwargs match none of them.
_make_task: Callable[..., Any] = task


def _task(fn: Callable[..., Awaitable[Any]], name: str, **options: Any) -> Any:
    return _make_task(fn, name=name, cache_policy=NO_CACHE, **options)


STAGE_TASKS: dict[Callable[..., Awaitable[Any]], Any] = {
    pipeline.verify_catalog: _task(pipeline.verify_catalog, "verify-catalog-fields"),
    pipeline.run_e2e_suite: _task(pipeline.run_e2e_suite, "test-destination-end-to-end"),
    pipeline.check_sources: _task(pipeline.check_sources, "check-source-spec-adherence"),
    pipeline.lint_documentation: _task(pipeline.lint_documentation, "lint-documentation", retries=1),
    pipeline.check_links: _task(pipeline.check_links, "check-partner-page-launch-post-and-links"),
    pipeline.load_test: _task(_load_test_with_progress, "test-high-data-volume"),
    pipeline.check_replay: _task(pipeline.check_replay, "check-replay-compatibility"),
    pipeline.check_update: _task(pipeline.check_update, "check-update-compatibility"),
    pipeline.check_security: _task(pipeline.check_security, "check-security-guidance"),
}


async def as_task(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """`pipeline.run_checks`'s call hook: run the stage as its Prefect task."""
    return await STAGE_TASKS[stage](*args, **kwargs)


def blocking(fn: Callable[..., Any], *, name: str, retries: int = 0) -> Any:
    """A task around a blocking function (store, SMTP), run in a thread so the flow's loop stays free."""

    async def run(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    run.__name__ = run.__qualname__ = fn.__name__
    return _make_task(run, name=name, retries=retries, retry_delay_seconds=2, cache_policy=NO_CACHE)
