"""tasks.catalog: the catalog checks of REVIEW_RULES section 2, and the invalid example submissions."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from partner_review.models.checks import Result, blocking, verdict
from partner_review.models.settings import Settings
from partner_review.models.submission import InvalidSubmission, Submission, parse_submission
from partner_review.tasks.catalog.fields import CATEGORIES, verify_catalog_fields
from partner_review.tasks.catalog.remote import RemoteSvg

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXAMPLE = json.loads((EXAMPLES / "submission.json").read_text())
NS = 'xmlns="http://www.w3.org/2000/svg"'
DELETE = object()


def submission(change: Callable[[dict[str, Any]], None] | None = None, **app: Any) -> Submission:
    """The bundled example with some app fields replaced (or removed with DELETE)."""
    data = copy.deepcopy(EXAMPLE)
    for key, value in app.items():
        if value is DELETE:
            data["app"].pop(key, None)
        else:
            data["app"][key] = value
    if change:
        change(data)
    return parse_submission(data)


def results(sub: Submission, settings: Settings | None = None) -> dict[str, Result]:
    found = verify_catalog_fields(sub, settings or Settings())
    by_id = {r.check: r for r in found}
    assert len(by_id) == len(found), "one result per check"
    return by_id


def result(check_id: str, sub: Submission, settings: Settings | None = None) -> Result:
    return results(sub, settings)[check_id]


def failing(check_id: str, sub: Submission, settings: Settings | None = None) -> Result:
    found = result(check_id, sub, settings)
    assert found.outcome in ("fail", "warn"), found
    return found


def svg(view_box: str = "0 0 64 64", body: str = "<circle cx='32' cy='32' r='30'/>", extra: str = "") -> str:
    return f'<svg {NS} viewBox="{view_box}" {extra}>{body}</svg>'


def docs(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is DELETE:
                data["app"]["docs"].pop(key, None)
            else:
                data["app"]["docs"][key] = value

    return change


def oauth(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["app"]["oauth"].update(changes)

    return change


# -- the bundled example ----------------------------------------------------------------------------


def test_bundled_example_passes_every_catalog_check():
    found = verify_catalog_fields(parse_submission(EXAMPLE), Settings())
    assert [r.check for r in found] == [f"CAT-{n:03d}" for n in range(1, 19)]
    assert all(r.stage == "catalog" for r in found)
    assert {r.outcome for r in found} == {"pass"}, [r for r in found if r.outcome != "pass"]
    assert verdict(found) == "pass"


def test_bundled_example_is_the_contract_example_with_full_docs(shared_dir):
    """The bundled submission is the contract's, except that its doc page is written out in full."""
    contract = json.loads((shared_dir / "contract" / "submission.example.json").read_text())
    bundled = json.loads(json.dumps(EXAMPLE))
    for doc in (contract, bundled):
        doc["app"]["docs"].pop("segment_markdown")
    assert contract == bundled


def test_default_settings_are_used_when_none_are_given():
    assert [r.outcome for r in verify_catalog_fields(parse_submission(EXAMPLE))] == ["pass"] * 18


def test_catalog_checks_import_no_prefect():
    code = "import sys, tasks.catalog; sys.exit('prefect' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_no_result_reveals_the_test_account_password():
    text = json.dumps([r.model_dump() for r in verify_catalog_fields(submission(), Settings())])
    bad = json.dumps(
        [
            r.model_dump()
            for r in verify_catalog_fields(
                submission(
                    test_account={"username": "reviewer@acme.example", "password": "s3cret-for-reviewers", "notes": ""},
                    website="http://acme.example",
                ),
                Settings(),
            )
        ]
    )
    assert "s3cret-for-reviewers" not in text + bad


# -- CAT-001 required fields -----------------------------------------------------------------------


def test_every_missing_field_is_named_at_once():
    found = failing(
        "CAT-001",
        submission(
            docs(own_url=DELETE, segment_markdown=DELETE),
            description=DELETE,
            website=DELETE,
            logo_svg=DELETE,
            mark_svg=DELETE,
            support_email=DELETE,
            screenshots=[],
            partner_page_url=DELETE,
            launch_post_url=DELETE,
            test_account=DELETE,
            categories={},
        ),
    )
    assert found.outcome == "fail"
    for field in (
        "app.description",
        "app.website",
        "app.categories.primary",
        "app.logo_svg or app.logo_url",
        "app.mark_svg or app.mark_url",
        "app.support_email",
        "app.screenshots",
        "app.docs.own_url",
        "app.docs.segment_markdown or app.docs.segment_markdown_url",
        "app.partner_page_url",
        "app.launch_post_url",
        "app.test_account",
    ):
        assert field in found.message
        assert any(m.startswith(field) for m in found.evidence["missing"])
    assert "app.docs.segment_url" not in found.message


