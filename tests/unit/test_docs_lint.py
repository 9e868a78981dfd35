"""The documentation linter: each rule on small pages, the bundled examples, bad input, fetching."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from partner_review.models.checks import REGISTRY, verdict
from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.tasks.docs.document import parse
from partner_review.tasks.docs.lint import CHECKS, decode, detect_kind, links_and_anchors, lint, lint_documentation
from tests.conftest import EXAMPLES, ROOT

DOCS = EXAMPLES / "docs"
GOOD = (DOCS / "acme-analytics-destination.md").read_text()
GOOD_SOURCE = (DOCS / "acme-analytics-source.md").read_text()
UTM = "utm_source=segmentio&utm_medium=docs&utm_campaign=partners"
ALL_CALLS = {"identify", "track", "page", "screen", "group", "alias"}


def submission(**changes):
    data = json.loads((EXAMPLES / "submission.json").read_text())
    destination = data["components"][0]
    for key, value in changes.items():
        destination[key] = value
    return parse_submission(data)


def source_only_submission():
    data = json.loads((EXAMPLES / "submission.json").read_text())
    data["components"] = [c for c in data["components"] if c["type"] == "source"]
    return parse_submission(data)


def findings(results, check=None):
    return [r for r in results if r.outcome in ("fail", "warn", "error") and check in (None, r.check)]


def failing(results):
    return {r.check for r in findings(results)}


def one(results, check):
    found = findings(results, check)
    assert len(found) == 1, [r.message for r in found]
    return found[0]


def outcome(results, check):
    return next(r.outcome for r in results if r.check == check)


# The registry -----------------------------------------------------------------------------------


def test_every_docs_check_is_registered_with_its_severity():
    ids = [c.id for c in CHECKS]
    assert ids == [f"DOC-{n:03d}" for n in range(1, 21)]
    assert all(REGISTRY[i] is c and c.stage == "docs" and c.remedy for i, c in zip(ids, CHECKS))
    blockers = {c.id for c in CHECKS if c.severity == "blocker"}
    assert blockers == {f"DOC-{n:03d}" for n in range(1, 14)}
    assert {c.id for c in CHECKS if c.severity == "warning"} == {f"DOC-{n:03d}" for n in range(14, 21)}


# The bundled examples ---------------------------------------------------------------------------


async def test_bundled_submission_docs_lint_clean():
    bundled = parse_submission(json.loads((EXAMPLES / "submission.json").read_text()))
    results = await lint_documentation(bundled, accepted_calls=ALL_CALLS)
    assert findings(results) == []
    assert verdict(results) == "pass"
    assert {r.check for r in results} == {c.id for c in CHECKS}
    skipped = [r for r in results if r.outcome == "skip"]
    assert [r.check for r in skipped] == ["DOC-009"]  # a destination page has no source tables


def test_good_source_page_lints_clean_as_a_source():
    results = lint(GOOD_SOURCE, source_only_submission())
    assert findings(results) == []
    assert outcome(results, "DOC-009") == "pass"


async def test_flawed_submission_docs_fail_with_located_findings():
    flawed = parse_submission(json.loads((EXAMPLES / "submission-flawed-docs.json").read_text()))
    results = await lint_documentation(flawed, accepted_calls={"identify", "page"})
    assert verdict(results) == "fail"
    assert failing(results) == {
        "DOC-004",
        "DOC-005",
        "DOC-007",
        "DOC-008",
        "DOC-010",
        "DOC-011",
        "DOC-012",
        "DOC-013",
        "DOC-014",
        "DOC-016",
        "DOC-017",
        "DOC-018",
        "DOC-019",
        "DOC-020",
    }
    lines = (DOCS / "acme-analytics-destination-flawed.md").read_text().split("\n")
    for result in findings(results):
        evidence = result.evidence
        assert evidence["line"] >= 1 and evidence["column"] >= 1, result
        assert evidence["excerpt"].strip(), result
        source_line = lines[evidence["line"] - 1]
        assert evidence["excerpt"].rstrip("…")[:20] in source_line, (result, source_line)
    assert one(results, "DOC-019").evidence["line"] == 23
    assert one(results, "DOC-020").evidence == {
        "line": 33,
        "column": 73,
        "excerpt": "Acme Analytics. Read the [identity guide]().",
    }


# Template rules ---------------------------------------------------------------------------------


def test_front_matter_title_required():
    assert outcome(lint(GOOD), "DOC-003") == "pass"
    no_front_matter = one(lint(GOOD.split("---\n", 2)[2]), "DOC-003")
    assert no_front_matter.outcome == "fail" and no_front_matter.evidence["line"] == 1
    empty_title = one(lint(GOOD.replace("title: Acme Analytics Destination", "id: 123")), "DOC-003")
    assert "no `title:`" in empty_title.message


def test_intro_link_needs_the_exact_utm_string():
    sub = submission()
    assert outcome(lint(GOOD, sub), "DOC-004") == "pass"
    missing = one(lint(GOOD.replace("?" + UTM, ""), sub), "DOC-004")
    assert "lacks the UTM string" in missing.message
    assert (missing.evidence["line"], missing.evidence["column"]) == (5, 18)
    changed = one(lint(GOOD.replace("utm_medium=docs", "utm_medium=web"), sub), "DOC-004")
    assert "was changed" in changed.message
    elsewhere = one(lint(GOOD.replace("https://acme.example/?", "https://other.example/?"), sub), "DOC-004")
    assert "not the partner's website acme.example" in elsewhere.message
    no_link = GOOD.replace(f'[Acme Analytics](https://acme.example/?{UTM}){{:target="_blank"}}', "Acme Analytics")
    assert "no link" in one(lint(no_link, sub), "DOC-004").message


def test_utm_link_only_counts_in_the_intro():
    moved = GOOD.replace(f"(https://acme.example/?{UTM})", "(https://acme.example/)")
    moved += f"\n## More\n\nSee [Acme](https://acme.example/?{UTM}).\n"
    assert outcome(lint(moved, submission()), "DOC-004") == "fail"


def test_maintained_by_line_with_contact():
    assert outcome(lint(GOOD), "DOC-005") == "pass"
    url_contact = GOOD.replace("mailto:support@acme.example", "https://help.acme.example/segment")
    assert outcome(lint(url_contact), "DOC-005") == "pass"
    no_link = GOOD.replace("[contact the Acme Analytics Support team](mailto:support@acme.example)", "write to Acme")
    result = one(lint(no_link), "DOC-005")
    assert (result.evidence["line"], result.evidence["column"]) == (7, 21)
    gone = "\n".join(line for line in GOOD.split("\n") if "maintained by" not in line)
    assert 'No "This destination is maintained by' in one(lint(gone), "DOC-005").message


def test_required_sections_missing_and_out_of_order():
    without_methods = GOOD[: GOOD.index("## Supported methods")]
    missing = one(lint(without_methods), "DOC-006")
    assert "Missing section `## Supported methods`" in missing.message
    reordered = (
        "---\ntitle: Acme Analytics Events Source\n---\n\n## Getting started\n\n## Event Properties\n\n## Events\n\n"
        "## Adding Destinations\n"
    )
    order = one(lint(reordered, source_only_submission()), "DOC-006")
    assert order.message.startswith("`## Event Properties` comes before `## Events`")
    assert order.evidence["line"] == 7 and order.evidence["excerpt"] == "## Event Properties"


def test_source_template_sections_and_tables():
    results = lint(GOOD_SOURCE, source_only_submission())
    assert outcome(results, "DOC-006") == "pass"
    no_stream = GOOD_SOURCE.replace("## Stream", "## How it works")  # optional: not in Segment's source template
    assert outcome(lint(no_stream, source_only_submission()), "DOC-006") == "pass"
    no_events = GOOD_SOURCE.replace("## Events", "## What is sent")
    assert "Missing section `## Events`" in one(lint(no_events, source_only_submission()), "DOC-006").message
    as_list = GOOD_SOURCE.replace("| Report Viewed | A user opened a report |", "").replace(
        "| Event name | Description |\n| --- | --- |\n", "- Report Viewed: a user opened a report\n"
    )
    table = one(lint(as_list, source_only_submission()), "DOC-009")
    assert "`Events` lists no table" in table.message
    html_table = GOOD_SOURCE.replace(
        "| Property name | Description |\n| --- | --- |\n| `report_name` | Name of the report viewed |\n"
        "| `alert_name` | Name of the alert that fired |\n| `threshold` | The threshold the alert crossed |\n",
        "<table>\n  <tr><td>Property Name</td><td>Description</td></tr>\n"
        "  <tr><td>report_name</td><td>Name of the report</td></tr>\n</table>\n",
    )
    assert outcome(lint(html_table, source_only_submission()), "DOC-009") == "pass"


def test_actions_destination_needs_the_generated_fields_include():
    page = (
        "---\ntitle: Acme (Actions) Destination\n---\n\n[Acme](https://acme.example/?" + UTM + ") helps.\n\n"
        "This destination is maintained by Acme. [Contact Acme](mailto:s@acme.example).\n\n## Getting started\n\n"
        "1. In the [Acme dashboard](https://app.acme.example/keys), copy the API key.\n"
        "2. Paste it into the destination settings.\n\n"
    )
    assert detect_kind(parse(page, max_nesting=20)) == "actions-destination"
    assert "actions-fields.html" in one(lint(page), "DOC-006").message
    with_include = page + "{% include components/actions-fields.html %}\n"
    results = lint(with_include)
    assert findings(results) == []
    assert outcome(results, "DOC-008") == "skip"


def test_no_headings_and_html_only_pages_are_reported_once():
    plain = lint("Acme Analytics is great. This destination is maintained by Acme.\n")
    assert "no headings at all" in one(plain, "DOC-006").message
    html = lint("<div>\n<h2>Getting started</h2>\n<p>Use the API key.</p>\n</div>\n")
    message = one(html, "DOC-006").message
    assert "raw HTML" in message and "Getting started, Supported methods" in message
    assert all(r.evidence["line"] >= 1 for r in findings(html))


def test_getting_started_numbered_steps_and_key_location():
    assert outcome(lint(GOOD), "DOC-007") == "pass"
    prose = GOOD.replace("1. From", "From").replace("2. Search", "Search").replace("3. Choose", "Choose")
    prose = prose.replace("4. In the", "In the").replace("5. Paste", "Paste")
    assert "no numbered steps" in one(lint(prose), "DOC-007").message
    nowhere = GOOD.replace(
        "4. In the [Acme Analytics dashboard](https://app.acme.example/settings/integrations/segment)"
        '{:target="_blank"}, open **Settings > Integrations > Segment** and copy the **API Key**.',
        "4. Ask Acme for help.",
    ).replace(
        "5. Paste the API Key into the **API Key** field of the Acme Analytics destination settings in Segment.",
        "5. Click **Save**.",
    )
    assert 'does not say where the "API Key" is found' in one(lint(nowhere, submission()), "DOC-007").message
    vague = nowhere.replace("4. Ask Acme for help.", "4. Copy your Acme API key.")
    result = one(lint(vague), "DOC-007")  # alone, the page's own mention of a key makes it a keyed destination
    assert "mentions the API key but not where the API key is found" in result.message
    assert result.evidence["line"] == 14
    result = one(lint(vague, submission()), "DOC-007")
    assert 'mentions the API key but not where the "API Key" is found' in result.message


def test_source_getting_started_says_where_the_write_key_goes():
    assert outcome(lint(GOOD_SOURCE, source_only_submission()), "DOC-007") == "pass"
    no_key = GOOD_SOURCE.replace("4. Copy the Write Key from the Segment UI.\n", "").replace(
        "paste the Write Key into the **Segment Write Key** field and ", ""
    )
    result = one(lint(no_key, source_only_submission()), "DOC-007")
    assert "where to paste the Segment write key" in result.message


def with_auth(*, settings=None, oauth=True):
    """The example submission with the destination's settings replaced and app.oauth kept or removed."""
    data = json.loads((EXAMPLES / "submission.json").read_text())
    if settings is not None:
        data["components"][0]["settings"] = settings
    if not oauth:
        data["app"].pop("oauth", None)
    return parse_submission(data)


