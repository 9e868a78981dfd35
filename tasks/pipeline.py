"""Which checks run, in which order: the one definition of the review's automated stages.

`run_checks` calls each stage through `call`. The `check` command calls the plain functions
directly; the Prefect flow passes a `call` that runs each stage as its task. Either way the same
stages run in the same order:

    catalog ─┐
    spec ────┤
    links ───┤  (at once; the doc page's links and anchors come from the page itself)
    security ┤  (TLS versions, certificates, HSTS, security.txt, credentials: after e2e, see below)
    e2e ─────┴─▶ docs   (compared with what the endpoint really accepted)
                 compat ─▶ replay ─▶ volume (after e2e, so the load skews neither e2e latencies nor
                                             replay's answers)
    compat: a new version against the one already live, when there is one: its fields, and the same
    traffic sent to both versions (after e2e: no other traffic of ours meets the comparison)

Each stage skips what does not apply (offline, no destination or source component) through the
one runner (`tasks/runner.py`), so every skipped check still has a result that says why.
A `Selection` (`tasks/selection.py`) limits a run to some stages or checks: the rest are not called.

The CPU-bound work (SVG analysis and the tile, the docs linter and its link extraction, Spec
validation) runs in worker processes (`tasks/offload.py`, started first), never on the loop where
e2e and the load test time the partner's answers: docs runs beside replay and volume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from partner_review.models.checks import Result, Stage
from partner_review.models.submission import Submission
from partner_review.tasks import offload
from partner_review.tasks.catalog import fields as catalog
from partner_review.tasks.catalog import render as tile
from partner_review.tasks.catalog.remote import RemoteSvg, fetch_svgs
from partner_review.tasks.compat.behaviour import compare_behaviour
from partner_review.tasks.compat.gate import check_compat
from partner_review.tasks.docs.lint import links_and_anchors, lint_documentation
from partner_review.tasks.e2e.replay import check_replay
from partner_review.tasks.e2e.suite import run_e2e_suite
from partner_review.tasks.links.linkcheck import check_links
from partner_review.tasks.security.stage import check_security
from partner_review.tasks.selection import PIPELINE_STAGES, Selection
from partner_review.tasks.spec.sources import check_sources
from partner_review.tasks.volume.load import load_test

Call = Callable[..., Awaitable[Any]]
CPU_STAGES: frozenset[Stage] = frozenset({"catalog", "spec", "links", "docs"})  # those with work for tasks/offload.py
EVERYTHING = Selection(stages=frozenset(PIPELINE_STAGES), called=frozenset(PIPELINE_STAGES))


async def verify_catalog(submission: Submission, *, offline: bool = False) -> list[Result]:
    """Remote logo and mark fetched through the guarded client, then every catalog check and the
    tile rendering in a worker process (`tasks/offload.py`): SVG analysis and resvg are CPU work
    that must not stall the loop while e2e and the load test measure latency."""
    remote = await fetch_svgs(submission, offline=offline)
    return await offload.run(judge_catalog, submission.without_sample_events(), remote)


def judge_catalog(submission: Submission, remote: dict[str, RemoteSvg]) -> list[Result]:
    """The catalog checks and the tile's rendering checks (plain CPU work, run in a worker process)."""
    return catalog.verify_catalog_fields(submission, remote=remote) + tile.verify_rendering(submission)


async def check_update(
    submission: Submission, released: Submission | None, *, reason: str = "", offline: bool = False
) -> list[Result]:
    """The update gate on the fields, then the same traffic to the live and the new version compared."""
    fields = check_compat(submission, released, reason=reason)
    return fields + await compare_behaviour(submission, released, reason=reason, offline=offline)


async def direct(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return await stage(*args, **kwargs)


async def run_checks(
    submission: Submission,
    *,
    offline: bool = False,
    call: Call = direct,
    released: Submission | None = None,
    released_reason: str = "",
    only: Selection | None = None,
) -> list[Result]:
    """Every automated stage for one submission; stages that do not depend on each other run at once.

    `released`: the live version this one updates (stage compat; skipped with `released_reason` when None).
    `only`: run just the stages it selects (the others are not called) and report just its results.
    docs and replay take what e2e accepted; when e2e is not selected they run without it (docs then
    skips its comparison with the endpoint, saying so; replay probes the declared call types).
    """
    chosen = only or EVERYTHING

    async def run(name: Stage, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> list[Result]:
        return list(await call(fn, *args, **kwargs)) if chosen.runs(name) else []

    async def destination_side() -> tuple[list[Result], list[Result]]:
        e2e_results: list[Result] = []
        calls: set[str] | None = None
        if chosen.runs("e2e"):
            e2e_results, accepted = await call(run_e2e_suite, submission, offline=offline)
            tested = any(r.outcome != "skip" for r in e2e_results)  # else there is nothing to compare the docs with
            calls = set(accepted) if tested else None

        async def replay_then_volume() -> tuple[list[Result], list[Result], list[Result]]:
            # compat and security send traffic to the endpoint too: after e2e, before replay and the
            # load, never beside them.
            compat = await run("compat", check_update, submission, released, reason=released_reason, offline=offline)
            security = await run("security", check_security, submission, offline=offline)
            replay_results = await run("replay", check_replay, submission, accepted_calls=calls, offline=offline)
            return compat + security, replay_results, await run("volume", load_test, submission, offline=offline)

        docs_results, (compat_results, replay_results, volume_results) = await asyncio.gather(
            run("docs", lint_documentation, submission, accepted_calls=calls, offline=offline),
            replay_then_volume(),
        )
        return list(e2e_results) + replay_results + docs_results + volume_results, compat_results

    if chosen.called & CPU_STAGES:
        offload.warm()  # the worker processes start now, not in the middle of e2e's or the load's timing
    markdown = submission.app.docs.segment_markdown
    doc_links: list[tuple[str, int]] = []
    doc_anchors: set[str] = set()
    if markdown and chosen.runs("links"):
        doc_links, doc_anchors = await offload.run(links_and_anchors, markdown)
    catalog_results, spec_results, link_results, (destination_results, compat_results) = await asyncio.gather(
        run("catalog", verify_catalog, submission, offline=offline),
        run("spec", check_sources, submission, offline=offline),
        run("links", check_links, submission, doc_links=doc_links, doc_anchors=doc_anchors, offline=offline),
        destination_side(),
    )
    results = catalog_results + destination_results + spec_results + link_results + compat_results
    return results if only is None else [r for r in results if only.keeps(r)]
