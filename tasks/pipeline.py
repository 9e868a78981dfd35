"""Which checks run, in which order: the one definition of the review's automated stages.

`run_checks` calls each stage through `call`. The `check` command calls the plain functions
directly; the Prefect flow passes a `call` that runs each stage as its task. Either way the same
stages run in the same order:

    catalog ─┐
    spec ────┤
    links ───┤  (at once; the doc page's links and anchors come from the page itself)
    e2e ─────┴─▶ docs   (compared with what the endpoint really accepted)
                 volume (after e2e, so the load cannot skew e2e latencies)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from partner_review.models.checks import Result
from partner_review.models.submission import Submission
from partner_review.tasks.catalog import fields as catalog
from partner_review.tasks.catalog import render as tile
from partner_review.tasks.docs.lint import links_and_anchors, lint_documentation
from partner_review.tasks.e2e.suite import test_destinations
from partner_review.tasks.links.linkcheck import check_links
from partner_review.tasks.spec.sources import check_sources
from partner_review.tasks.volume.load import load_test

Call = Callable[..., Awaitable[Any]]


async def verify_catalog(submission: Submission) -> list[Result]:
    rendering = await asyncio.to_thread(tile.verify_rendering, submission)  # resvg is CPU-bound
    return catalog.verify_catalog_fields(submission) + rendering


async def direct(stage: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return await stage(*args, **kwargs)


async def run_checks(submission: Submission, *, offline: bool = False, call: Call = direct) -> list[Result]:
    """Every automated stage for one submission; stages that do not depend on each other run at once."""

    async def destination_side() -> list[Result]:
        e2e_results, accepted = await call(test_destinations, submission, offline=offline)
        tested = any(r.outcome != "skip" for r in e2e_results)  # else there is nothing to compare the docs with
        docs_results, volume_results = await asyncio.gather(
            call(lint_documentation, submission, accepted_calls=set(accepted) if tested else None, offline=offline),
            call(load_test, submission, offline=offline),
        )
        return list(e2e_results) + list(docs_results) + list(volume_results)

    markdown = submission.app.docs.segment_markdown
    doc_links, doc_anchors = links_and_anchors(markdown) if markdown else ([], set())
    catalog_results, spec_results, link_results, destination_results = await asyncio.gather(
        call(verify_catalog, submission),
        call(check_sources, submission, offline=offline),
        call(check_links, submission, doc_links=doc_links, doc_anchors=doc_anchors, offline=offline),
        destination_side(),
    )
    return list(catalog_results) + list(destination_results) + list(spec_results) + list(link_results)