def getting_started(*steps: str) -> str:
    """GOOD with its Getting started steps replaced."""
    head, rest = GOOD.split("## Getting started\n", 1)
    tail = rest[rest.index("\nEvents appear") :]
    return head + "## Getting started\n\n" + "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1)) + "\n" + tail


SECRET_SETTING = [{"key": "apiKey", "label": "API Key", "required": True, "secret": True}]
ADD = "From the Destinations catalog page in the Segment App, click **Add Destination**."


@pytest.mark.parametrize(
    "where",
    [
        "Copy the **API Key** from the [Acme keys page](https://app.acme.example/keys).",
        "In Acme, open **Settings > API Keys** and copy the API Key.",
        "In Acme, go to Settings → Integrations and copy the API Key.",
        "Navigate to Workspace Settings in Acme and copy the API Key.",
        "Copy the API Key from the Account Settings page of Acme.",
        "Ask your Acme account manager for the API Key.",
    ],
)
def test_a_secret_setting_must_say_where_it_is_found(where):
    sub = with_auth(settings=SECRET_SETTING)
    page = getting_started(ADD, where, "Paste the API Key into the **API Key** field in Segment.")
    assert outcome(lint(page, sub), "DOC-007") == "pass", where


@pytest.mark.parametrize(
    "vague",
    [
        "Open the Acme app and copy the API Key.",  # "open", "app": no place named
        "Copy the API Key into the destination settings in Segment.",  # Segment's settings: where it is entered
        "> Copy the API Key.",  # a lone ">" is a blockquote, not a menu path
        "Paste the API Key into the field.",
    ],
)
def test_words_that_do_not_say_where_a_secret_is_found(vague):
    sub = with_auth(settings=SECRET_SETTING)
    page = getting_started(ADD, vague, "Click **Save**.")
    result = one(lint(page, sub), "DOC-007")
    assert 'but not where the "API Key" is found' in result.message or 'where the "API Key" is found' in result.message


