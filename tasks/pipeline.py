"""Which checks run, in which order: the one definition of the review's automated stages.

`run_checks` calls each stage through `call`. The `check` command calls the plain functions
directly; the Prefect flow passes a `call` that runs each stage as a task. Either way the same
stages run in the same order.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from models.checks import Result
from models.submission import Submission
from tasks import catalog


async def verify_catalog(submission: Submission) -> list[Result]:
    return catalog.verify_catalog_fields(submission)


Call = Callable[..., Awaitable[Any]]


async def direct(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return await stage(*args, **kwargs)


async def run_checks(submission: Submission, *, offline: bool = False, call: Call = direct) -> list[Result]:
    """Every automated stage for one submission; stages that do not depend on each other run at once."""
    (catalog_results,) = await asyncio.gather(call(verify_catalog, submission))
    return list(catalog_results)
