"""The review report: one set of results rendered for the reviewer (markdown, table), the
terminal (rich) and programs (contract JSON).

Everything that comes from the partner is escaped before it reaches markdown, so a submission
cannot inject markup, HTML or links into the reviewer's view.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from partner_review.models.checks import REGISTRY, STAGES, Result, blocking, unverified, verdict

OUTCOMES = ("pass", "warn", "fail", "skip", "error")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape(text: Any, limit: int = 500) -> str:
    """Partner text made inert for markdown: HTML and markdown syntax escaped, no autolinks, one line."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = s.replace(":", "&#58;").replace("@", "&#64;")  # no autolinked URLs or e-mail addresses
    return " ".join(s.split())


def counts(results: Iterable[Result]) -> dict[str, Counter]:
    by_stage: dict[str, Counter] = {}
    for r in results:
        by_stage.setdefault(r.stage, Counter())[r.outcome] += 1
    return {stage: by_stage[stage] for stage in STAGES if stage in by_stage}


def evidence_summary(evidence: dict[str, Any], limit: int = 160) -> str:
    parts = []
    for key in ("field", "line", "column", "url", "status", "excerpt"):
        if key in evidence and evidence[key] not in (None, ""):
            parts.append(f"{key} {evidence[key]}")
    text = ", ".join(parts) or json.dumps(evidence, default=str)[:limit]
    return text[:limit]


def markdown(title: str, results: list[Result], *, facts: list[str] = ()) -> str:
    """The reviewer's report. `title` and `facts` are trusted; result text is escaped here."""
    v = verdict(results)
    lines = [f"# {title}: {v.upper()}", ""]
    lines += [f"- {fact}" for fact in facts]
    lines += ["", "| stage | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 1) + "|"]
    for stage, c in counts(results).items():
        lines.append(f"| {stage} | " + " | ".join(str(c.get(o, 0)) for o in OUTCOMES) + " |")
    blockers = blocking(results)
    warnings = [r for r in results if r.outcome == "warn"]
    for heading, group in (("Blockers", blockers), ("Warnings", warnings)):
        if not group:
            continue
        lines += ["", f"## {heading} ({len(group)})", ""]
        for r in group:
            check = REGISTRY.get(r.check)
            remedy = f" Remedy: {check.remedy}" if check else ""
            lines.append(
                f"- **{r.check}** ({r.stage}) {escape(r.message)}.{remedy} "
                f"_Evidence: {escape(evidence_summary(r.evidence))}_"
            )
    if not blockers:
        lines += ["", "No blockers: every blocking check passed."]
    return "\n".join(lines) + "\n"


def table(results: list[Result]) -> list[dict[str, str]]:
    """Rows for a Prefect table artifact (escaped: the UI renders cells as markdown)."""
    return [
        {
            "check": r.check,
            "stage": r.stage,
            "severity": r.severity,
            "outcome": r.outcome,
            "message": escape(r.message, 300),
            "evidence": escape(evidence_summary(r.evidence)),
        }
        for r in results
    ]


def as_json(results: list[Result], *, offline: bool = False) -> dict[str, Any]:
    """The contract's JSON shape (contract section 3), with the ids of the blockers left unverified."""
    return {
        "verdict": verdict(results, offline=offline),
        "results": [r.model_dump(mode="json") for r in results],
        "unverified": unverified(results),
    }


def print_table(results: list[Result], *, title: str, console: Any = None, offline: bool = False) -> None:
    """A rich table for the terminal."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    styles = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "magenta"}
    grid = Table(title=title, show_lines=False)
    for column in ("check", "stage", "severity", "outcome", "message"):
        grid.add_column(column, overflow="fold")
    for r in results:
        grid.add_row(r.check, r.stage, r.severity, Text(r.outcome, style=styles[r.outcome]), Text(r.message))
    console.print(grid)
    v = verdict(results, offline=offline)
    console.print(Text(f"verdict: {v}", style="bold green" if v == "pass" else "bold red"))
    if left := unverified(results):
        console.print(Text(f"unverified blockers ({len(left)}): {', '.join(left)}", style="bold yellow"))