def test_each_secret_setting_is_looked_for_by_its_label():
    settings = SECRET_SETTING + [{"key": "signingSecret", "label": "Signing Secret", "required": True, "secret": True}]
    page = getting_started(ADD, "Copy the API Key from **Settings > API Keys** in Acme.", "Click **Save**.")
    result = one(lint(page, with_auth(settings=settings)), "DOC-007")
    assert 'does not say where the "Signing Secret" is found' in result.message


def test_an_oauth_destination_must_describe_how_to_connect():
    oauth_only = with_auth(settings=[], oauth=True)
    connect = getting_started(ADD, "Click **Connect to Acme** and authorize Segment with your Acme account.")
    assert outcome(lint(connect, oauth_only), "DOC-007") == "pass"
    bare = getting_started(ADD.replace("click **Add Destination**", "add it"), "Acme uses OAuth.")
    result = one(lint(bare, oauth_only), "DOC-007")
    assert "connects through OAuth, but Getting started does not describe how to connect" in result.message


def test_oauth_named_on_a_page_alone_is_no_longer_a_bare_pass():
    bare = getting_started("Acme connects with OAuth.", "Data appears after a few minutes.")
    result = one(lint(bare), "DOC-007")
    assert "connects through OAuth" in result.message
    connect = getting_started("Click **Enable with Segment** on the Acme integrations page.", "Choose a source.")
    assert outcome(lint(connect), "DOC-007") == "pass"


