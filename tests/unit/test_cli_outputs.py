"""Issue 29 item 6: the outputs say what the README says. SPEC-018 and DOC-009 only where they
apply, `lint` counts unverified blockers apart from failed ones, the platform's pages offline are
"not yet reachable", `checks` fits 80 columns and lists every check as JSON."""

from __future__ import annotations

import json

from partner_review.models.checks import unverified
from tests.conftest import EXAMPLES
from tests.unit.test_cli import run


def test_spec_018_does_not_apply_to_a_source_without_events_url_even_offline():
    done = run("check", str(EXAMPLES / "submission.json"), "--offline", "--format", "json")
    results = json.loads(done.stdout)["results"]
    (spec,) = [r for r in results if r["check"] == "SPEC-018"]
    assert spec["outcome"] == "skip" and spec["evidence"]["not_run"] == "not-applicable", spec
    assert "no events_url given" in spec["message"]


def test_an_empty_page_counts_unverified_blockers_as_unverified_and_doc_009_does_not_apply(tmp_path):
    page = tmp_path / "empty.md"
    page.write_text("")
    done = run("lint", str(page))
    assert done.returncode == 1
    summary = done.stderr.strip().splitlines()[-1]
    assert summary.endswith("1 finding(s), 1 blocker(s) failed, 11 blocker(s) unverified"), summary
    results = json.loads(run("lint", str(page), "--format", "json").stdout)["results"]
    (doc9,) = [r for r in results if r["check"] == "DOC-009"]
    assert doc9["evidence"]["not_run"] == "not-applicable" and "Not verified" not in doc9["message"]


def test_a_too_large_source_page_still_lists_doc_009_as_not_verified(tmp_path):
    from partner_review.tasks.docs.lint import lint

    results = lint(b"# x\n" * 100_000, path="sources/big.md")
    (doc9,) = [r for r in results if r.check == "DOC-009"]
    assert doc9.not_run == "not-verified" and "DOC-009" in unverified(results)


def test_an_unreachable_platform_page_is_reported_as_not_yet_reachable():
    from partner_review.tasks.links.linkcheck import PLATFORM_PAGE, Link, _judge
    from partner_review.tasks.net.fetcher import Fetched

    url = "https://segment.com/catalog/integrations/acme-analytics/"
    link = Link(url, PLATFORM_PAGE, places=["app.docs.catalog_url"])
    gone = Fetched(url, "GET", error="segment.com does not resolve ([Errno -2] Name or service not known)")
    result = _judge(link, gone, {200})
    assert result.severity == "info" and "not yet reachable" in result.message
    assert "not yet reachable" in _judge(link, Fetched(url, "GET", status=404), {200}).message


def test_checks_fits_80_columns_and_lists_every_check_as_json():
    from partner_review.tasks.registry import all_checks

    text = run("checks", env={"COLUMNS": "80"}).stdout
    assert text and max(len(line) for line in text.splitlines()) <= 80
    listed = json.loads(run("checks", "--format", "json").stdout)
    assert [c["id"] for c in listed] == [c.id for c in all_checks()]
    assert {"id", "stage", "severity", "title", "applies_to", "phase", "needs_network", "remedy"} <= set(listed[0])
