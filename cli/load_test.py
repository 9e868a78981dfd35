"""`partner-review load-test`: the volume stage for one submission file, with a rich progress bar."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from partner_review.models.settings import get_settings
from partner_review.tasks.volume.load import load_test
from partner_review.tasks.volume.plan import VolumeRefused, target


def run_cli(submission_path: str, rate: float | None = None, duration: float | None = None) -> int:
    """`partner-review load-test SUBMISSION.json --rate R --duration S`: a progress bar, then the
    results. Exit status 0 when no blocker failed, 1 when one did, 2 for a usage error."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar
    from rich.table import Table
    from rich.text import Text

    from partner_review.models.submission import InvalidSubmission, parse_submission

    err = Console(stderr=True)
    try:
        submission = parse_submission(json.loads(Path(submission_path).read_text(encoding="utf-8")))
        chosen = target(get_settings(), rate, duration, None)
    except OSError as exc:
        err.print(f"cannot read {submission_path}: {exc.strerror or exc}", markup=False)
        return 2
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, InvalidSubmission):
            err.print(f"{submission_path} is not a valid submission:", markup=False)
            for problem in exc.problems:
                err.print(f"  {problem}", markup=False)
        elif isinstance(exc, VolumeRefused):
            err.print(f"load test refused: {exc}", markup=False)
        else:
            err.print(f"{submission_path} is not JSON: {exc}", markup=False)
        return 2

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
            results = asyncio.run(load_test(submission, rate=chosen.rate, duration=chosen.duration, on_progress=show))
        except VolumeRefused as exc:
            err.print(f"load test refused: {exc}", markup=False)
            return 2

    table = Table("check", "outcome", "message", show_lines=False)
    colours = {"pass": "green", "warn": "yellow", "skip": "dim", "fail": "red", "error": "red"}
    for r in results:
        table.add_row(r.check, Text(r.outcome, style=colours[r.outcome]), Text(r.message))
    console.print(table)
    return 1 if any(r.blocks for r in results) else 0