def test_a_keyless_destination_must_describe_how_to_connect():
    keyless = with_auth(settings=[{"key": "region", "label": "Region", "required": False}], oauth=False)
    assert outcome(lint(getting_started(ADD, "Choose a Source."), keyless), "DOC-007") == "pass"
    nothing = getting_started("Acme receives your data.", "Choose a Source.")
    result = one(lint(nothing, keyless), "DOC-007")
    assert "needs no key, but Getting started does not describe how to connect" in result.message


def test_a_bare_key_word_is_not_a_secret():
    page = getting_started(ADD, "Map the event keys you need in **Mappings**.")
    assert outcome(lint(page), "DOC-007") == "pass"


def test_each_call_subsection_needs_a_code_sample():
    no_sample = GOOD.replace("```js\nanalytics.track('Report Viewed', { report_name: 'Funnel' })\n```\n", "")
    result = one(lint(no_sample), "DOC-008")
    assert result.message == "The Track subsection has no code sample."
    assert result.evidence["excerpt"] == "### Track"
    assert result.evidence["line"] == no_sample.split("\n").index("### Track") + 1
    no_calls = GOOD[: GOOD.index("### Page")]
    assert "No subsection per supported call" in one(lint(no_calls), "DOC-008").message


def placeholder_page() -> str:
    """An unfilled page modelled on Segment's partner templates (their instruction quotes included)."""
    return (
        "---\ntitle: [integration_name] Destination\n---\n\n"
        "> Include a 1-2 sentence introduction to your company and the value it provides to customers - "
        "updating the name and hyperlink. Please leave the utm string unchanged.\n\n"
        "[YOURINTEGRATION](https://yourintegration.com/?" + UTM + ") provides self-serve predictive analytics.\n\n"
        "This destination is maintained by YOURINTEGRATION. For any issues with the destination, "
        "[contact the YOURINTEGRATION Support team](mailto:support@YOURINTEGRATION.com).\n\n"
        "## Getting Started\n\n"
        "1. Configure <destination_name> (Actions) from the catalog.\n\n"
        "## Supported methods\n\n### Page\n\n"
        "Send [Page](/docs/connections/spec/page) calls to *ADD WHAT PAGE CALLS ARE USED FOR HERE*. For example:\n\n"
        "```js\nanalytics.page()\n```\n\n"
        "<!-- Include a brief description of the destination here, along with a link to your website. -->\n\n"
        "> Congratulations! 🎉 You’ve finished the documentation for your Segment integration.\n"
    )


def test_unfilled_template_placeholders_are_blockers_with_their_lines():
    results = lint(placeholder_page())
    found = findings(results, "DOC-010")
    assert all(r.outcome == "fail" and r.severity == "blocker" for r in found)
    located = {(r.evidence["line"], r.message.split(": ", 1)[1]) for r in found}
    assert (2, '"[integration_name]".') in located
    assert (5, '"Include a 1-2 sentence introduction".') in located
    assert (5, '"Please leave the utm string unchanged".') in located
    assert (7, '"YOURINTEGRATION".') in located and (7, '"yourintegration".') in located
    assert sum(1 for line, _ in located if line == 9) >= 1
    assert (13, '"<destination_name>".') in located
    assert (19, '"*ADD WHAT PAGE CALLS ARE USED FOR HERE*".') in located
    assert (25, '"Include a brief description of the destination".') in located
    assert (27, '"finished the documentation for your Segment integration".') in located
    assert verdict(results) == "fail"


def test_words_near_placeholders_in_normal_prose_are_not_placeholders():
    prose = GOOD + "\nConnect your integration and add what you need; the <event_name> format is shown above.\n"
    assert outcome(lint(prose), "DOC-010") == "pass"


