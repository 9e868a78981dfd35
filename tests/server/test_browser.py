"""The reviewer's desk, for real (issues 7 and 15): a Prefect server, `partner-review serve`, signed
deliveries of the bundled example, and headless Chromium deciding in Prefect 3.9's default UI (V2,
at `/v2`, where neutral entry points lead) by filling in and submitting the resume form: once
approving with waivers (after an approval without them is refused, reported once), once requesting
changes. The report shows in both UIs with no literal HTML entities, and the catalog tile loads.

Chromium is driven by Playwright (the `browser` extra) with the system's /usr/bin/chromium: its
locators wait for the single-page app to render, which raw DevTools calls would have to poll by hand.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import shutil
import uuid

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.server.support import Phases, signed_delivery, wait_until

pytestmark = pytest.mark.browser

REVIEW_DEPLOYMENT = "review-submission/review-submission"
UI_SECONDS = 60 * 1000  # Playwright timeouts are in ms: how long the UI may take to render on a busy machine
BLOCKERS = ("CAT-005", "LNK-009")  # an http:// website: not https, and the link check refuses it


def suspended_at(stack, store, submission_id: str, pause_key: str) -> dict:
    """The review's flow run once it is suspended waiting for the decision `pause_key`."""

    def waiting() -> dict | None:
        run = store.latest_review(submission_id)
        if not run or not run[0].flow_run_id:
            return None
        flow_run = stack.api.flow_run(run[0].flow_run_id)
        state = flow_run["state"]
        if state["type"] in ("FAILED", "CRASHED", "CANCELLED", "COMPLETED"):
            raise AssertionError(f"the review run ended before waiting for a decision: {state}\n{stack.procs.report()}")
        details = state["state_details"]
        ready = state["type"] == "PAUSED" and details.get("run_input_keyset") and details.get("pause_key") == pause_key
        return flow_run if ready else None

    return wait_until(
        waiting, timeout=300, what=f"the review run never waited for {pause_key}", processes=stack.procs, interval=1
    )


def finished(stack, flow_run_id: str) -> None:
    def completed() -> dict | None:
        state = stack.api.flow_run(flow_run_id)["state"]
        if state["type"] in ("FAILED", "CRASHED", "CANCELLED"):
            raise AssertionError(f"the resumed run did not complete: {state}\n{stack.procs.report()}")
        return state if state["type"] == "COMPLETED" else None

    wait_until(completed, timeout=300, what="the resumed review run never completed", processes=stack.procs, interval=1)


def open_form(page, ui: str, flow_run: dict):
    """The default UI's resume form for the run; returns the dialog."""
    from playwright.sync_api import expect

    page.goto(f"{ui}/v2/runs/flow-run/{flow_run['id']}")
    expect(page.get_by_text("Suspended").first).to_be_visible()
    page.get_by_role("button", name="Open menu").first.click()
    page.get_by_role("menuitem", name="Resume").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("Resume Flow Run")).to_be_visible()
    expect(form.get_by_label("Reviewer")).to_be_visible()
    page.wait_for_timeout(1500)  # the form clears its values once its schema has loaded
    return form


def decide(
    page,
    form,
    decision: str,
    reviewer: str,
    *,
    reopen,
    comment: str = "",
    waivers: list[tuple[str, str, str]] = (),
):
    """Fill in the form as a reviewer does and submit it. The V2 UI can re-render the dialog (and
    clear what was typed) when its schema or the run's state refreshes late on a loaded machine;
    the submit then fails the form's own validation and the dialog stays open. A reviewer would
    fill it in again, and so does this, in a freshly opened form (`reopen()`), at most three times."""
    from playwright.sync_api import expect

    for attempt in range(3):
        form.get_by_role("button", name="Select Decision").click()
        page.get_by_role("option", name=decision, exact=True).click()
        form.get_by_label("Reviewer").fill(reviewer)
        if comment:
            form.get_by_label("Comment").fill(comment)
        for i, (check_id, reason, expires) in enumerate(waivers):
            form.get_by_role("button", name="Add item").click()
            form.get_by_label("Check Id").nth(i).fill(check_id)
            form.get_by_label("Reason").nth(i).fill(reason)
            form.get_by_text("Pick a date").first.click()
            page.get_by_label("Date (yyyy-MM-dd)").fill(expires)
            page.get_by_label("Date (yyyy-MM-dd)").press("Enter")
            if page.get_by_label("Date (yyyy-MM-dd)").count():
                page.keyboard.press("Escape")
        expect(form.get_by_label("Reviewer")).to_have_value(reviewer)
        form.get_by_role("button", name="Resume", exact=True).click()
        try:
            expect(form).to_be_hidden(timeout=15_000)  # the UI accepted the input and resumed the run
            return
        except AssertionError:
            if attempt == 2:
                raise
            print(f"the resume form stayed open (attempt {attempt + 1}); filling it in again", flush=True)
            form = reopen()


