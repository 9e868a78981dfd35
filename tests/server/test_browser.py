"""The reviewer's view, for real (issue 7, item 6): a Prefect server, `partner-review serve`, a signed
delivery of the bundled example, and headless Chromium on the suspended run's page in both of
Prefect 3.9's UIs (V2, the default at `/`, and V1, where Prefect's own run links lead). Then
`partner-review decide` resumes the run, which the runner runs again to the end: the submission
is in Public Beta with one approval notice.

Chromium is driven by Playwright (the `browser` extra) with the system's /usr/bin/chromium: its
locators wait for the single-page app to render, which raw DevTools calls would have to poll by hand.
"""

from __future__ import annotations

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


def test_reviewer_sees_report_and_resume_form_then_decide_resumes_the_run(stack, browser, tmp_path, sample_partner):
    from playwright.sync_api import expect

    from partner_review.cli.demo import pointed_at

    phase = Phases()
    partner_url, site = sample_partner
    stack.partner(partner_url, site)
    example = pointed_at(json.loads((EXAMPLES / "submission.json").read_text()), partner_url, site)
    slug, name = example["app"]["slug"], example["app"]["name"]
    stack.prefect_server()
    receiver = stack.serve()
    phase("Prefect server and `partner-review serve` ready")

    answer = signed_delivery(receiver, stack.secret, example, f"browser-{uuid.uuid4().hex[:8]}")
    assert answer.status_code == 202, answer.text
    submission_id = answer.json()["submission_id"]
    store = stack.store()

    def suspended() -> dict | None:
        run = store.latest_review(submission_id)
        if not run or not run[0].flow_run_id:
            return None
        flow_run = stack.api.flow_run(run[0].flow_run_id)
        state = flow_run["state"]
        if state["type"] in ("FAILED", "CRASHED", "CANCELLED", "COMPLETED"):
            raise AssertionError(f"the review run ended before waiting for a decision: {state}\n{stack.procs.report()}")
        return flow_run if state["type"] == "PAUSED" and state["state_details"].get("run_input_keyset") else None

    flow_run = wait_until(
        suspended, timeout=300, what="the review run never suspended for a decision", processes=stack.procs, interval=1
    )
    assert flow_run["state"]["name"] == "Suspended" and flow_run["state"]["state_details"]["pause_key"] == "decision-1"
    run, results = store.latest_review(submission_id)
    assert run.status == "completed" and results
    assert store.get_submission(submission_id).state == "in_review"
    phase("review run suspended, waiting for a decision")

    # The reviewer's page: the Suspended run, its report artifact, and the resume form.
    ui = stack.api_url.removesuffix("/api")
    browser.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(ui) else route.abort()
    )  # loopback only: the UI's external fonts and banners are refused
    page = browser.new_page()
    page.set_default_timeout(UI_SECONDS)

    # The V1 UI first: the run links Prefect writes in the logs ("View at .../runs/flow-run/<id>")
    # open it. Its header has Resume; the form lists the Decision fields.
    page.goto(f"{ui}/runs/flow-run/{flow_run['id']}")
    expect(page.get_by_text("Suspended").first).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    v1_form = page.get_by_role("dialog")
    expect(v1_form.get_by_text("Resume Flow Run")).to_be_visible()
    for label in ("Decision", "Reviewer", "Comment", "Waivers"):
        expect(v1_form.get_by_text(label, exact=False).first).to_be_visible()
    v1_form.get_by_role("button", name="Close").click()
    page.get_by_text("Artifacts", exact=True).first.click()
    page.get_by_text(f"review-{slug}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Review of {name} v1")).to_be_visible()
    phase("V1 UI: resume form and report artifact")

    # The V2 UI, Prefect 3.9's default at `/`: the same, and the decision's choices.
    page.goto(f"{ui}/v2/runs/flow-run/{flow_run['id']}")
    expect(page.get_by_text(flow_run["name"]).first).to_be_visible()
    expect(page.get_by_text("Suspended").first).to_be_visible()

    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text(f"review-{slug}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Review of {name} v1")).to_be_visible()
    page.screenshot(path=str(tmp_path / "report-artifact.png"))

    page.goto(f"{ui}/v2/runs/flow-run/{flow_run['id']}?tab=Artifacts")
    expect(page.get_by_text(f"review-{slug}-results", exact=True)).to_be_visible()
    page.get_by_role("button", name="Open menu").first.click()
    page.get_by_role("menuitem", name="Resume").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("Resume Flow Run")).to_be_visible()
    for label in ("Decision", "Reviewer", "Comment", "Waivers"):
        expect(form.get_by_text(label, exact=False).first).to_be_visible()
    form.get_by_role("button", name="Select Decision").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(3)
    assert [o.inner_text().strip() for o in options.all()] == ["approve", "request_changes", "reject"]
    screenshot = tmp_path / "reviewer-ui.png"
    page.screenshot(path=str(screenshot))
    if os.environ.get("PARTNER_REVIEW_UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, ROOT / "docs" / "img" / "reviewer-ui.png")
    page.keyboard.press("Escape")  # close the choices, then leave the form without resuming
    form.get_by_role("button", name="Cancel").click()
    page.close()
    phase("V2 UI: report artifact, resume form and its choices")

    # The reviewer decides from the terminal. Every stage ran against the sample partner and the
    # sample website, so nothing blocks the approval.
    assert not sorted({r.check for r in results if r.blocks}), "the pointed submission should pass every blocker"
    decided = stack.cli(
        "decide",
        "partner-review",
        "decide",
        submission_id,
        "--approve",
        "--comment",
        "Welcome aboard",
        "--reviewer",
        "rita@reviewers.example",
    )
    assert "resumed flow run" in decided.stdout

    def finished() -> dict | None:
        state = stack.api.flow_run(flow_run["id"])["state"]
        if state["type"] in ("FAILED", "CRASHED", "CANCELLED"):
            raise AssertionError(f"the resumed run did not complete: {state}\n{stack.procs.report()}")
        return state if state["type"] == "COMPLETED" else None

    wait_until(finished, timeout=300, what="the resumed review run never completed", processes=stack.procs, interval=1)
    phase("decided; the resumed run completed")
    stored = store.get_submission(submission_id)
    assert stored.state == "public_beta"
    notices = store.notifications(submission_id)
    assert [n.kind for n in notices].count("approve") == 1, [(n.kind, n.subject) for n in notices]
    assert [n.kind for n in notices].count("acknowledgment") == 1
    assert [(t.from_state, t.to_state) for t in store.transitions(submission_id)][-1] == ("in_review", "public_beta")
    deployment = stack.api.deployment(REVIEW_DEPLOYMENT)
    runs = stack.api.flow_runs(deployment["id"])
    assert [r["id"] for r in runs] == [flow_run["id"]], "the resume reran the same flow run, no new one"
    history = [(s["type"], s["name"]) for s in stack.api.get(f"/flow_run_states/?flow_run_id={flow_run['id']}")]
    print("state history:", history)
    suspended_at = history.index(("PAUSED", "Suspended"))
    assert ("RUNNING", "Running") in history[:suspended_at] and ("RUNNING", "Running") in history[suspended_at:], (
        f"the same flow run ran again after the resume: {history}"
    )
    decision = stack.api.artifacts(f"review-{slug}-decision")
    assert decision and f"Decision on {name} v1: approve" in decision[0]["data"]