# Matching the integration -----------------------------------------------------------------------


def test_required_settings_named_in_getting_started():
    assert outcome(lint(GOOD, submission()), "DOC-011") == "pass"
    renamed = submission(
        settings=[
            {"key": "workspaceToken", "label": "Workspace Token", "required": True},
            {"key": "region", "label": "Data Region", "required": False},
        ]
    )
    result = one(lint(GOOD, renamed), "DOC-011")
    assert '"Workspace Token" (key `workspaceToken`)' in result.message
    assert result.evidence["excerpt"] == "## Getting started"
    by_key = GOOD.replace("5. Paste the API Key", "5. Paste the key as `workspaceToken`")
    assert outcome(lint(by_key, renamed), "DOC-011") == "pass"
    assert outcome(lint(GOOD), "DOC-011") == "skip"


def test_documented_calls_equal_supported_calls():
    partial = submission(supported_calls=["identify", "track"])
    extra = findings(lint(GOOD, partial), "DOC-012")
    assert {r.evidence["excerpt"] for r in extra} == {"### Page", "### Screen", "### Group", "### Alias"}
    assert all("supported_calls (Identify and Track) do not include it" in r.message for r in extra)
    without_alias = GOOD[: GOOD.index("### Alias")]
    missing = one(lint(without_alias, submission()), "DOC-012")
    assert "supports Alias, but the page has no subsection for it" in missing.message
    assert missing.evidence["excerpt"] == "## Supported methods"


def test_documented_calls_must_have_been_accepted_end_to_end():
    results = lint(GOOD, submission(), accepted_calls={"identify", "page", "screen", "group", "alias"})
    result = one(results, "DOC-013")
    assert result.outcome == "fail" and result.severity == "blocker"
    assert "Track is supported, but the endpoint did not accept a Track call" in result.message
    assert result.evidence["excerpt"] == "### Track"
    assert outcome(lint(GOOD, submission(), accepted_calls=ALL_CALLS), "DOC-013") == "pass"
    assert "did not run" in next(r.message for r in lint(GOOD, submission()) if r.check == "DOC-013")
    assert "501" not in result.message and "while it accepted Page, Screen, Identify, Group and Alias" in result.message


def test_an_endpoint_that_accepted_nothing_is_not_said_to_have_answered_501():
    """A host that does not resolve accepts no call: DOC-013 says it could not compare, not what it answered."""
    result = next(r for r in lint(GOOD, submission(), accepted_calls=set()) if r.check == "DOC-013")
    assert result.outcome == "error" and result.blocks
    assert "501" not in result.message and "not reached" in result.message
    assert result.evidence["documented"] == ["alias", "group", "identify", "page", "screen", "track"]


def test_page_for_submission_with_destination_and_source_uses_the_destination_template():
    bundled = submission()
    assert bundled.destinations and bundled.sources
    assert detect_kind(parse(GOOD, max_nesting=20), bundled) == "destination"
    assert detect_kind(parse(GOOD, max_nesting=20), source_only_submission()) == "source"


@pytest.mark.parametrize(
    "path, page, kind",
    [
        ("destinations/actions-foo.md", "---\ntitle: Foo Destination\n---\n", "actions-destination"),
        ("sources/foo.md", "---\ntitle: Foo\n---\n", "source"),
        ("destinations/foo.md", "---\ntitle: Foo Source\n---\n", "destination"),
        (None, "---\ntitle: 'Foo Source'\n---\n", "source"),
        (None, "---\ntitle: Foo (Actions) Destination\n---\n", "actions-destination"),
        (None, "{% include components/actions-fields.html %}\n", "actions-destination"),
        (None, "---\ntitle: Foo\n---\n", "destination"),
    ],
)
def test_kind_from_path_and_front_matter(path, page, kind):
    assert detect_kind(parse(page, max_nesting=20), None, path) == kind


# Style rules ------------------------------------------------------------------------------------


def test_heading_levels_increase_by_one():
    assert outcome(lint(GOOD.replace("### Group", "#### Group")), "DOC-014") == "pass"  # H3 -> H4 is one step
    jump = GOOD.replace("### Group", "##### Group")
    result = one(lint(jump), "DOC-014")
    assert result.severity == "warning" and result.outcome == "warn"
    assert "H3 to H5" in result.message and result.evidence["excerpt"] == "##### Group"


def test_one_title():
    result = one(lint(GOOD.replace("## Getting started", "# Getting started")), "DOC-015")
    assert result.evidence == {"line": 9, "column": 1, "excerpt": "# Getting started"}
    untitled = GOOD.split("---\n", 2)[2]
    assert outcome(lint("# Acme\n\n" + untitled), "DOC-015") == "pass"
    assert len(findings(lint("# Acme\n\n# Again\n" + untitled), "DOC-015")) == 1