def test_blank_text_counts_as_missing():
    found = failing("CAT-001", submission(name="   ", description=" \n"))
    assert found.evidence["missing"] == ["app.name", "app.description"]


def test_urls_stand_in_for_inline_svg_and_markdown():
    sub = submission(
        docs(segment_markdown=DELETE, segment_markdown_url="https://acme.example/docs/segment.md"),
        logo_svg=DELETE,
        logo_url="https://acme.example/logo.svg",
        mark_svg=DELETE,
        mark_url="https://acme.example/mark.svg",
    )
    assert result("CAT-001", sub).outcome == "pass"


def test_checks_of_a_missing_field_skip_and_point_to_cat_001():
    found = results(
        submission(
            description=DELETE, website=DELETE, support_email=DELETE, screenshots=[], test_account=DELETE, categories={}
        )
    )
    for check_id in ("CAT-003", "CAT-004", "CAT-005", "CAT-006", "CAT-013", "CAT-016"):
        assert found[check_id].outcome == "skip"
        assert "CAT-001" in found[check_id].message


# -- CAT-002 slug ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "problem"),
    [
        ("Acme", "uppercase"),
        ("acme_analytics", "characters other than"),
        ("acme analytics", "characters"),
        ("-acme", "hyphen"),
        ("acme-", "hyphen"),
        ("acme--analytics", "double hyphen"),
    ],
)
def test_bad_slugs_fail_with_a_suggestion(slug, problem):
    found = failing("CAT-002", submission(slug=slug))
    assert found.outcome == "fail"
    assert "app.slug" in found.message and problem in found.message
    assert found.evidence["value"] == slug


def test_slug_suggestion_is_a_valid_slug():
    assert "try 'acme-analytics'" in failing("CAT-002", submission(slug="Acme_Analytics")).message


@pytest.mark.parametrize("slug", ["acme", "a1-b2-c3", "3m"])
def test_good_slugs_pass(slug):
    assert result("CAT-002", submission(slug=slug)).outcome == "pass"


# -- CAT-003 description ---------------------------------------------------------------------------


def test_description_over_the_limit_fails_with_its_length():
    found = failing("CAT-003", submission(description="x" * 501))
    assert found.outcome == "fail"
    assert "app.description" in found.message and "501 characters" in found.message


def test_description_at_the_limit_passes():
    assert result("CAT-003", submission(description="x" * 500)).outcome == "pass"


def test_formatting_and_link_targets_do_not_count():
    text = "word " * 98  # 489 characters once whitespace is collapsed
    description = f"**{text.strip()}**\n\n- [one](https://acme.example/{'long-path/' * 30})\n- *two*\n"
    found = result("CAT-003", submission(description=description))
    assert found.outcome == "pass", found
    assert found.evidence["characters"] == len(text.strip()) + len(" one two")


def test_html_formatting_is_counted_on_its_text():
    found = result("CAT-003", submission(description="<p>Funnels <b>and</b> retention</p>"))
    assert found.evidence["characters"] == len("Funnels and retention")


@pytest.mark.parametrize(
    ("images", "outcome"),
    [
        ("![a](https://acme.example/a.png) ![b](https://acme.example/b.png)", "pass"),
        ("![a](https://acme.example/a.png) ![b](https://acme.example/b.png) ![c](https://acme.example/c.png)", "fail"),
        (
            'Charts <img src="https://acme.example/a.png"> ![b](https://acme.example/b.png) '
            '<IMG src="https://acme.example/c.png">',
            "fail",
        ),
    ],
)
def test_at_most_two_images(images, outcome):
    found = result("CAT-003", submission(description=f"Acme Analytics.\n\n{images}"))
    assert found.outcome == outcome
    if outcome == "fail":
        assert "3 images, more than 2" in found.message


def test_description_limits_are_settings():
    settings = Settings(description_max_chars=50, description_max_images=0)
    found = failing("CAT-003", submission(description="x" * 60 + " ![a](https://acme.example/a.png)"), settings)
    assert "more than 50" in found.message and "1 images, more than 0" in found.message


