"""Check results on the terminal (rich)."""

from __future__ import annotations

from typing import Any

from partner_review.models.checks import Result, verdict

STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "magenta"}


def print_table(results: list[Result], *, title: str, console: Any = None) -> None:
    """A rich table of every result and the verdict."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    grid = Table(title=title, show_lines=False)
    for column in ("check", "stage", "severity", "outcome", "message"):
        grid.add_column(column, overflow="fold")
    for r in results:
        grid.add_row(r.check, r.stage, r.severity, Text(r.outcome, style=STYLES[r.outcome]), Text(r.message))
    console.print(grid)
    v = verdict(results)
    console.print(Text(f"verdict: {v}", style="bold green" if v == "pass" else "bold red"))