def test_first_person_outside_code_quotes_and_urls():
    page = GOOD + (
        "\n## Notes\n\nWe store events for a year; contact us if our limits matter.\n\n"
        "> We quoted a customer here.\n\n"
        'Click "Contact us" in the footer. Data stays in the US and `us-east-1` or us-west-2.\n'
        "See [the guide](https://acme.example/our/we-us) and `we` in code.\n\n"
        "```js\n// we send this\n```\n"
    )
    found = findings(lint(page), "DOC-016")
    text = "We store events for a year; contact us if our limits matter."
    line = page.split("\n").index(text) + 1
    assert [(r.evidence["line"], r.evidence["column"], r.message) for r in found] == [
        (line, 1, 'First-person word "We".'),
        (line, text.index(" us ") + 2, 'First-person word "us".'),
        (line, text.index(" our ") + 2, 'First-person word "our".'),
    ]


def test_kramdown_attributes_and_liquid_keep_columns_and_raise_nothing():
    page = GOOD + (
        "\n## Notes\n\n{% include content/beta-note.md %}\n\n"
        "{% raw %}Use {{ page.title }} as the label.{% endraw %}\n\n"
        "{% comment %}\nwe are still drafting https://draft.example\n{% endcomment %}\n\n"
        '[Docs](https://acme.example/docs){:target="_blank”} then we continue.\n'
        "{: .note}\n"
    )
    results = lint(page)
    first_person = one(results, "DOC-016")
    line = page.split("\n").index('[Docs](https://acme.example/docs){:target="_blank”} then we continue.') + 1
    assert (first_person.evidence["line"], first_person.evidence["column"]) == (line, 58)
    assert failing(results) == {"DOC-016"}


def test_image_alt_text_is_meaningful():
    page = GOOD + (
        "\n## Screens\n\n![](images/a.png)\n\n![Screenshot](images/b.png)\n\n"
        "![dashboard_settings.png](images/c.png)\n\n"
        "![keys](images/keys.png)\n\n![The Acme API Keys page with the key highlighted](images/d.png)\n\n"
        '<img src="images/e.png">\n\n<img src="images/f.png" alt="The Acme Segment settings page">\n'
    )
    found = findings(lint(page), "DOC-017")
    assert [r.message for r in found] == [
        "Image images/a.png: no alt text.",
        'Image images/b.png: alt text "Screenshot" says nothing.',
        'Image images/c.png: alt text "dashboard_settings.png" is a file name.',
        'Image images/keys.png: alt text "keys" is a file name.',
        "Image images/e.png: no alt text.",
    ]
    assert all(r.evidence["line"] > 80 for r in found)


def test_bare_urls_and_emails():
    page = GOOD + (
        "\n## Links\n\nSee https://acme.example/docs, or write to help@acme.example.\n\n"
        "Fine: <https://acme.example/auto>, [https://acme.example/x](https://acme.example/x), "
        "`https://acme.example/code` and [multi\nline](https://acme.example/m).\n"
    )
    found = findings(lint(page), "DOC-018")
    assert [r.evidence["excerpt"] for r in found] == ["https://acme.example/docs", "help@acme.example"]
    assert found[0].evidence["column"] == 5


def test_fenced_code_needs_a_language():
    page = GOOD + "\n## More\n\n```\nplain\n```\n\n~~~json\n{}\n~~~\n\n    indented\n"
    result = one(lint(page), "DOC-019")
    assert result.evidence["excerpt"] == "```"


def test_empty_links():
    page = GOOD + "\n## More\n\nRead [the guide]() or [this](#) or [](https://acme.example/x).\n"
    messages = [r.message for r in findings(lint(page), "DOC-020")]
    assert messages == [
        "Link with an empty destination `()`.",
        "Link with an empty destination `(#)`.",
        "Link to https://acme.example/x with no text.",
    ]


def test_findings_per_check_are_capped_with_a_summary():
    page = GOOD + "\n## More\n\n" + "".join(f"We say this on line {i}.\n\n" for i in range(60))
    found = findings(lint(page), "DOC-016")
    limit = get_settings().docs_max_findings_per_check
    assert len(found) == limit + 1
    assert found[-1].message.startswith(f"{60 - limit} more findings like these") and found[-1].evidence["more"] == 35


# Links and anchors for the link checker ---------------------------------------------------------


def test_links_and_anchors():
    page = (
        "---\ntitle: T\n---\n\n## Getting started\n\n"
        'See [the docs](https://acme.example/docs){:target="_blank"} and ![Key page](img/key.png).\n\n'
        "Reference [style][ref] and bare https://acme.example/bare too.\n\n"
        '<a href="https://acme.example/html" id="custom-anchor">x</a>\n\n'
        "## Getting started\n\n### API Key & Region {#api-key}\n\n## 2. Step: Done!\n\n"
        "`https://acme.example/in-code`\n\n[ref]: https://acme.example/ref\n"
    )
    urls, anchors = links_and_anchors(page)
    assert urls == [
        ("https://acme.example/docs", 7),
        ("img/key.png", 7),
        ("https://acme.example/ref", 9),
        ("https://acme.example/bare", 9),
        ("https://acme.example/html", 11),
    ]
    assert {"getting-started", "getting-started-1", "api-key", "step-done", "custom-anchor"} <= anchors
    assert {"2-step-done", "api-key--region"} <= anchors  # GitHub-style slugs too


