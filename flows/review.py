"""review_submission: one partner submission, from acknowledgment to the reviewer's decision."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.context import FlowRunContext
from prefect.flow_runs import apause_flow_run, asuspend_flow_run

from partner_review.flows.stages import as_task, blocking
from partner_review.models.checks import Result, verdict
from partner_review.models.decision import Decision
from partner_review.models.lifecycle import State
from partner_review.models.settings import get_settings
from partner_review.models.store import StoredSubmission, get_store
from partner_review.models.submission import Submission
from partner_review.tasks.compat.released import released_version
from partner_review.tasks.e2e.replay import replay_sentence
from partner_review.tasks.lifecycle import decisions, report
from partner_review.tasks.lifecycle.acknowledge import acknowledge
from partner_review.tasks.lifecycle.diff import Diff, compare
from partner_review.tasks.lifecycle.waivers import apply_waivers, in_force
from partner_review.tasks.pipeline import run_checks


def run_name() -> str:
    stored = get_store().get_submission(runtime.flow_run.parameters["submission_id"])
    return f"review-{stored.slug}-v{stored.version}"


def artifact_key(slug: str, suffix: str = "") -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"review-{slug}{suffix}".lower()).strip("-")[:100]


def now() -> datetime:
    return datetime.now(UTC)


def _acknowledge(submission_id: str):
    store = get_store()
    return acknowledge(store, get_settings(), store.get_submission(submission_id), now=now())


def _diff(stored: StoredSubmission, results: list[Result]) -> Diff | None:
    store = get_store()
    if not stored.previous_id or not (previous := store.latest_review(stored.previous_id)):
        return None
    before = store.get_submission(stored.previous_id)
    return compare(
        before.submission.public_dict(),
        previous[1],
        stored.submission.public_dict(),
        results,
        previous_id=before.id,
        previous_version=before.version,
    )


def _released(submission_id: str) -> Submission | None:
    store = get_store()
    found = released_version(store, store.get_submission(submission_id))
    return found.submission if found else None


def _apply(submission_id: str, review_run_id: int, decision: Decision) -> list[Result]:
    store = get_store()
    stored = store.get_submission(submission_id)
    return decisions.apply(
        store, get_settings(), stored, review_run_id, decision, store.results_of(review_run_id), now=now()
    )


acknowledge_submission = blocking(_acknowledge, name="acknowledge-submission", retries=3)
record_results = blocking(
    lambda run_id, results, v: get_store().save_results(run_id, results, v), name="record-results"
)
start_review = blocking(
    lambda submission_id: get_store().transition(
        submission_id, State.in_review, actor="partner-review", reason="automated checks finished"
    ),
    name="start-review",
)
apply_decision = blocking(_apply, name="apply-decision", retries=3)
find_released = blocking(_released, name="find-released-version", retries=3)


async def publish_report(stored: StoredSubmission, results: list[Result], facts: list[str]) -> str:
    """The reviewer's report as per-app artifacts (the UI keeps the app's history under one key)."""
    waivers = get_store().waivers(stored.slug)
    shown, notes = apply_waivers(results, waivers, now=now())
    facts = (
        facts
        + notes
        + [
            f"Waiver in force: {w.check_id} by {report.escape(w.owner, 100)} until "
            f"{w.expires_at:%Y-%m-%d} ({report.escape(w.reason, 200)})"
            for w in in_force(waivers, now=now())
        ]
    )
    if diff := _diff(stored, results):
        facts += [f"Resubmission of submission `{diff.previous_id}`."] + [
            report.escape(line, 1000) for line in diff.lines()
        ]
    title = f"Review of {report.escape(stored.submission.app.name, 100)} v{stored.version}"
    outcome = verdict(shown)
    await acreate_markdown_artifact(
        markdown=report.markdown(title, shown, facts=facts),
        key=artifact_key(stored.slug),
        description=f"Review report, verdict {outcome}",
    )
    await acreate_table_artifact(
        table=report.table(shown), key=artifact_key(stored.slug, "-results"), description="Every check result"
    )
    return outcome


async def wait_for_decision(attempt: int) -> Decision:
    """Ask the reviewer. A deployment run is suspended (its worker is freed) and rerun on resume;
    a run without a deployment (the demo, `PARTNER_REVIEW_DISPATCH=local`) pauses in process."""
    settings = get_settings()
    timeout = settings.decision_timeout_days * 86400
    key = f"decision-{attempt}"
    context = FlowRunContext.get()
    if context and context.flow_run and context.flow_run.deployment_id:
        return await asuspend_flow_run(wait_for_input=Decision, timeout=timeout, key=key)
    return await apause_flow_run(wait_for_input=Decision, timeout=timeout, poll_interval=2, key=key)


@flow(name="review-submission", flow_run_name=run_name, retries=1, retry_delay_seconds=5)
async def review_submission(submission_id: str) -> dict:
    """Acknowledge, run every automated stage, publish the report, wait for the reviewer, apply."""
    logger = get_run_logger()
    store = get_store()
    stored = store.get_submission(submission_id)
    run_id = store.start_review_run(submission_id, runtime.flow_run.id)

    if store.review_run(run_id).status != "completed":  # a run resumed after suspension skips ahead
        ack = await acknowledge_submission(submission_id)
        released = await find_released(submission_id)
        results = await run_checks(
            stored.submission,
            call=as_task,
            released=released,
            released_reason=f"no live version of '{stored.slug}' in the store: not an update of a live app",
        )
        replay = replay_sentence(results)
        await record_results(run_id, results, verdict(apply_waivers(results, store.waivers(stored.slug), now=now())[0]))
        await publish_report(
            stored,
            results,
            facts=[
                f"Submission `{stored.id}`, version {stored.version}",
                f"Received {stored.received_at:%Y-%m-%d %H:%M} UTC; acknowledgment due {ack.due_at:%Y-%m-%d %H:%M} UTC, "
                f"sent {ack.acknowledged_at:%Y-%m-%d %H:%M} UTC ({'on time' if ack.on_time else 'LATE'}) via {ack.channel}",
            ]
            + ([report.escape(replay, 1000)] if replay else []),
        )
        await start_review(submission_id)

    attempt = 1
    while True:
        decision = await wait_for_decision(attempt)
        results = store.results_of(run_id)  # read after the wait: a rerun-stage may have replaced some
        refused = decisions.problems(
            decision, store.get_submission(submission_id), results, store.waivers(stored.slug), now=now()
        )
        if store.decision_of(run_id) is not None or not refused:
            break
        logger.warning("decision refused, asking again: %s", "; ".join(refused))
        await acreate_markdown_artifact(
            key=artifact_key(stored.slug, "-decision"),
            markdown="# Decision refused, please decide again\n\n"
            + "\n".join(f"- {report.escape(p, 1000)}" for p in refused),
        )
        attempt += 1

    final = await apply_decision(submission_id, run_id, decision)
    outcome = verdict(final)
    await record_results(run_id, results, outcome)
    await acreate_markdown_artifact(
        key=artifact_key(stored.slug, "-decision"),
        markdown=f"# Decision on {report.escape(stored.submission.app.name, 100)} v{stored.version}: "
        f"{decision.decision}\n\n- Reviewer: {report.escape(decision.reviewer, 200)}\n"
        f"- Comment: {report.escape(decision.comment, 2000)}\n- Verdict with waivers: {outcome}\n",
    )
    return {
        "submission_id": submission_id,
        "verdict": outcome,
        "decision": decision.decision,
        "state": str(store.get_submission(submission_id).state),
    }
