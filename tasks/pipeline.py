"""Which checks run, in which order: the one definition of the review's automated stages.

`run_checks` calls each stage through `call`. The `check` command calls the plain functions
directly; the Prefect flow passes a `call` that runs each stage as its task. Either way the same
stages run in the same order:

    catalog ─┐
    spec ────┤  (at once)
    e2e ─────┴─▶ docs (uses what the endpoint really accepted) ─┐
                 volume (after e2e: a load test must not skew e2e latencies) ─┘
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from models.checks import Result
from models.submission import Submission
from tasks import catalog
from tasks.e2e import test_destinations
from tasks.spec import check_sources
from tasks.volume import load_test

Call = Callable[..., Awaitable[Any]]


async def verify_catalog(submission: Submission) -> list[Result]:
    return catalog.verify_catalog_fields(submission)


async def direct(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return await stage(*args, **kwargs)


async def run_checks(submission: Submission, *, offline: bool = False, call: Call = direct) -> list[Result]:
    """Every automated stage for one submission; stages that do not depend on each other run at once."""

    async def destination_side() -> list[Result]:
        e2e_results, _accepted = await call(test_destinations, submission, offline=offline)
        volume_results = await call(load_test, submission, offline=offline)
        return list(e2e_results) + list(volume_results)

    catalog_results, spec_results, destination_results = await asyncio.gather(
        call(verify_catalog, submission),
        call(check_sources, submission, offline=offline),
        destination_side(),
    )
    return list(catalog_results) + list(destination_results) + list(spec_results)