# -- CAT-004 categories ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("Analytic", "Analytics"),
        ("analytics", "Analytics"),
        ("Heatmaps and Recordings", "Heatmaps & Recordings"),
        ("SMS & Push", "SMS & Push Notifications"),
        ("A/B testing", "A/B Testing"),
    ],
)
def test_near_miss_category_suggests_the_valid_name(given, suggested):
    found = failing("CAT-004", submission(categories={"primary": given}))
    assert found.outcome == "fail"
    assert f"app.categories.primary {given!r}" in found.message
    assert f"did you mean {suggested!r}" in found.message


def test_unknown_secondary_category_without_near_miss():
    found = failing("CAT-004", submission(categories={"primary": "Analytics", "secondary": "Blockchain"}))
    assert "app.categories.secondary 'Blockchain' is not a catalog category" in found.message
    assert "did you mean" not in found.message


def test_secondary_must_differ_from_primary():
    found = failing("CAT-004", submission(categories={"primary": "CRM", "secondary": "CRM"}))
    assert "app.categories.secondary repeats the primary" in found.message


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_listed_category_is_accepted_without_a_secondary(category):
    assert result("CAT-004", submission(categories={"primary": category})).outcome == "pass"


# -- CAT-005 website -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://acme.example", "uses http: instead of https:"),
        ("acme.example", "no scheme"),
        ("https://", "no host"),
        ("https:///path", "no host"),
        ("https://acme", "invalid host"),
        ("https://acme..example", "invalid host"),
        ("https://user:pw@acme.example", "credentials"),
        ("https://acme.example/a b", "whitespace"),
        ("https://acme.example:99999", "not a valid URL"),
        ("https://-acme.example", "invalid host"),
    ],
)
def test_website_must_be_an_https_url_with_a_host(url, problem):
    found = failing("CAT-005", submission(website=url))
    assert found.outcome == "fail"
    assert found.message.startswith("app.website") and problem in found.message


@pytest.mark.parametrize(
    "url",
    ["https://acme.example", "https://www.acme.example:8443/en/", "https://bücher.example", "https://192.0.2.10/"],
)
def test_good_websites_pass(url):
    assert result("CAT-005", submission(website=url)).outcome == "pass"


def test_evidence_is_bounded():
    found = failing("CAT-005", submission(website="http://acme.example/" + "a" * 2000))
    assert len(found.evidence["value"]) <= 120
    assert len(found.message) < 300


# -- CAT-006 support e-mail ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "support",
        "support@",
        "@acme.example",
        "support@acme",
        "sup port@acme.example",
        "a@b@acme.example",
        "support@acme..example",
        ".support@acme.example",
        "support@acme.example.",
        "support@acme.123",
    ],
)
def test_bad_support_addresses_fail(address):
    found = failing("CAT-006", submission(support_email=address))
    assert found.outcome == "fail"
    assert found.message.startswith("app.support_email")


@pytest.mark.parametrize("address", ["support@acme.example", "first.last+segment@eu.acme.io", "o'brien@acme.co.uk"])
def test_good_support_addresses_pass(address):
    assert result("CAT-006", submission(support_email=address)).outcome == "pass"


# -- CAT-007 / CAT-008 logo and mark are safe SVG --------------------------------------------------


def test_logo_with_a_doctype_is_refused_with_the_reason():
    logo = '<!DOCTYPE svg [<!ENTITY a "aaaa">]>' + svg("0 0 240 60", "<text>&a;</text>")
    found = failing("CAT-007", submission(logo_svg=logo))
    assert found.outcome == "fail"
    assert "app.logo_svg is refused" in found.message and "entities" in found.message
    assert found.evidence == {"field": "app.logo_svg", "reason": "dtd"}
    others = results(submission(logo_svg=logo))
    assert others["CAT-011"].outcome == "skip" and "CAT-007" in others["CAT-011"].message


def test_mark_that_is_not_svg_is_refused():
    found = failing("CAT-008", submission(mark_svg="<png>binary</png>"))
    assert "app.mark_svg is refused" in found.message and "<png>" in found.message
    assert result("CAT-010", submission(mark_svg="<png/>")).outcome == "skip"


def test_oversized_svg_is_refused_by_setting():
    found = failing("CAT-008", submission(mark_svg=svg(body="<g/>" * 400)), Settings(svg_max_bytes=1024))
    assert "larger than 1024 bytes" in found.message


