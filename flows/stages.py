"""Prefect tasks: the thin wrappers that give each stage retries, a name and observability.

The logic lives in tasks/ as plain functions (no Prefect import there, so `partner-review check`
and the docs linter stay fast); this module is where Prefect meets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from prefect import task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.asyncio import concurrency

from partner_review.models.checks import Result
from partner_review.models.submission import Submission
from partner_review.tasks import pipeline
from partner_review.tasks.runner import Scope, applies
from partner_review.tasks.volume import load as volume


def volume_slots(submission: Submission) -> list[str]:
    """The global concurrency limits a load test holds: one per worker host (two load tests on one
    machine would skew each other's figures) and one per partner host (a partner takes one at a time)."""
    hosts = sorted({urlsplit(d.endpoint).hostname or "" for d in submission.destinations} - {""})
    names = [f"volume-worker-{socket.gethostname()}", *(f"volume-partner-{host}" for host in hosts)]
    return [re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:100] for name in names]


_CREATING = threading.Lock()  # one creator per process: the server logs every race it loses


def _ensure_limits(names: list[str]) -> None:
    """Create each limit with one slot unless it exists (3.9's concurrency() creates none itself)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with _CREATING, get_client(sync_client=True) as client:
        for name in names:
            try:
                client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                with contextlib.suppress(ObjectAlreadyExists):  # another process created it meanwhile
                    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


async def _load_test_with_progress(submission: Submission, *, offline: bool = False) -> list[Result]:
    """The volume stage, one at a time per worker host and per partner host, with a progress
    artifact the UI updates while the load runs. The slots held are named in each VOL result."""
    if not applies(volume.CHECKS, Scope.of(submission, offline=offline)):  # no traffic, nothing to show
        return await volume.load_test(submission, offline=offline)
    slots = volume_slots(submission)
    await asyncio.to_thread(_ensure_limits, slots)
    async with concurrency(slots, occupy=1, strict=True):
        held_from = datetime.now(UTC).isoformat()
        results = await _measured_load(submission, offline=offline)
        held = {"slots": slots, "held_from": held_from, "held_until": datetime.now(UTC).isoformat()}
    return [r.model_copy(update={"evidence": {**r.evidence, "concurrency": held}}) for r in results]


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
