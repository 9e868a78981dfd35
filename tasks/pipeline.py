"""Which checks run, in which order: the one definition of the review's automated stages.

`run_checks` calls each stage through `call`. The `check` command calls the plain functions
directly; the Prefect flow passes a `call` that runs each stage as its task. Either way the same
stages run in the same order:

    catalog ─┐
    spec ────┤
    links ───┤  (at once; the doc page's links and anchors come from the page itself)
    compat ──┤  (a pure comparison with the released version of a live app, when there is one)
    e2e ─────┴─▶ docs   (compared with what the endpoint really accepted)
                 replay ─▶ volume (after e2e, so the load skews neither e2e latencies nor replay's answers)
    compat (a new version against the one already live, when there is one)

Each stage skips what does not apply (offline, no destination or source component) through the
one runner (`tasks/runner.py`), so every skipped check still has a result that says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from partner_review.models.checks import Result
from partner_review.models.submission import Submission
from partner_review.tasks.catalog import fields as catalog
from partner_review.tasks.catalog.remote import fetch_svgs
from partner_review.tasks.compat.gate import check_compat
from partner_review.tasks.docs.lint import links_and_anchors, lint_documentation
from partner_review.tasks.e2e.replay import check_replay
from partner_review.tasks.e2e.suite import run_e2e_suite
from partner_review.tasks.links.linkcheck import check_links
from partner_review.tasks.spec.sources import check_sources
from partner_review.tasks.volume.load import load_test

Call = Callable[..., Awaitable[Any]]


async def verify_catalog(submission: Submission, *, offline: bool = False) -> list[Result]:
    """Remote logo and mark fetched through the guarded client, then every catalog check in a worker
    thread: SVG analysis is CPU work that must not stall the loop while e2e measures latency."""
    remote = await fetch_svgs(submission, offline=offline)
    return await asyncio.to_thread(catalog.verify_catalog_fields, submission, remote=remote)


async def check_update(submission: Submission, released: Submission | None, *, reason: str = "") -> list[Result]:
    return check_compat(submission, released, reason=reason)


async def direct(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return await stage(*args, **kwargs)


async def run_checks(
    submission: Submission,
    *,
    offline: bool = False,
    call: Call = direct,
    released: Submission | None = None,
    released_reason: str = "",
) -> list[Result]:
    """Every automated stage for one submission; stages that do not depend on each other run at once.

    `released`: the live version this one updates (stage compat; skipped with `released_reason` when None).
    """

    async def destination_side() -> list[Result]:
        e2e_results, accepted = await call(run_e2e_suite, submission, offline=offline)
        tested = any(r.outcome != "skip" for r in e2e_results)  # else there is nothing to compare the docs with
        calls = set(accepted) if tested else None

        async def replay_then_volume() -> tuple[list[Result], list[Result]]:
            replay_results = await call(check_replay, submission, accepted_calls=calls, offline=offline)
            return list(replay_results), list(await call(load_test, submission, offline=offline))

        docs_results, (replay_results, volume_results) = await asyncio.gather(
            call(lint_documentation, submission, accepted_calls=calls, offline=offline),
            replay_then_volume(),
        )
        return list(e2e_results) + replay_results + list(docs_results) + volume_results

    markdown = submission.app.docs.segment_markdown
    doc_links, doc_anchors = await asyncio.to_thread(links_and_anchors, markdown) if markdown else ([], set())
    catalog_results, spec_results, link_results, destination_results, compat_results = await asyncio.gather(
        call(verify_catalog, submission, offline=offline),
        call(check_sources, submission, offline=offline),
        call(check_links, submission, doc_links=doc_links, doc_anchors=doc_anchors, offline=offline),
        destination_side(),
        call(check_update, submission, released, reason=released_reason),
    )
    return (
        list(catalog_results)
        + list(destination_results)
        + list(spec_results)
        + list(link_results)
        + list(compat_results)
    )