# Bad input --------------------------------------------------------------------------------------


def test_non_utf8_bytes_are_a_located_finding_and_the_rest_is_linted():
    data = GOOD.encode().replace(b"growth teams.", "growth teams \xe9t\xe9.".encode("latin-1"), 1)
    results = lint(data)
    result = one(results, "DOC-002")
    assert result.outcome == "fail" and "not valid UTF-8: byte 0xE9 at line 5" in result.message
    assert result.evidence["line"] == 5 and result.evidence["column"] > 100
    assert "\ufffd" in result.evidence["excerpt"]
    assert outcome(results, "DOC-006") == "pass"


def test_decode_honours_boms_and_declared_charsets():
    assert decode("\ufeff# Título".encode("utf-8"))[:2] == ("# Título", None)
    assert decode("# Título".encode("utf-16"))[:2] == ("# Título", None)
    assert decode("# Título".encode("latin-1"), "iso-8859-1")[:2] == ("# Título", None)
    text, problem, line, column = decode(b"ok\n\xff bad", "no-such-charset")
    assert text == "ok\n\ufffd bad" and "byte 0xFF at line 2, column 1" in problem and (line, column) == (2, 1)


def test_lone_surrogates_in_a_str_are_reported_not_crashed_on():
    results = lint(GOOD.replace("growth teams", "growth \ud800 teams"))
    result = one(results, "DOC-002")
    assert "lone UTF-16 surrogate" in result.message and result.evidence["line"] == 5
    json.dumps([r.model_dump(mode="json") for r in results])


def test_a_ten_megabyte_page_is_one_finding_and_is_not_parsed():
    huge = GOOD + "\nfiller text with a [link](https://acme.example)\n" * 220_000
    assert len(huge.encode()) > 10_000_000
    results = lint(huge)
    result = one(results, "DOC-002")
    assert "too large" in result.message and f"{get_settings().docs_max_bytes:,}" in result.message
    assert [r.outcome for r in results if r.check not in ("DOC-001", "DOC-002")] == ["skip"] * 18
    assert one(lint(huge.encode()), "DOC-002").message == result.message
    urls, _ = links_and_anchors(huge)  # the link checker gets the page up to the size limit
    assert 0 < len(urls) < 30_000


@pytest.mark.parametrize(
    "body",
    [
        "- " * 10_000 + "deep\n",
        "> " * 10_000 + "deep\n",
        "".join("  " * i + "- level\n" for i in range(200)),
        "*a " * 10_000 + "\n",
        "[" * 10_000 + "\n",
    ],
)
def test_pathological_nesting_is_bounded_and_reported(body):
    page = GOOD + "\n## Deep\n\n" + body
    first = page.split("\n").index(body.split("\n")[0]) + 1
    results = lint(page)
    assert all(r.evidence["line"] >= 1 for r in findings(results))
    if body.startswith(("- ", "> ")):
        result = one(results, "DOC-002")
        assert "nested more than 20 levels" in result.message
        assert first <= result.evidence["line"] < first + 20  # one line, or the 10th indented level
    else:
        assert outcome(results, "DOC-002") == "pass"


