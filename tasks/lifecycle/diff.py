"""What changed since the partner's previous version: checks that flipped, catalog fields and
documentation sections that changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from partner_review.models.checks import Result
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.stages import spec

_RANK = {"skip": 0, "pass": 1, "warn": 2, "fail": 3, "error": 3}
_IGNORED_FIELDS = {"app.docs.segment_markdown"}  # compared by section below


@dataclass(frozen=True)
class Diff:
    previous_id: str
    previous_version: int
    now_passing: list[str] = field(default_factory=list)
    now_failing: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    doc_sections: list[str] = field(default_factory=list)
    compat_flipped: list[str] = field(default_factory=list)  # "UPD-001 fail -> pass"; warnings included
    compat_ran: bool = False

    def lines(self) -> list[str]:
        lines = [
            f"Checks fixed since v{self.previous_version}: {', '.join(self.now_passing) or 'none'}",
            f"Checks broken since v{self.previous_version}: {', '.join(self.now_failing) or 'none'}",
            f"Catalog fields changed: {', '.join(self.fields) or 'none'}",
            f"Documentation sections changed: {', '.join(self.doc_sections) or 'none'}",
        ]
        if self.compat_ran:
            flipped = ", ".join(self.compat_flipped) or "none"
            lines.append(f"Update-compatibility (UPD) checks flipped since v{self.previous_version}: {flipped}")
        return lines


def update_gate_checks() -> frozenset[str]:
    """The checks of the stages that compare with the released version (the update gate)."""
    from partner_review.tasks.registry import all_checks

    return frozenset(c.id for c in all_checks() if "released" in spec(c.stage).takes)


def worst_outcomes(results: list[Result]) -> dict[str, str]:
    """Each check's worst outcome (a check may report several findings)."""
    worst: dict[str, str] = {}
    for r in results:
        if r.check not in worst or _RANK[r.outcome] > _RANK[worst[r.check]]:
            worst[r.check] = r.outcome
    return worst


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else key, out)
    else:
        out[path] = value


def _sections(markdown: str | None, max_nesting: int) -> dict[str, str]:
    if not markdown:
        return {}
    from partner_review.tasks.docs.document import parse

    document = parse(markdown, max_nesting=max_nesting)
    return {h.text: document.section_text(document.section_of(h)) for h in document.headings}


def compare(
    previous: dict[str, Any],
    previous_results: list[Result],
    current: dict[str, Any],
    current_results: list[Result],
    *,
    previous_id: str,
    previous_version: int,
    settings: Settings | None = None,
) -> Diff:
    """`previous` and `current` are the masked submission payloads (secrets never compared)."""
    before, after = worst_outcomes(previous_results), worst_outcomes(current_results)
    fixed = sorted(c for c, o in after.items() if o == "pass" and before.get(c) in ("fail", "error"))
    broken = sorted(c for c, o in after.items() if o in ("fail", "error") and before.get(c) == "pass")
    old_fields: dict[str, Any] = {}
    new_fields: dict[str, Any] = {}
    _flatten(previous, "", old_fields)
    _flatten(current, "", new_fields)
    changed = sorted(
        p
        for p in old_fields.keys() | new_fields.keys()
        if p not in _IGNORED_FIELDS and p != "version" and old_fields.get(p) != new_fields.get(p)
    )
    nesting = given_or_current(settings).docs_max_nesting
    old_doc = _sections(previous.get("app", {}).get("docs", {}).get("segment_markdown"), nesting)
    new_doc = _sections(current.get("app", {}).get("docs", {}).get("segment_markdown"), nesting)
    sections = sorted(h for h in old_doc.keys() | new_doc.keys() if old_doc.get(h) != new_doc.get(h))
    gate = update_gate_checks()
    compat = sorted(c for c in before.keys() & after.keys() if c in gate)
    flipped = [
        f"{c} {before[c]} -> {after[c]}"
        for c in compat
        if "skip" not in (before[c], after[c]) and before[c] != after[c]
    ]
    ran = any(o != "skip" for c, o in after.items() if c in gate)
    return Diff(previous_id, previous_version, fixed, broken, changed, sections, flipped, ran)
