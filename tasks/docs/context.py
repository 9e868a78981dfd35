"""What every documentation rule sees: the parsed page, its kind, the submission, the e2e outcome.

Also the one way a rule reports a finding (`PageContext.finding`): a `Finding` that becomes a
`Result` whose evidence carries `line`, `column` and a short `excerpt` of the offending text.
Findings are cheap until then: a page with 50,000 offending lines yields 50,000 findings, of
which only the listed few are located and turned into Results.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from partner_review.models.checks import Check, Result
from partner_review.models.settings import Settings
from partner_review.models.spec import CALL_TYPES
from partner_review.models.submission import Submission
from partner_review.tasks.docs.document import Document

Kind = Literal["destination", "actions-destination", "source"]
KINDS: tuple[Kind, ...] = ("destination", "actions-destination", "source")
KIND_NAMES = {
    "destination": "direct destination",
    "actions-destination": "actions destination",
    "source": "source",
}
# The Spec's calls in the order the doc template lists them: page and screen first.
CALLS: tuple[str, ...] = ("page", "screen", *(c for c in CALL_TYPES if c not in ("page", "screen")))
EXCERPT_CHARS = 120


@dataclass(slots=True)
class Finding:
    """One problem on the page. With `needle`, the position is where `needle` first appears in
    lines `line`..`last` (searched only when the finding is listed)."""

    check: Check
    message: str
    line: int
    column: int = 1
    excerpt: str | None = None  # None: the offending line itself
    needle: str | None = None
    last: int = 0
    around: bool = False  # excerpt: the text around the column rather than the whole line

    def result(self, document: Document, **extra: object) -> Result:
        line, column = self.line, self.column
        if self.needle is not None:
            line, column = document.locate(self.needle, self.line, self.last)
        excerpt = self.excerpt
        if excerpt is None:
            text = document.line_text(line)
            excerpt = text[max(0, column - 41) : column + 39] if self.around else text.strip()
        return self.check.failed(self.message, line=line, column=column, excerpt=shorten(excerpt), **extra)


RuleOutput = Finding | Result  # what a rule returns: findings, or one skipped Result


@dataclass
class PageContext:
    document: Document
    kind: Kind
    submission: Submission | None
    accepted_calls: set[str] | None
    settings: Settings

    def finding(self, check: Check, message: str, line: int, column: int = 1, excerpt: str | None = None) -> Finding:
        return Finding(check, message, line, column, excerpt)

    def finding_near(
        self,
        check: Check,
        message: str,
        needle: str,
        block_map: list[int] | None,
        excerpt: str | None = None,
        around: bool = False,
    ) -> Finding:
        """A finding at `needle` inside a block (markdown-it gives blocks lines, not columns)."""
        first, last = (block_map[0] + 1, block_map[1]) if block_map else (1, 1)
        return Finding(check, message, first, 1, excerpt, needle, last, around)


def shorten(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_list(calls: Collection[str]) -> str:
    """'Identify, Track and Page' in the template's order."""
    names = [c.capitalize() for c in CALLS if c in calls]
    if len(names) < 2:
        return names[0] if names else "none"
    return ", ".join(names[:-1]) + " and " + names[-1]
