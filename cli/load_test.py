"""`partner-review load-test`: the volume stage for one submission file, with a rich progress bar."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from partner_review.cli.errors import CommandError, fail, report
from partner_review.models.settings import Settings
from partner_review.tasks.volume.load import load_test
from partner_review.tasks.volume.plan import VolumeRefused, target, vetted_url


async def _vet(submission: Any, settings: Settings) -> None:
    """Each destination's endpoint through the outbound guard before any traffic: a loopback or
    private target is a refused target (exit 2), not a failed check."""
    import httpx

    from partner_review.tasks.net import client as outbound

    for destination in submission.destinations:
        try:
            await vetted_url(destination.endpoint, settings)
        except (outbound.OutboundError, httpx.InvalidURL) as exc:
            raise VolumeRefused(f"{destination.name}: {destination.endpoint}: {exc}") from None


def run_cli(submission_path: Path | str, rate: float | None = None, duration: float | None = None) -> int:
    """`partner-review load-test SUBMISSION.json --rate R --duration S`: a progress bar, then the
    results. Exit status 0 when no blocker failed, 1 when one did, 2 for a usage error or a target
    refused before any traffic (out-of-range rate or duration, an address the network guard refuses)."""
    try:
        return _run(Path(submission_path), rate, duration)
    except CommandError as error:
        return report("load-test", str(error), error.status)


def _run(submission_path: Path, rate: float | None, duration: float | None) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar
    from rich.table import Table
    from rich.text import Text

    from partner_review.cli.files import load_submission_file
    from partner_review.flows.context import entry_context

    settings = entry_context().settings
    submission = load_submission_file(submission_path)
    try:
        chosen = target(settings, rate, duration, None)
        asyncio.run(_vet(submission, settings))
    except VolumeRefused as exc:
        fail(f"load test refused: {exc}")

    console = Console()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    with Bar(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"{chosen.rate:g} req/s × {chosen.duration:g} s", total=None, stats="")

        def show(done: int, total: int, snap: dict[str, Any]) -> None:
            p99 = snap.get("p99_seconds")
            stats = (
                f"sent {snap['sent']}  errors {snap['errors']}  timeouts {snap['timeouts']}  "
                f"429 {snap['rate_limited']}" + (f"  p99 {p99:.3f} s" if p99 is not None else "")
            )
            bar.update(task, completed=done, total=total, stats=stats)

        try:
            results = asyncio.run(
                load_test(submission, rate=chosen.rate, duration=chosen.duration, on_progress=show, settings=settings)
            )
        except VolumeRefused as exc:
            fail(f"load test refused: {exc}")

    table = Table("check", "outcome", "message", show_lines=False)
    colours = {"pass": "green", "warn": "yellow", "skip": "dim", "fail": "red", "error": "red"}
    for r in results:
        table.add_row(r.check, Text(r.outcome, style=colours[r.outcome]), Text(r.message))
    console.print(table)
    return 1 if any(r.blocks for r in results) else 0