@pytest.mark.parametrize(
    ("url", "problem"),
    [("http://acme.example/logo.svg", "instead of https"), ("https://acme.example/logo.png", ".svg")],
)
def test_logo_url_must_be_https_svg(url, problem):
    found = failing("CAT-007", submission(logo_svg=DELETE, logo_url=url))
    assert found.message.startswith("app.logo_url") and problem in found.message
    assert found.evidence["field"] == "app.logo_url"


REMOTE = dict(
    logo_svg=DELETE,
    logo_url="https://cdn.acme.example/brand/logo.SVG?v=2",
    mark_svg=DELETE,
    mark_url="https://cdn.acme.example/brand/mark.svg",
)


def remote_svg(kind: str, text: str | None = None, **found: Any) -> RemoteSvg:
    url = REMOTE[f"{kind}_url"]
    return RemoteSvg(
        f"app.{kind}_url", url, text=text, content_type=found.pop("content_type", "image/svg+xml"), **found
    )


def test_remote_logo_and_mark_without_a_fetch_are_unverified_never_passed():
    found = results(submission(**REMOTE))
    for check_id in ("CAT-007", "CAT-008", "CAT-009", "CAT-010", "CAT-011", "CAT-012"):
        assert found[check_id].outcome == "skip", found[check_id]
        assert "was not fetched" in found[check_id].message and found[check_id].not_run == "not-verified"
    assert verdict(found.values()) == "fail"  # a blocker that should have run and could not never passes
    assert {"CAT-007", "CAT-008"} <= {r.check for r in blocking(found.values())}


def test_offline_remote_svgs_are_skipped_with_the_reason():
    remote = {
        "logo": RemoteSvg("app.logo_url", REMOTE["logo_url"], unverified="Offline run: app.logo_url was not fetched"),
        "mark": RemoteSvg("app.mark_url", REMOTE["mark_url"], unverified="Offline run: app.mark_url was not fetched"),
    }
    found = verify_catalog_fields(submission(**REMOTE), Settings(), remote=remote)
    by_id = {r.check: r for r in found}
    assert by_id["CAT-007"].outcome == "skip" and "Offline run: app.logo_url" in by_id["CAT-007"].message
    assert by_id["CAT-010"].outcome == "skip" and "Offline run: app.mark_url" in by_id["CAT-010"].message


def remote_results(logo: RemoteSvg, mark: RemoteSvg) -> dict[str, Result]:
    found = verify_catalog_fields(submission(**REMOTE), Settings(), remote={"logo": logo, "mark": mark})
    return {r.check: r for r in found}


def test_fetched_remote_svgs_get_the_same_analysis_as_inline_ones():
    found = remote_results(remote_svg("logo", svg("0 0 240 60")), remote_svg("mark", svg("0 0 64 64")))
    assert found["CAT-007"].outcome == "pass" and "app.logo_url is an SVG, 240×60 (viewBox)" in found["CAT-007"].message
    assert found["CAT-008"].outcome == "pass"
    assert found["CAT-009"].outcome == "pass" and found["CAT-009"].evidence["inspected"] == [
        "app.logo_url",
        "app.mark_url",
    ]
    assert found["CAT-010"].outcome == "pass" and "app.mark_url is square" in found["CAT-010"].message
    assert found["CAT-011"].outcome == "pass"
    assert found["CAT-012"].outcome == "pass"


def test_remote_svg_problems_fail_like_inline_ones():
    found = remote_results(
        remote_svg("logo", svg("0 0 60 60", "<script>alert(1)</script><text>Acme</text>")),
        remote_svg("mark", svg("0 0 120 60", "<text>Acme Analytics</text>")),
    )
    assert found["CAT-009"].outcome == "fail"
    assert found["CAT-009"].evidence["dangers"] == {"app.logo_url": ["<script> element"]}
    assert (
        found["CAT-010"].outcome == "fail"
        and "app.mark_url is 120×60 (viewBox), not square" in found["CAT-010"].message
    )
    assert found["CAT-011"].outcome == "warn"
    assert found["CAT-012"].outcome == "warn"


