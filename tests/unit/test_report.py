"""The reviewer's report renders partner text as plain text: no entities, no markup, no links."""

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

import partner_review.tasks.pipeline  # noqa: F401  registers the checks (their remedies)
from partner_review.models.checks import Result
from partner_review.tasks.lifecycle import report

MD = MarkdownIt("commonmark").enable("table")
TAGS = re.compile(r"<(/?)([a-z0-9]+)[^>]*>")


def rendered(markdown_text: str) -> tuple[str, set[str], list[str]]:
    """The text a reader sees, the tags used, and the contents of code spans."""
    out = MD.render(markdown_text)
    codes = [html.unescape(c) for c in re.findall(r"<code>(.*?)</code>", out, re.S)]
    tags = {m.group(2) for m in TAGS.finditer(out)}
    return html.unescape(TAGS.sub("", out)).strip(), tags, codes


def test_urls_and_addresses_are_code_spans_and_nothing_becomes_an_entity():
    text = "Visit https://acme.example/a?b=1, mail support@acme.example: <b>bold</b> *x* [a](b) & www.acme.example."
    escaped = report.escape(text)
    assert "&#" not in escaped and "&amp;" not in escaped and "<" not in escaped.replace("\\<", "")
    seen, tags, codes = rendered(escaped)
    assert seen == text
    assert tags <= {"p", "code"}
    assert codes == ["https://acme.example/a?b=1", "support@acme.example", "www.acme.example"]


def test_text_without_links_is_backslash_escaped_not_coded():
    escaped = report.escape("CAT-001: time 10:30 @ noon")
    assert "`" not in escaped
    assert rendered(escaped)[0] == "CAT-001: time 10:30 @ noon"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_any_partner_text_reads_back_as_itself_with_no_markup(text):
    escaped = report.escape(text, limit=10_000)
    seen, tags, _ = rendered(escaped)
    assert tags <= {"p", "code"}, escaped
    expected = " ".join(text.split())
    assert " ".join(seen.split()) == " ".join(expected.replace("\x00", "\ufffd").split())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_escaped_text_stays_in_its_table_cell(text):
    row = f"| a | {report.escape(text)} | b |"
    out = MD.render("| x | y | z |\n|---|---|---|\n" + row + "\n")
    assert out.count("<td>") == 3, (row, out)


def test_evidence_is_a_readable_block_the_partner_cannot_close():
    result = Result(
        check="E2E-001",
        stage="e2e",
        severity="blocker",
        outcome="fail",
        message="endpoint https://acme.example/v1 answered 500",
        evidence={"url": "https://acme.example/v1", "status": 500, "body": "```\n# injected", "request": {"a": [1]}},
    )
    markdown = report.markdown("Review", [result])
    out = MD.render(markdown)
    assert "<h1>injected" not in out and "# injected" in html.unescape(out)
    block = re.search(r"<pre><code[^>]*>(.*?)</code></pre>", out, re.S)
    assert block and "url: https://acme.example/v1" in html.unescape(block.group(1))
    assert "**Remedy:**" in markdown


def test_results_table_leads_with_outcome_check_and_message_failures_first():
    results = [
        Result(check="CAT-002", stage="catalog", severity="blocker", outcome="pass", message="ok"),
        Result(
            check="E2E-001", stage="e2e", severity="blocker", outcome="fail", message="bad", evidence={"status": 500}
        ),
    ]
    rows = report.table(results)
    assert list(rows[0])[:4] == ["outcome", "check", "message", "where"]
    assert [r["check"] for r in rows] == ["E2E-001", "CAT-002"] and rows[0]["where"] == "status 500"
