"""Runs the review's automated stages as models/stages.py declares them (no stage is named here).

`run_checks` calls each declared stage's entry through `call`. The `check` command calls the plain
functions directly; the Prefect flow passes a `call` that runs each stage as its task. A stage
starts once the stages it runs `after` are done; with today's declarations that is:

    catalog ─┐
    spec ────┤
    links ───┤  (at once; the doc page's links and anchors come from the page itself)
    compat ──┤  (a pure comparison with the released version of a live app, when there is one)
    e2e ─────┴─▶ docs   (compared with what the endpoint really accepted)
                 replay ─▶ volume (after e2e, so the load skews neither e2e latencies nor replay's answers)

Each stage skips what does not apply (offline, no destination or source component) through the
one runner (`tasks/runner.py`), so every skipped check still has a result that says why.
A `Selection` (`tasks/selection.py`) limits a run to some stages or checks: the rest are not called.

The CPU-bound work (SVG analysis and the tile, the docs linter and its link extraction, Spec
validation) runs in worker processes (`tasks/offload.py`, started first), never on the loop where
e2e and the load test time the partner's answers: docs runs beside replay and volume.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from partner_review.models.checks import Result
from partner_review.models.settings import Settings
from partner_review.models.stages import StageSpec, declared
from partner_review.models.submission import Submission
from partner_review.tasks import offload
from partner_review.tasks.catalog.stage import verify_catalog
from partner_review.tasks.compat.gate import check_update
from partner_review.tasks.docs.lint import links_and_anchors, lint_documentation
from partner_review.tasks.e2e.replay import check_replay
from partner_review.tasks.e2e.suite import run_e2e_suite
from partner_review.tasks.links.linkcheck import check_links
from partner_review.tasks.security.stage import check_security
from partner_review.tasks.selection import Selection
from partner_review.tasks.spec.sources import check_sources
from partner_review.tasks.volume.load import load_test

# The stages' entries, importable from here as before (tests and benchmarks call them by these names).
__all__ = [
    "check_links",
    "check_replay",
    "check_security",
    "check_sources",
    "check_update",
    "lint_documentation",
    "load_test",
    "run_e2e_suite",
    "verify_catalog",
]

Call = Callable[..., Awaitable[Any]]


def review() -> tuple[StageSpec, ...]:
    """The declared stages of the pre-launch review, in the order their results are listed."""
    return tuple(sorted((s for s in declared() if s.in_review), key=lambda s: s.listed))


async def direct(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return await stage(*args, **kwargs)


@functools.cache
def entry(stage: StageSpec) -> Callable[..., Awaitable[Any]]:
    """The function a stage declares as its entry (`module:function` under tasks/)."""
    module, _, name = stage.entry.partition(":")
    found: Callable[..., Awaitable[Any]] = getattr(importlib.import_module(f"partner_review.tasks.{module}"), name)
    return found


async def run_checks(
    submission: Submission,
    *,
    offline: bool = False,
    call: Call = direct,
    released: Submission | None = None,
    released_reason: str = "",
    only: Selection | None = None,
    settings: Settings | None = None,
) -> list[Result]:
    """Every automated stage for one submission; stages that do not wait for each other run at once.

    The stages are the declared ones with an entry (models/stages.py); each starts once the stages it
    runs `after` are done, and takes the inputs it names: `released` (the live version this one
    updates; the update gate skips with `released_reason` when None), `doc_links`/`doc_anchors` (from
    the doc page, in a worker process) or what an earlier stage `gives` (e2e: the call types the
    endpoint accepted, None when e2e did not run or tested nothing: docs then skips its comparison,
    replay probes the declared call types). Results come in the stages' `listed` order.
    `only`: run just the stages it selects (the others are not called) and report just its results.
    """
    chosen = only or Selection.everything()
    stages = review()
    inputs: dict[str, Any] = {"released": released, "released_reason": released_reason}
    done: dict[str, asyncio.Future[list[Result]]] = {s.name: asyncio.get_running_loop().create_future() for s in stages}

    async def prepare() -> None:
        markdown = submission.app.docs.segment_markdown
        links, anchors = await offload.run_as(settings, links_and_anchors, markdown) if markdown else ([], set())
        inputs.update(doc_links=links, doc_anchors=anchors)

    async def run(stage: StageSpec) -> None:
        try:
            for before in stage.after:
                await asyncio.shield(done[before])
            results: list[Result] = []
            if chosen.runs(stage.name):
                kwargs = {name: inputs.get(name) for name in stage.takes}
                outcome = await call(entry(stage), submission, offline=offline, settings=settings, **kwargs)
                if stage.gives:
                    results, given = outcome
                    tested = any(r.outcome != "skip" for r in results)  # else there is nothing to pass on
                    inputs[stage.gives] = set(given) if tested else None
                else:
                    results = outcome
            done[stage.name].set_result(list(results))
        except BaseException as error:
            done[stage.name].set_exception(error)  # the stages after it do not run
            done[stage.name].exception()  # retrieved: raised once, by gather below
            raise

    running = [s for s in stages if chosen.runs(s.name)]
    if any(s.cpu for s in running):
        offload.warm()  # the worker processes start now, not in the middle of e2e's or the load's timing
    if any({"doc_links", "doc_anchors"} & set(s.takes) for s in running):
        await prepare()
    await asyncio.gather(*(run(s) for s in stages))
    results = [r for s in stages for r in done[s.name].result()]
    return results if only is None else [r for r in results if only.keeps(r)]