def test_unreachable_or_non_svg_remote_files_fail_cat_007_and_008():
    found = remote_results(
        remote_svg("logo", problem="app.logo_url could not be fetched: the host name does not resolve"),
        remote_svg("mark", problem="app.mark_url is served as image/png, not image/svg+xml"),
    )
    assert found["CAT-007"].outcome == "fail" and "does not resolve" in found["CAT-007"].message
    assert found["CAT-007"].evidence["reason"] == "unreachable"
    assert found["CAT-008"].outcome == "fail" and "image/png" in found["CAT-008"].message
    for check_id in ("CAT-009", "CAT-010", "CAT-011", "CAT-012"):
        assert found[check_id].outcome == "skip", found[check_id]


def test_a_refused_remote_svg_fails_and_names_the_url():
    found = remote_results(remote_svg("logo", "<!DOCTYPE svg><svg/>"), remote_svg("mark", svg()))
    assert found["CAT-007"].outcome == "fail" and "app.logo_url is refused" in found["CAT-007"].message


def test_tolerated_content_type_is_named_in_the_pass():
    found = remote_results(remote_svg("logo", svg("0 0 240 60"), content_type="text/xml"), remote_svg("mark", svg()))
    assert found["CAT-007"].outcome == "pass" and "served as text/xml" in found["CAT-007"].message


def test_a_fetch_result_for_another_url_does_not_count():
    other = RemoteSvg("app.logo_url", "https://elsewhere.example/logo.svg", text=svg("0 0 240 60"))
    found = remote_results(other, remote_svg("mark", svg()))
    assert found["CAT-007"].outcome == "skip"


def test_inline_and_remote_given_both_are_checked():
    sub = submission(mark_url="https://cdn.acme.example/brand/mark.svg")
    remote = {"mark": remote_svg("mark", svg("0 0 64 64", '<a href="https://evil.example"><rect/></a>'))}
    found = {r.check: r for r in verify_catalog_fields(sub, Settings(), remote=remote)}
    assert found["CAT-008"].outcome == "pass" and "app.mark_svg" in found["CAT-008"].message
    assert found["CAT-009"].outcome == "fail" and "app.mark_url" in found["CAT-009"].evidence["dangers"]


def test_bad_url_beside_a_good_inline_svg_still_fails():
    found = failing("CAT-008", submission(mark_url="http://acme.example/mark.svg"))
    assert "app.mark_url" in found.message


# -- CAT-009 active content ------------------------------------------------------------------------


def test_script_in_the_logo_is_a_blocker():
    found = failing("CAT-009", submission(logo_svg=svg("0 0 240 60", "<script>alert(1)</script>")))
    assert found.outcome == "fail" and found.severity == "blocker"
    assert "app.logo_svg has <script> element" in found.message
    assert found.evidence["dangers"] == {"app.logo_svg": ["<script> element"]}


def test_dangers_in_both_svgs_are_all_named():
    found = failing(
        "CAT-009",
        submission(
            logo_svg=svg("0 0 240 60", '<a href="javascript:steal()"><text>Acme</text></a>'),
            mark_svg=svg(extra='onload="steal()"', body="<foreignObject/>"),
        ),
    )
    assert "app.logo_svg has javascript: URL in the href attribute of <a>" in found.message
    assert "app.mark_svg has onload event-handler attribute on <svg>, <foreignObject> element" in found.message


# -- CAT-010 mark square / CAT-011 logo horizontal / CAT-012 mark without name ---------------------


def test_non_square_mark_fails_with_its_size():
    found = failing("CAT-010", submission(mark_svg=svg("0 0 64 32")))
    assert found.outcome == "fail"
    assert found.message == "app.mark_svg is 64×32 (viewBox), not square"


@pytest.mark.parametrize("mark", [svg("0 0 64 64.3"), f'<svg {NS} width="48px" height="48"/>'])
def test_square_marks_pass(mark):
    assert result("CAT-010", submission(mark_svg=mark)).outcome == "pass"


def test_mark_without_any_size_fails():
    found = failing("CAT-010", submission(mark_svg=f"<svg {NS}><rect/></svg>"))
    assert "app.mark_svg declares neither a viewBox nor a width and height" in found.message


def test_square_tolerance_is_a_setting():
    assert (
        result("CAT-010", submission(mark_svg=svg("0 0 64 66")), Settings(mark_square_tolerance=0.05)).outcome == "pass"
    )


def test_square_logo_is_a_warning_not_a_blocker():
    found = results(submission(logo_svg=svg("0 0 60 60", "<text>Acme</text>")))
    assert found["CAT-011"].outcome == "warn" and found["CAT-011"].severity == "warning"
    assert "app.logo_svg is 60×60 (viewBox), not wider than tall" in found["CAT-011"].message
    assert verdict(found.values()) == "pass"