def literal_entities(text: str) -> list[str]:
    import re

    return re.findall(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", text, re.IGNORECASE)


def test_reviewer_reads_report_and_tile_and_decides_in_the_default_ui(stack, browser, tmp_path, sample_partner):
    from playwright.sync_api import expect

    from partner_review.cli.demo import pointed_at

    phase = Phases()
    partner_url, site = sample_partner
    stack.partner(partner_url, site)
    example = pointed_at(json.loads((EXAMPLES / "submission.json").read_text()), partner_url, site)
    slug, name = example["app"]["slug"], example["app"]["name"]
    broken = json.loads(json.dumps(example))
    broken["app"]["website"] = broken["app"]["website"].replace("https://", "http://", 1)
    stack.prefect_server()
    receiver = stack.serve()
    store = stack.store()
    phase("Prefect server and `partner-review serve` ready")

    answer = signed_delivery(receiver, stack.secret, broken, f"browser-{uuid.uuid4().hex[:8]}")
    assert answer.status_code == 202, answer.text
    first = answer.json()["submission_id"]
    flow_run = suspended_at(stack, store, first, "decision-1")
    assert flow_run["state"]["name"] == "Suspended"
    run, results = store.latest_review(first)
    assert sorted({r.check for r in results if r.blocks}) == list(BLOCKERS)
    phase("first review suspended, waiting for a decision")

    ui = stack.api_url.removesuffix("/api")
    browser.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(ui) else route.abort()
    )  # loopback only: the UI's external fonts and banners are refused
    page = browser.new_page()
    page.set_default_timeout(UI_SECONDS)

    # The report and the tile, in the V1 UI (Prefect's own run links lead there) and the default V2.
    for prefix in ("", "/v2"):
        page.goto(f"{ui}{prefix}/runs/flow-run/{flow_run['id']}?tab=Artifacts")
        if not prefix:
            page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text(f"review-{slug}", exact=True).click()
        expect(page.get_by_role("heading", name=f"Review of {name} v1: FAIL")).to_be_visible()
        expect(page.get_by_text("Remedy:").first).to_be_visible()
        expect(page.get_by_text("app.website uses http: instead of https:").first).to_be_visible()
        body = page.inner_text("body")
        for _ in range(40):  # the V2 UI re-renders the artifact after it first shows: read it once it is back
            if "app.website uses http: instead of https:" in body:
                break
            page.wait_for_timeout(250)
            body = page.inner_text("body")
        assert not literal_entities(body), (prefix or "V1", literal_entities(body)[:5])
        page.screenshot(path=str(tmp_path / f"report{prefix.replace('/', '-') or '-v1'}.png"), full_page=True)
        at = body.find("CAT-005")
        assert "app.website uses http: instead of https:" in body, body[at : at + 400]
        stray = body.find("\\:")
        assert stray < 0, body[max(0, stray - 200) : stray + 100]  # a markdown escape shown literally
        site_origin = site.base_url.replace("https://", "http://").rstrip("/")
        links = page.locator(f"a[href^='{site_origin}']")
        assert links.count() == 0, "a partner URL became a link"  # URLs are code spans
        page.screenshot(path=str(tmp_path / f"report{prefix.replace('/', '-') or '-v1'}.png"), full_page=True)

        page.goto(f"{ui}{prefix}/runs/flow-run/{flow_run['id']}?tab=Artifacts")
        if not prefix:
            page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text(f"review-{slug}--tile", exact=True).click()
        tile = page.locator("img[src^='data:image/png']").first
        expect(tile).to_be_visible()
        assert tile.evaluate("img => img.complete && img.naturalWidth") == 720
    phase("report (no entities, no links) and tile image in both UIs")

    # The default UI's form briefs the reviewer; an approval without waivers is refused, once.
    form = open_form(page, ui, flow_run)
    expect(form.get_by_text("automated verdict")).to_be_visible()
    for check in BLOCKERS:
        expect(form.get_by_text(check).first).to_be_visible()
    expect(form.get_by_role("link", name=f"review-{slug}")).to_be_visible()
    screenshot = tmp_path / "reviewer-ui.png"
    page.screenshot(path=str(screenshot))
    if os.environ.get("PARTNER_REVIEW_UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, ROOT / "docs" / "img" / "reviewer-ui.png")
    reopen = functools.partial(open_form, page, ui, flow_run)
    decide(page, form, "approve", "rita@reviewers.example", reopen=reopen, comment="Welcome aboard")
    flow_run = suspended_at(stack, store, first, "decision-2")
    assert store.get_submission(first).state == "in_review"
    phase("approval without waivers refused; asked again")

    form = open_form(page, ui, flow_run)
    expect(form.get_by_text("Your last decision was refused:")).to_be_visible()
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    waivers = [(check, "the website moves to https next week", expires) for check in BLOCKERS]
    reopen = functools.partial(open_form, page, ui, flow_run)
    decide(page, form, "approve", "rita@reviewers.example", reopen=reopen, comment="Welcome aboard", waivers=waivers)
    finished(stack, flow_run["id"])
    phase("approved with waivers from the form; the resumed run completed")

    assert store.get_submission(first).state == "public_beta"
    assert sorted(w.check_id for w in store.waivers(slug)) == list(BLOCKERS)
    notices = store.notifications(first)
    assert [n.kind for n in notices].count("approve") == 1, [(n.kind, n.subject) for n in notices]
    runs = stack.api.flow_runs(stack.api.deployment(REVIEW_DEPLOYMENT)["id"])
    assert [r["id"] for r in runs] == [flow_run["id"]], "the resumes reran the same flow run, no new one"
    decisions = stack.api.artifacts(f"review-{slug}--decision")
    assert sum("Decision refused" in a["data"] for a in decisions) == 1, "a refusal was reported again on resume"
    assert any(f"Decision on {name} v1: approve" in a["data"] for a in decisions)
    logs = stack.api.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}})
    assert sum("decision 1 refused" in log["message"] for log in logs) == 1
    assert sum("waiting for a reviewer's decision" in log["message"] for log in logs) == 2

    # A second app's review: the reviewer requests changes from the form.
    other = json.loads(json.dumps(broken))
    other["app"]["slug"], other["app"]["name"] = "acme-insights", "Acme Insights"
    answer = signed_delivery(receiver, stack.secret, other, f"browser-{uuid.uuid4().hex[:8]}")
    assert answer.status_code == 202, answer.text
    second = answer.json()["submission_id"]
    flow_run = suspended_at(stack, store, second, "decision-1")
    form = open_form(page, ui, flow_run)
    reopen = functools.partial(open_form, page, ui, flow_run)
    decide(
        page,
        form,
        "request_changes",
        "rita@reviewers.example",
        reopen=reopen,
        comment="Please serve the website over https.",
    )
    finished(stack, flow_run["id"])
    page.close()
    phase("changes requested from the form; the resumed run completed")
    assert store.get_submission(second).state == "changes_requested"
    (note,) = [n for n in store.notifications(second) if n.kind == "request_changes"]
    assert "CAT-005" in note.body and "Please serve the website over https." in note.body
