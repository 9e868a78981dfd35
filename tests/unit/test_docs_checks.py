"""The docs stage's checks as objects: each one run on a hand-built `Page`, without the stage function.

Adding a documentation check is one `PageCheck` subclass (its `findings`) declared with `declare`,
plus a test like these on a page built by hand (tests/unit/test_docs_lint.py runs the whole stage).
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from partner_review.models.checks import REGISTRY, Check
from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.tasks.docs import match, rules, steps, style
from partner_review.tasks.docs.context import FOLDED_ONTO_ASCII, NotLinted, Page, PageCheck, RuleOutput, may_hold
from partner_review.tasks.docs.document import parse
from partner_review.tasks.docs.lint import CHECKS, PROVIDED, READABLE, judge
from partner_review.tasks.runner import Scope, run_objects
from tests.conftest import EXAMPLES


def page(markdown: str, **facts) -> Page:
    return Page(parse(markdown, max_nesting=20), **facts)


def destination_submission():
    return parse_submission(json.loads((EXAMPLES / "submission.json").read_text()))


def test_every_docs_check_is_an_object_with_its_own_run():
    assert [c.id for c in CHECKS] == [f"DOC-{n:03d}" for n in range(1, 21)]
    for check in CHECKS:
        assert REGISTRY[check.id] is check
        assert type(check) is not Check, f"{check.id} is declared with register(), not as an object"
        assert type(check).run is not Check.run or type(check).findings is not PageCheck.findings


def test_title_on_a_hand_built_page():
    (result,) = rules.TITLE.run(page("Some text.\n"))
    assert (result.check, result.outcome) == ("DOC-003", "fail")
    assert result.message == "The page has no front matter, so it has no title."
    assert result.evidence == {"line": 1, "column": 1, "excerpt": "Some text."}
    (result,) = rules.TITLE.run(page("---\nlayout: x\n---\nText.\n"))
    assert result.message == "The front matter has no `title:`." and result.evidence["excerpt"] == "---"
    assert [r.outcome for r in rules.TITLE.run(page("---\ntitle: Acme Destination\n---\n"))] == ["pass"]


def test_first_person_finds_each_word_with_its_column():
    results = style.FIRST_PERSON.run(page("---\ntitle: T\n---\nWe send `our` data to us.\n"))
    assert [(r.outcome, r.message, r.evidence["line"], r.evidence["column"]) for r in results] == [
        ("warn", 'First-person word "We".', 4, 1),
        ("warn", 'First-person word "us".', 4, 23),
    ]


def test_source_tables_applies_to_source_pages_only():
    text = "## Events\n\nNone yet.\n\n## Event Properties\n\n| Name | Description |\n| --- | --- |\n| a | b |\n"
    (skipped,) = rules.SOURCE_TABLES.run(page(text, kind="destination"))
    assert (skipped.outcome, skipped.not_run) == ("skip", "not-applicable")
    (found,) = rules.SOURCE_TABLES.run(page(text, kind="source"))
    assert (found.outcome, found.message, found.evidence["line"]) == ("fail", "`Events` lists no table.", 1)
    # A page not fetched offline says so, whatever its kind would have been.
    offline = page("", kind="destination", not_linted=NotLinted("offline: not run", "offline", {"url": "https://x"}))
    (result,) = rules.SOURCE_TABLES.run(offline)
    assert (result.not_run, result.evidence["url"]) == ("offline", "https://x")


def test_calls_accepted_compares_the_page_with_what_e2e_accepted():
    text = "## Supported methods\n\n### Track\n\n```js\nx\n```\n\n### Alias\n\n```js\ny\n```\n"
    submission = destination_submission()
    (not_run,) = match.CALLS_ACCEPTED.run(page(text, submission=submission, accepted_calls=None))
    assert (not_run.outcome, not_run.not_run) == ("skip", "offline")
    (nothing,) = match.CALLS_ACCEPTED.run(page(text, submission=submission, accepted_calls=frozenset()))
    assert nothing.outcome == "error" and nothing.evidence == {"documented": ["alias", "track"]}
    (alias,) = match.CALLS_ACCEPTED.run(page(text, submission=submission, accepted_calls=frozenset({"track"})))
    assert (alias.outcome, alias.evidence["line"], alias.evidence["excerpt"]) == ("fail", 9, "### Alias")
    assert alias.message.startswith("The page says Alias is supported, but the endpoint did not accept an Alias call")
    assert [
        r.outcome for r in match.CALLS_ACCEPTED.run(page(text, kind="actions-destination", submission=submission))
    ] == ["skip"]


def test_provided_and_readable_judge_what_the_stage_function_found():
    missing = page("", missing="The Segment doc page is empty.", not_linted=NotLinted("No doc page to lint."))
    (provided,) = [PROVIDED.run(missing)]
    assert (provided.outcome, provided.evidence["field"]) == ("fail", "app.docs.segment_markdown")
    assert READABLE.run(missing).outcome == "skip"
    unreadable = page("# x\n", problems=(("bad byte", {"line": 2, "column": 3, "excerpt": "ab"}),))
    (problem,) = READABLE.run(unreadable)
    assert (problem.outcome, problem.message, problem.evidence) == (
        "fail",
        "bad byte",
        {"line": 2, "column": 3, "excerpt": "ab"},
    )
    assert PROVIDED.run(unreadable).outcome == "pass"


def test_a_not_linted_page_skips_every_rule_with_the_reason():
    unread = page("", not_linted=NotLinted("The page is too large to lint (see DOC-002)."))
    results = judge(unread)
    assert [r.check for r in results] == [c.id for c in CHECKS]
    assert [r.outcome for r in results[2:]] == ["skip"] * 18
    assert {r.message for r in results[2:] if r.check != "DOC-009"} == {
        "Not verified: The page is too large to lint (see DOC-002)."
    }


class NoShouting(PageCheck):
    """A check written the way a new one is: its findings only (not declared: a test's own)."""

    def findings(self, page: Page) -> list[RuleOutput]:
        return [page.finding(self, "Shouting.", n) for n, line in enumerate(page.document.lines, 1) if line.isupper()]


def test_a_new_check_is_one_object_and_its_findings_are_capped():
    check = NoShouting("DOC-999", "No shouting", stage="docs", severity="warning", remedy="Write calmly.")
    assert [r.outcome for r in check.run(page("calm\n"))] == ["pass"]
    capped = get_settings().model_copy(update={"docs_max_findings_per_check": 2})
    results = check.run(page("A\nB\nC\nD\n", settings=capped))
    assert [(r.message, r.evidence["line"]) for r in results] == [
        ("Shouting.", 1),
        ("Shouting.", 2),
        ("2 more findings like these, from line 3 on.", 3),
    ]
    assert results[-1].evidence["more"] == 2


class Broken(PageCheck):
    def findings(self, page: Page) -> list[RuleOutput]:
        raise ValueError("a bug")


def test_a_check_that_raises_is_an_error_and_the_others_still_run():
    broken = Broken("DOC-998", "Broken", stage="docs", severity="blocker", remedy="-")
    results = run_objects([broken, rules.TITLE], page("Text.\n"), None, Scope())
    assert [(r.check, r.outcome) for r in results] == [("DOC-998", "error"), ("DOC-003", "fail")]
    assert "ValueError: a bug" in results[0].message


# What the linter's shortcuts rely on ------------------------------------------------------------


def test_the_non_ascii_characters_re_i_matches_with_ascii_letters_are_listed():
    letter = re.compile("[a-z]", re.I)
    folded = {chr(c) for c in range(128, sys.maxunicode + 1) if letter.fullmatch(chr(c))}
    assert folded == set(FOLDED_ONTO_ASCII)


@pytest.mark.parametrize(
    "text",
    [
        "Paste the API key",
        "your sEcReT",
        "the Kelvin \u212aey",
        "to\u212aen",
        "\u017fecret",
        "no such word",
        "passw\u0131rd",
    ],
)
def test_the_cheap_tests_before_a_regex_never_skip_a_match(text):
    assert steps.mentions(steps.SECRET, steps.SECRET_WORDS, [text]) == bool(steps.SECRET.search(text))
    for line in (text, f"<!-- {text} -->", "YOUR\u0130NTEGRATION", "your\u0131ntegration", "[company name]"):
        assert may_hold(line, steps.SECRET_WORDS) or not steps.SECRET.search(line)
        page = Page(parse(f"<!-- x -->\n{line}\n", max_nesting=20))
        expected = [m.group(0) for m in rules.PLACEHOLDER.finditer(line)]
        found = [
            r.message for r in rules.PLACEHOLDERS.run(page) if r.outcome == "fail" and "left in the page" in r.message
        ]
        assert len(found) == len(expected), (line, found, expected)
