"""Prefect tasks: the thin wrappers that give each stage retries, a name and observability.

The logic lives in tasks/ as plain functions (no Prefect import there, so `partner-review check`
and the docs linter stay fast); this module is where Prefect meets it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks import pipeline

STAGE_TASKS: dict[Callable[..., Awaitable[Any]], Any] = {
    pipeline.verify_catalog: task(pipeline.verify_catalog, name="verify-catalog-fields", cache_policy=NO_CACHE),
}


async def as_task(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """`pipeline.run_checks`'s call hook: run the stage as its Prefect task."""
    return await STAGE_TASKS[stage](*args, **kwargs)


def blocking(fn: Callable[..., Any], *, name: str, retries: int = 0) -> Any:
    """A task around a blocking function (store, SMTP), run in a thread so the flow's loop stays free."""

    async def run(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    run.__name__ = run.__qualname__ = fn.__name__
    return task(run, name=name, retries=retries, retry_delay_seconds=2, cache_policy=NO_CACHE)
