"""Check results and checklists on the terminal (rich)."""

from __future__ import annotations

from typing import Any

from partner_review.models.checks import Result, unverified, verdict
from partner_review.tasks.lifecycle.checklist import Checklist, due_text

STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "magenta"}


def print_table(results: list[Result], *, title: str, console: Any = None, offline: bool = False) -> None:
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
    v = verdict(results, offline=offline)
    console.print(Text(f"verdict: {v}", style="bold green" if v == "pass" else "bold red"))
    if left := unverified(results):
        console.print(Text(f"unverified blockers ({len(left)}): {', '.join(left)}", style="bold yellow"))


def print_checklist(checklist: Checklist, console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    f = checklist.facts
    styles = {"met": "green", "unmet": "bold red", "unknown": "yellow"}
    grid = Table(title=f"Public Beta checklist: {f.name} v{f.version} ({f.state})")
    for column in ("requirement", "status", "checks", "note"):
        grid.add_column(column, overflow="fold")
    for line in checklist.lines:
        grid.add_row(
            line.requirement.title,
            Text(line.status, style=styles[line.status]),
            ", ".join(line.checks),
            Text(line.note),
        )
    console.print(grid)
    console.print(Text(f"next promise: {due_text(checklist.next_due)}"))