def test_mark_showing_the_company_name_is_a_warning():
    found = failing("CAT-012", submission(mark_svg=svg(body="<text x='2' y='40'>ACME</text>")))
    assert found.outcome == "warn"
    assert "app.mark_svg shows the text 'ACME'" in found.message


def test_mark_with_other_text_passes():
    assert result("CAT-012", submission(mark_svg=svg(body="<text>A</text>"))).outcome == "pass"


# -- CAT-013 screenshots / CAT-014 docs / CAT-015 launch links -------------------------------------


def test_non_https_screenshot_is_named_by_index():
    found = failing("CAT-013", submission(screenshots=["https://acme.example/a.png", "http://acme.example/b.png"]))
    assert found.outcome == "fail"
    assert "app.screenshots[1] uses http: instead of https:" in found.message
    assert "app.screenshots[0]" not in found.message


def test_many_bad_screenshots_are_listed_boundedly():
    found = failing("CAT-013", submission(screenshots=[f"http://acme.example/{i}.png" for i in range(12)]))
    assert "and 7 more" in found.message
    assert len(found.evidence["problems"]) == 5


def test_non_https_docs_link_fails_naming_it():
    found = failing("CAT-014", submission(docs(own_url="http://acme.example/docs")))
    assert found.outcome == "fail"
    assert "app.docs.own_url uses http: instead of https:" in found.message


def test_catalog_url_must_be_this_slugs_catalog_page():
    found = failing("CAT-014", submission(docs(catalog_url="https://segment.com/catalog/integrations/other-app/")))
    assert "app.docs.catalog_url" in found.message
    assert "https://segment.com/catalog/integrations/acme-analytics/" in found.message


def test_catalog_url_with_utm_query_passes():
    url = "https://segment.com/catalog/integrations/acme-analytics?utm_source=segmentio&utm_medium=docs"
    assert result("CAT-014", submission(docs(catalog_url=url))).outcome == "pass"


def test_http_launch_post_fails_naming_it():
    found = failing("CAT-015", submission(launch_post_url="http://acme.example/blog/segment"))
    assert found.outcome == "fail"
    assert "app.launch_post_url uses http:" in found.message
    assert "app.partner_page_url" not in found.message


# -- CAT-016 test account --------------------------------------------------------------------------


def test_empty_password_fails_without_showing_the_account():
    found = failing("CAT-016", submission(test_account={"username": "reviewer@acme.example", "password": "  "}))
    assert found.outcome == "fail"
    assert found.message == "app.test_account.password is empty"
    assert "reviewer@acme.example" not in json.dumps(found.model_dump())


def test_blank_username_fails():
    found = failing("CAT-016", submission(test_account={"username": " ", "password": "pw"}))
    assert "app.test_account.username" in found.message


# -- CAT-017 / CAT-018 OAuth -----------------------------------------------------------------------


def test_too_many_redirect_uris_fail():
    uris = [f"https://acme.example/cb/{i}" for i in range(6)]
    found = failing("CAT-017", submission(oauth(redirect_uris=uris)))
    assert found.outcome == "fail"
    assert "app.oauth.redirect_uris has 6 URIs, more than 5" in found.message
    assert (
        result("CAT-017", submission(oauth(redirect_uris=uris)), Settings(oauth_max_redirect_uris=6)).outcome == "pass"
    )


def test_http_redirect_uri_fails_naming_it():
    found = failing("CAT-017", submission(oauth(redirect_uris=["https://acme.example/cb", "http://localhost:3000/cb"])))
    assert "app.oauth.redirect_uris[1] uses http:" in found.message


def test_oauth_without_redirect_uris_fails():
    assert "app.oauth.redirect_uris is empty" in failing("CAT-017", submission(oauth(redirect_uris=[]))).message


def test_missing_destination_scope_fails_naming_it():
    found = failing("CAT-018", submission(oauth(scopes=["destination/acme"])))
    assert found.outcome == "fail"
    assert "app.oauth.scopes lacks 'destination/acme-analytics'" in found.message


def test_scope_is_not_required_without_a_destination():
    def only_source(data: dict[str, Any]) -> None:
        data["components"] = [c for c in data["components"] if c["type"] == "source"]
        data["app"]["oauth"]["scopes"] = []

    assert result("CAT-018", submission(only_source)).outcome == "skip"


