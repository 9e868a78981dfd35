"""The docs stage's subject and its check objects' common shape.

`Page` is what every documentation check judges: the parsed page, its kind, the submission, what
the e2e stage accepted, and what the stage function found before any rule ran (no page, a page
that cannot be read, a page not linted: offline, too large, not fetched). The stage function
(tasks/docs/lint.py) gathers it once and hands it to `tasks/runner.py:run_objects`.

A check of a page is a `PageCheck`: its `findings(page)` is its judgement, and its `run` (the
same for every rule) skips it when the page was not linted, passes it when it found nothing, and
lists the first findings, summing up the rest in one more (a page cannot flood the report).
Adding a rule is a subclass with its `findings`, declared with `declare(...)`, plus its test on a
hand-built `Page`.

A rule reports a finding with `Page.finding`: a `Finding` that becomes a `Result` whose evidence
carries `line`, `column` and a short `excerpt` of the offending text. Findings are cheap until
then: a page with 50,000 offending lines yields 50,000 findings, of which only the listed few are
located and turned into Results.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from partner_review.models.checks import Check, NotRun, Result
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import CallType, Submission
from partner_review.tasks.docs.document import Document

Kind = Literal["destination", "actions-destination", "source"]
KINDS: tuple[Kind, ...] = ("destination", "actions-destination", "source")
KIND_NAMES = {
    "destination": "direct destination",
    "actions-destination": "actions destination",
    "source": "source",
}
# The Spec's calls (a destination's supported_calls) in the order the doc template lists them: page and
# screen first. Read from the submission model: importing models.spec (the Spec's validators) cost the
# linter's start 20 ms.
CALLS: tuple[str, ...] = ("page", "screen", *(c for c in get_args(CallType) if c not in ("page", "screen")))
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


Problem = tuple[str, dict[str, Any]]  # why the page cannot be read (DOC-002): message and evidence


@dataclass(frozen=True)
class NotLinted:
    """Why the page's rules did not run (no page, too large, not fetched, offline): each is skipped
    with `reason`, `because` and `evidence` (the URL of a page that was not read)."""

    reason: str
    because: NotRun = "not-verified"
    evidence: dict[str, Any] = field(default_factory=dict)

    def result(self, check: Check[Any]) -> Result:
        return check.skipped(self.reason, because=self.because, **self.evidence)


@dataclass(frozen=True)
class Page:
    """The subject of the docs stage's checks (see the module docstring). `missing` is DOC-001's
    finding (no page at all), `problems` DOC-002's; `not_linted` says why the rules did not run."""

    document: Document
    kind: Kind = "destination"
    submission: Submission | None = None
    accepted_calls: frozenset[str] | None = None  # None: the e2e stage did not run
    settings: Settings | None = None  # the stage passes the run's; a hand-built page in a test may not
    missing: str | None = None
    problems: tuple[Problem, ...] = ()
    not_linted: NotLinted | None = None

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


class PageCheck(Check[Page]):
    """A check of the page's content: its `findings` judge the page; `run` turns them into Results."""

    def findings(self, page: Page) -> list[RuleOutput]:
        """The problems this check finds on the page (none: it passes), or one skipped Result."""
        raise NotImplementedError

    def run(self, subject: Page, ctx: object = None) -> list[Result]:
        if subject.not_linted is not None:
            return [subject.not_linted.result(self)]
        found = self.findings(subject)
        return listed(found, self, subject) if found else [self.passed()]


def listed(found: list[RuleOutput], check: Check, page: Page) -> list[Result]:
    """Results for a rule's outcome: skips as they are, the first findings located, the rest
    summed up in one more finding (a page cannot flood the report)."""
    skipped = [r for r in found if isinstance(r, Result)]
    findings = [f for f in found if isinstance(f, Finding)]
    limit = given_or_current(page.settings).docs_max_findings_per_check
    results = skipped + [f.result(page.document) for f in findings[:limit]]
    if len(findings) > limit:
        rest = findings[limit]
        rest.message = f"{len(findings) - limit} more findings like these, from line {rest.line} on."
        results.append(rest.result(page.document, more=len(findings) - limit))
    return results


# The non-ASCII characters `re.I` matches with an ASCII letter (İ ı ſ and the Kelvin sign; the docs
# tests check the list over every code point): in a text without them, a case-insensitive match of
# ASCII letters is found in the text's lowercase as the match's lowercase.
FOLDED_ONTO_ASCII = "\u0130\u0131\u017f\u212a"


def may_hold(text: str, words: tuple[str, ...]) -> bool:
    """Whether `text` can hold a case-insensitive match of a pattern every match of which holds one
    of `words` (lowercase ASCII): a test much cheaper than the regex, made before it."""
    if not text.isascii() and any(char in text for char in FOLDED_ONTO_ASCII):
        return True
    lowered = text.lower()
    return any(word in lowered for word in words)


def shorten(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_list(calls: Collection[str]) -> str:
    """'Identify, Track and Page' in the template's order."""
    names = [c.capitalize() for c in CALLS if c in calls]
    if len(names) < 2:
        return names[0] if names else "none"
    return ", ".join(names[:-1]) + " and " + names[-1]
