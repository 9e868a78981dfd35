"""rerun_stage: one stage of a submission's review run again, from the Prefect UI; its results replace
that stage's in the review (store and report), and the re-run is recorded as a review run of kind `rerun`.

The review must have finished its automated checks and not be decided yet: the reviewer re-runs, say,
e2e after the partner's endpoint was down, then decides on the new results. docs and replay re-run
without e2e (docs then says it did not compare with what the endpoint accepted), as in `check --stage`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, runtime

from partner_review.flows.context import entry_context
from partner_review.flows.review import find_released, publish_report, read_report_context
from partner_review.flows.stages import as_task, blocking
from partner_review.models.checks import Result, verdict
from partner_review.models.store import AlreadyDecided, NotFound
from partner_review.tasks.context import Context
from partner_review.tasks.e2e.replay import replay_sentence
from partner_review.tasks.lifecycle import report
from partner_review.tasks.lifecycle.waivers import apply_waivers
from partner_review.tasks.pipeline import run_checks
from partner_review.tasks.selection import PipelineStage, Selection


class NothingToRerun(LookupError):
    """The submission has no review whose stage could be re-run (none yet, or decided)."""


def run_name() -> str:
    parameters = runtime.flow_run.parameters
    try:
        stored = entry_context().store.get_submission(parameters["submission_id"])
    except NotFound:
        return f"rerun-{parameters['stage']}-unknown-submission"
    return f"rerun-{parameters['stage']}-{stored.slug}-v{stored.version}"


def _review_to_rerun(ctx: Context, submission_id: str) -> int:
    """The id of the submission's latest review run, if a stage of it may be re-run now."""
    store = ctx.store
    latest = store.latest_review(submission_id)
    if latest is None:
        raise NothingToRerun(f"submission {submission_id} has no review yet: nothing to re-run")
    run, _ = latest
    if run.status != "completed":
        raise NothingToRerun(f"the review of submission {submission_id} is still running its checks")
    if store.decision_of(run.id) is not None:
        raise NothingToRerun(f"the review of submission {submission_id} is already decided; its results stay")
    return run.id


def _replace(ctx: Context, review_run_id: int, slug: str, stage: str, results: list[Result]) -> list[Result]:
    store = ctx.store
    waivers = store.waivers(slug)
    try:
        return store.replace_stage_results(
            review_run_id,
            [stage],
            results,
            lambda merged: verdict(apply_waivers(merged, waivers, now=datetime.now(UTC))[0]),
        )
    except AlreadyDecided as error:  # decided while the stage ran
        raise NothingToRerun(str(error)) from None


def _record(ctx: Context, submission_id: str, flow_run_id: str, results: list[Result]) -> int:
    store = ctx.store
    run_id = store.start_review_run(submission_id, flow_run_id, kind="rerun")
    store.save_results(run_id, results, verdict(results))
    return run_id


review_to_rerun = blocking(_review_to_rerun, name="find-review-to-rerun")
replace_stage = blocking(_replace, name="replace-stage-results", retries=2)
record_rerun = blocking(_record, name="record-rerun", retries=2)


@flow(name="rerun-stage", flow_run_name=run_name)
async def rerun_stage(submission_id: str, stage: PipelineStage) -> dict:
    """Run one stage of the submission's review again; its results replace the stage's in the review."""
    only = Selection.of(stages=[stage])
    ctx = entry_context()
    stored = await ctx.store.call(ctx.store.get_submission, submission_id)
    review_run_id = await review_to_rerun(ctx, submission_id)
    released = await find_released(ctx, submission_id) if only.takes("released") else None
    results = await run_checks(
        stored.submission,
        call=as_task,
        settings=ctx.settings,
        only=only,
        released=released,
        released_reason=f"no live version of '{stored.slug}' in the store: not an update of a live app",
    )
    merged = await replace_stage(ctx, review_run_id, stored.slug, stage, results)
    rerun_id = await record_rerun(ctx, submission_id, str(runtime.flow_run.id), results)
    at = datetime.now(UTC)
    facts = [
        f"Submission `{stored.id}`, version {stored.version}",
        f"Stage {stage} re-run {at:%Y-%m-%d %H:%M} UTC (review run {rerun_id}); its results replace the review's",
    ]
    if stored.acknowledged_at is not None:
        facts.append(
            f"Received {stored.received_at:%Y-%m-%d %H:%M} UTC; acknowledged {stored.acknowledged_at:%Y-%m-%d %H:%M} "
            f"UTC ({'on time' if stored.ack_on_time else 'LATE'})"
        )
    if replay := replay_sentence(merged):
        facts.append(report.escape(replay, 1000))
    waivers, diff = await read_report_context(ctx, stored, merged)
    outcome = await publish_report(ctx, stored, merged, facts, waivers, diff)
    get_run_logger().info("stage %s re-run for %s v%s: verdict %s", stage, stored.slug, stored.version, outcome)
    return {
        "submission_id": submission_id,
        "stage": stage,
        "review_run_id": review_run_id,
        "rerun_run_id": rerun_id,
        "verdict": outcome,
        "results": {r.check: r.outcome for r in results},
    }