@pytest.mark.parametrize("unit", ["[", "{{", "` `` ", "We say so.\n\n![](a.png)\n\n", "# Title\n", "[]() "])
def test_adversarial_pages_just_under_the_size_limit_stay_bounded(unit):
    head = "---\ntitle: T\n---\n\n## Getting started\n\n"
    page = head + unit * ((get_settings().docs_max_bytes - len(head) - 10) // len(unit.encode()))
    results = lint(page)
    assert outcome(results, "DOC-002") == "pass"  # parsed, not refused
    limit = get_settings().docs_max_findings_per_check
    for check in CHECKS:
        listed = findings(results, check.id)
        assert len(listed) <= limit + 1 and all(r.evidence["line"] >= 1 for r in listed)
    urls, _ = links_and_anchors(page)
    assert all(line >= 1 for _, line in urls)


def test_empty_and_blank_pages_are_missing_docs():
    for page in ("", "   \n\n", b""):
        result = one(lint(page), "DOC-001")
        assert result.outcome == "fail" and "empty" in result.message and result.evidence["line"] == 1


def test_nul_bytes_and_crlf_line_endings():
    results = lint(GOOD.replace("\n", "\r\n").replace("growth", "gro\x00wth").encode())
    assert findings(results) == []


# Fetching ---------------------------------------------------------------------------------------


async def test_missing_docs_are_a_blocker_and_offline_urls_are_skipped():
    data = json.loads((EXAMPLES / "submission.json").read_text())
    del data["app"]["docs"]["segment_markdown"]
    results = await lint_documentation(parse_submission(data))
    missing = one(results, "DOC-001")
    assert missing.outcome == "fail" and missing.evidence["field"] == "app.docs.segment_markdown"
    assert verdict(results) == "fail"
    data["app"]["docs"]["segment_markdown_url"] = "https://acme.example/docs/segment.md"
    offline = await lint_documentation(parse_submission(data), offline=True)
    assert [r.outcome for r in offline] == ["pass"] + ["skip"] * 19
    assert all(
        r.message.startswith("offline: not run, since it fetches the doc page at https://acme.example/docs/segment.md")
        for r in offline[1:]
    )


class _DocsSite(BaseHTTPRequestHandler):
    pages = {
        "/good.md": (200, "text/markdown; charset=utf-8", GOOD.encode()),
        "/latin1.md": (200, "text/plain; charset=iso-8859-1", GOOD.replace("growth", "grówth").encode("latin-1")),
        "/page.html": (200, "text/html; charset=utf-8", b"<html><body><h1>Docs</h1></body></html>"),
        "/huge.md": (200, "text/markdown", b"x" * (get_settings().docs_max_bytes + 10)),
    }

    def do_GET(self):
        status, content_type, body = self.pages.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def docs_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DocsSite)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def url_submission(url):
    data = json.loads((EXAMPLES / "submission.json").read_text())
    del data["app"]["docs"]["segment_markdown"]
    data["app"]["docs"]["segment_markdown_url"] = url
    return parse_submission(data)


async def test_fetched_docs_are_linted(docs_site):
    results = await lint_documentation(url_submission(docs_site + "/good.md"), accepted_calls=ALL_CALLS)
    assert findings(results) == [] and verdict(results) == "pass"
    latin = await lint_documentation(url_submission(docs_site + "/latin1.md"))
    assert outcome(latin, "DOC-002") == "pass"


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/missing.md", "answered HTTP 404"),
        ("/page.html", "serves an HTML page (text/html), not the Markdown source"),
        ("/huge.md", "too large to review"),
    ],
)
async def test_fetch_failures_are_findings_not_exceptions(docs_site, path, expected):
    results = await lint_documentation(url_submission(docs_site + path))
    result = one(results, "DOC-002")
    assert expected in result.message and result.evidence["line"] == 1
    assert verdict(results) == "fail"


async def test_unreachable_url_is_a_finding():
    results = await lint_documentation(url_submission("http://127.0.0.1:9/docs.md"))
    result = one(results, "DOC-002")
    assert "could not be fetched" in result.message and result.evidence["url"] == "http://127.0.0.1:9/docs.md"


# Staying lean -----------------------------------------------------------------------------------


def test_linting_imports_neither_prefect_nor_the_http_client():
    code = (
        "import sys\nfrom pathlib import Path\nfrom partner_review.tasks.docs.lint import lint\n"
        "lint(Path('examples/docs/acme-analytics-destination.md').read_text())\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'httpx') or m.startswith('partner_review.tasks.net'))\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_random_markdown_fragments_never_crash_and_every_finding_is_located():
    import random

    fragments = [
        "# ",
        "## ",
        "#### Track",
        "## Getting started\n",
        "1. ",
        "- ",
        "> ",
        "```",
        "```js",
        "~~~",
        "\n",
        "\n\n",
        "    ",
        "[",
        "]",
        "(",
        ")",
        "![",
        "<img src=x>",
        "<div>",
        "{% include a %}",
        "{% comment %}",
        "{% endcomment %}",
        "{{ x }}",
        '{:target="_blank"}',
        "{: .c}",
        "{#id}",
        "---\n",
        "title: x\n",
        "we ",
        "https://a.example/c ",
        "a@b.co ",
        "YOURINTEGRATION",
        "*ADD WHAT X*",
        "| a | b |\n|---|---|\n| c | d |\n",
        "\x00",
        "é",
        "\t",
        "\r\n",
        "`",
        "*",
        "maintained by ",
        "[x](mailto:a@b.example)",
        "](",
        "<!--",
        "===\n",
        "\\",
    ]
    rng = random.Random(7)
    bundled = submission()
    for i in range(300):
        page = "".join(rng.choice(fragments) + rng.choice(["", " word"]) for _ in range(rng.randint(0, 80)))
        results = lint(page.encode() if i % 2 else page, bundled if i % 3 else None, accepted_calls={"track"})
        assert {r.check for r in results} == {c.id for c in CHECKS}
        for result in findings(results):
            assert result.evidence["line"] >= 1 and result.evidence["column"] >= 1, (page, result)
