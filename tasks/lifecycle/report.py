"""The review report: one set of results rendered for the reviewer (markdown, table) and for
programs (contract JSON). The terminal's rendering lives in `partner_review.cli.render`.

Everything that comes from the partner is rendered as plain text before it reaches markdown: ASCII
punctuation is backslash-escaped (never HTML entities, which Prefect's UIs show literally), and
URLs and e-mail addresses go into code spans, so no UI turns them into links. Evidence goes into
fenced code blocks, where nothing is interpreted.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Iterable
from typing import Any

from partner_review.models.checks import REGISTRY, Result, blocking, unverified, verdict
from partner_review.models.stages import names

OUTCOMES = ("pass", "warn", "fail", "skip", "error")
EVIDENCE_LINES = 24

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# What GitHub-flavoured markdown would autolink: scheme URLs, www. hosts and e-mail addresses. The
# match stops at whitespace, pipes and backticks, so the code span it becomes is safe in a table cell.
_LINKABLE = re.compile(
    r"(?:[a-zA-Z][a-zA-Z0-9+.-]{0,31}:/{0,3}|www\.)[^\s|`<>]+|[^\s|`<>@()\[\]]+@[^\s|`<>@()\[\]]+\.[^\s|`<>@()\[\]]+"
)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _linkable(match: str) -> bool:
    if "@" in match and not _SCHEME.match(match):
        return True  # an e-mail address
    if match.lower().startswith("www."):
        return len(match) > 4
    scheme, _, rest = match.partition(":")
    return bool(rest) and (rest.startswith("/") or scheme.lower() in ("mailto", "javascript", "data", "tel"))


def _shorten(text: Any, limit: int) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def escape(text: Any, limit: int = 500) -> str:
    """Partner text as plain text in markdown, on one line: no markup, no HTML, no links."""
    s = _shorten(text, limit)
    parts: list[str] = []
    position = 0
    for match in _LINKABLE.finditer(s):
        found = match.group().rstrip(".,:;!?'\"*_~")
        if found.endswith(")") and "(" not in found:
            found = found.rstrip(")")
        if not _linkable(found):
            continue
        parts.append(_PUNCTUATION.sub(r"\\\1", s[position : match.start()]))
        parts.append(f"`{found}`")
        position = match.start() + len(found)
    parts.append(_PUNCTUATION.sub(r"\\\1", s[position:]))
    return "".join(parts)


def code_block(text: str, info: str = "text") -> str:
    """`text` verbatim in a fenced code block whose fence no line of it can close."""
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def evidence_text(evidence: dict[str, Any], max_lines: int = EVIDENCE_LINES, width: int = 200) -> str:
    """Evidence as `key: value` lines; nested values as indented JSON. Bounded in lines and width."""
    lines: list[str] = []
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, dict | list):
            compact = json.dumps(value, default=str, ensure_ascii=False)
            if len(compact) <= 100:
                lines.append(f"{key}: {compact}")
                continue
            body = json.dumps(value, indent=2, default=str, ensure_ascii=False).splitlines()
            lines.append(f"{key}:")
            lines += ["  " + line for line in body]
        else:
            lines += [f"{key}: {line}" if i == 0 else f"  {line}" for i, line in enumerate(str(value).splitlines())]
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"… {len(lines) - max_lines} more lines"]
    return "\n".join(line if len(line) <= width else line[: width - 1] + "…" for line in lines)


def counts(results: Iterable[Result]) -> dict[str, Counter]:
    by_stage: dict[str, Counter] = {}
    for r in results:
        by_stage.setdefault(r.stage, Counter())[r.outcome] += 1
    return {stage: by_stage[stage] for stage in names() if stage in by_stage}


def evidence_summary(evidence: dict[str, Any], limit: int = 160) -> str:
    """Where, in a few words: the field, line and column, URL or status the evidence names."""
    parts = []
    for key in ("field", "line", "column", "url", "status", "excerpt"):
        if key in evidence and evidence[key] not in (None, ""):
            parts.append(f"{key} {evidence[key]}")
    text = ", ".join(parts) or json.dumps(evidence, default=str, ensure_ascii=False)
    return _shorten(text, limit)


def remedy(check_id: str) -> str:
    check = REGISTRY.get(check_id)
    return check.remedy if check else ""


def markdown(title: str, results: list[Result], *, facts: Iterable[str] = ()) -> str:
    """The reviewer's report. `title` and `facts` are trusted markdown; result text is escaped here."""
    v = verdict(results)
    lines = [f"# {title}: {v.upper()}", ""]
    lines += [f"- {fact}" for fact in facts]
    lines += ["", "| stage | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 1) + "|"]
    for stage, c in counts(results).items():
        lines.append(f"| {stage} | " + " | ".join(str(c.get(o, 0)) for o in OUTCOMES) + " |")
    blockers = blocking(results)
    warnings = [r for r in results if r.outcome == "warn"]
    if blockers:
        lines += ["", f"## Blockers ({len(blockers)})"]
    for r in blockers:
        check = REGISTRY.get(r.check)
        lines += ["", f"### {r.check} {check.title if check else ''} ({r.stage}, {r.outcome})", ""]
        lines.append(escape(r.message, 2000))
        if check:
            lines += ["", f"**Remedy:** {check.remedy}"]
        if r.evidence:
            lines += ["", code_block(evidence_text(r.evidence))]
    if warnings:  # one line each: the evidence is in the results table and the contract JSON
        lines += ["", f"## Warnings ({len(warnings)})", ""]
        lines += [f"- **{r.check}** ({r.stage}) {escape(r.message, 400)}" for r in warnings]
    lines += side_by_side(results)
    if not blockers:
        lines += ["", "No blockers: every blocking check passed."]
    return "\n".join(lines) + "\n"


def _answer_cell(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    status = answer.get("status")
    return escape(f"{answer.get('answer', '')}{f' {status}' if status else ''} {answer.get('shape', '')}", 120)


def side_by_side(results: list[Result]) -> list[str]:
    """Results comparing two versions request by request (evidence `requests` rows with `live` and
    `new` answers, the compat stage's CMP checks) as one two-column table per component."""
    lines: list[str] = []
    shown: set[tuple[Any, ...]] = set()
    for r in results:
        rows = r.evidence.get("requests")
        if not isinstance(rows, list) or not rows or not all(isinstance(x, dict) and "live" in x for x in rows):
            continue
        key = (r.evidence.get("component"), r.evidence.get("live_version"), r.evidence.get("new_version"))
        if key in shown:
            continue
        shown.add(key)
        live, new = r.evidence.get("live_version"), r.evidence.get("new_version")
        lines += ["", f"## Live v{escape(live, 12)} beside new v{escape(new, 12)}: {escape(key[0], 100)}", ""]
        lines += [f"| request | live v{escape(live, 12)} | new v{escape(new, 12)} | difference |", "|---|---|---|---|"]
        lines += [
            f"| {escape(row.get('request'), 80)} | {_answer_cell(row.get('live'))} | {_answer_cell(row.get('new'))} "
            f"| {escape(row.get('difference', ''), 200)} |"
            for row in rows
        ]
    return lines


def table(results: list[Result]) -> list[dict[str, str]]:
    """Rows for a Prefect table artifact, most telling first: what happened, to which check, where.
    Escaped: the UI renders cells as markdown."""
    order = {"fail": 0, "error": 1, "warn": 2, "skip": 3, "pass": 4}
    return [
        {
            "outcome": r.outcome,
            "check": r.check,
            "message": escape(r.message, 240),
            "where": escape(evidence_summary(r.evidence, 120)),
            "severity": r.severity,
            "stage": r.stage,
        }
        for r in sorted(results, key=lambda r: (order[r.outcome], names().index(r.stage), r.check))
    ]


def as_json(results: list[Result], *, offline: bool = False) -> dict[str, Any]:
    """The contract's JSON shape (contract section 3), with the ids of the blockers left unverified."""
    return {
        "verdict": verdict(results, offline=offline),
        "results": [r.model_dump(mode="json") for r in results],
        "unverified": unverified(results),
    }
