"""Stage `catalog`'s entry: the remote logo and mark fetched, then every catalog check and the tile."""

from __future__ import annotations

from partner_review.models.checks import Result
from partner_review.models.settings import Settings
from partner_review.models.submission import Submission
from partner_review.tasks import offload
from partner_review.tasks.catalog import fields as catalog
from partner_review.tasks.catalog import render as tile
from partner_review.tasks.catalog.remote import RemoteSvg, fetch_svgs


async def verify_catalog(
    submission: Submission, *, offline: bool = False, settings: Settings | None = None
) -> list[Result]:
    """Remote logo and mark fetched through the guarded client, then every catalog check and the
    tile rendering in a worker process (`tasks/offload.py`): SVG analysis and resvg are CPU work
    that must not stall the loop while e2e and the load test measure latency."""
    remote = await fetch_svgs(submission, offline=offline, settings=settings)
    return await offload.run_as(settings, judge_catalog, submission.without_sample_events(), remote)


def judge_catalog(submission: Submission, remote: dict[str, RemoteSvg]) -> list[Result]:
    """The catalog checks and the tile's rendering checks (plain CPU work, run in a worker process):
    each gathers its subject once (`Catalog`: the logo and mark analysed; `Rendering`: the tile's
    drawings) and runs its check objects on it."""
    return catalog.verify_catalog_fields(submission, remote=remote) + tile.verify_rendering(submission)