def test_oauth_checks_skip_when_no_oauth_is_given():
    found = results(submission(oauth=DELETE))
    assert found["CAT-017"].outcome == found["CAT-018"].outcome == "skip"
    assert "OAuth" in found["CAT-017"].message


# -- examples/invalid ------------------------------------------------------------------------------


def load_invalid(name: str) -> Any:
    return json.loads((EXAMPLES / "invalid" / name).read_text())


def test_unknown_field_example_is_refused_naming_the_typo():
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission(load_invalid("unknown-field.json"))
    assert any(p.startswith("app.supprot_email: unknown field") for p in caught.value.problems)


def test_missing_app_example_is_refused():
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission(load_invalid("missing-app.json"))
    assert caught.value.problems == ["app: required field is missing"]


def test_not_json_example_is_not_json():
    with pytest.raises(json.JSONDecodeError):
        load_invalid("not-json.json")


def test_catalog_problems_example_fails_the_expected_checks():
    found = verify_catalog_fields(parse_submission(load_invalid("catalog-problems.json")), Settings())
    failed = {r.check for r in found if r.outcome == "fail"}
    assert failed == {"CAT-002", "CAT-004", "CAT-005", "CAT-009", "CAT-010"}
    assert verdict(found) == "fail"


# -- check objects on hand-built subjects ----------------------------------------------------------


def test_the_catalog_runs_its_check_objects_in_order():
    from partner_review.tasks.catalog import fields

    found = verify_catalog_fields(submission(), Settings())
    assert [r.check for r in found] == [c.id for c in fields.CHECKS]


def test_slug_format_object_judges_the_slug_of_its_subject():
    from partner_review.tasks.catalog.fields import SLUG_FORMAT, Catalog

    found = SLUG_FORMAT.run(Catalog(submission(slug="Acme--Analytics")))
    assert found.outcome == "fail" and found.evidence == {"field": "app.slug", "value": "Acme--Analytics"}
    assert found.message.endswith("has uppercase letters, has a double hyphen; try 'acme-analytics'")
    assert SLUG_FORMAT.run(Catalog(submission(slug=" "))).not_run == "not-applicable"


def test_description_size_object_reads_its_limits_from_the_context():
    from partner_review.tasks.catalog.fields import DESCRIPTION_SIZE, Catalog
    from partner_review.tasks.context import Context

    subject = Catalog(submission(description="Twelve chars"))
    assert DESCRIPTION_SIZE.run(subject, Context.of(Settings())).outcome == "pass"
    found = DESCRIPTION_SIZE.run(subject, Context.of(Settings(description_max_chars=5)))
    assert found.outcome == "fail" and found.message == "app.description has 12 characters of text, more than 5"


def test_svg_objects_judge_hand_built_assets():
    from partner_review.tasks.catalog import assets, svg
    from partner_review.tasks.catalog.fields import Catalog
    from partner_review.tasks.context import Context

    offline = assets.Asset(
        "app.logo_url", assets.Unverified("app.logo_url: offline", "offline"), "https://a.example/l.svg"
    )
    gone = assets.Asset(
        "app.mark_url", svg.SvgError("unreachable", "app.mark_url answered 404"), "https://a.example/m.svg"
    )
    wide = svg.SvgInfo(width=None, height=None, view_box=(0, 0, 64, 60), dangers=(), text="", namespaced=True)
    subject = Catalog(submission(), logo=(offline,), mark=(gone, assets.Asset("app.mark_svg", wide)))

    logo = assets.LOGO_SVG.run(subject)
    assert logo.not_run == "offline" and logo.message == "app.logo_url: offline"
    mark = assets.MARK_SVG.run(subject)
    assert mark.outcome == "fail" and mark.message == "app.mark_url answered 404"
    assert mark.evidence == {"field": "app.mark_url", "reason": "unreachable", "url": "https://a.example/m.svg"}
    square = assets.MARK_SQUARE.run(subject, Context.of(Settings(mark_square_tolerance=0.01)))
    assert square.outcome == "fail" and square.message == "app.mark_svg is 64×60 (viewBox), not square"
    assert assets.MARK_SQUARE.run(subject, Context.of(Settings(mark_square_tolerance=0.1))).not_run == "not-verified"
    assert assets.NO_ACTIVE_CONTENT.run(Catalog(submission())).not_run == "not-applicable"
