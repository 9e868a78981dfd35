"""review_submission: one partner submission, from acknowledgment to the reviewer's decision."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_client, get_run_logger, runtime
from prefect.artifacts import acreate_image_artifact, acreate_markdown_artifact, acreate_table_artifact
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from prefect.context import FlowRunContext
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input import RunInput
from prefect.input.actions import acreate_flow_run_input, aread_flow_run_input
from prefect.settings import get_current_settings

from partner_review.flows.checklist import publish_checklist
from partner_review.flows.keys import review_key
from partner_review.flows.records import publish_record
from partner_review.flows.stages import as_task, blocking
from partner_review.models.checks import Result, verdict
from partner_review.models.decision import Decision
from partner_review.models.lifecycle import State
from partner_review.models.settings import Settings, get_settings
from partner_review.models.store import StoredSubmission, Waiver, get_store
from partner_review.models.submission import Submission
from partner_review.tasks.catalog import render as tile
from partner_review.tasks.compat.released import released_version
from partner_review.tasks.context import Context
from partner_review.tasks.e2e.replay import replay_sentence
from partner_review.tasks.lifecycle import decisions, report
from partner_review.tasks.lifecycle.acknowledge import acknowledge
from partner_review.tasks.lifecycle.diff import Diff, compare
from partner_review.tasks.lifecycle.waivers import apply_waivers, in_force
from partner_review.tasks.pipeline import run_checks


def slots_fact(results: list[Result]) -> list[str]:
    """The concurrency slots the load test held, for the report (one line, or none)."""
    held = next((r.evidence["concurrency"] for r in results if "concurrency" in r.evidence), None)
    if not held:
        return []
    names = report.escape(", ".join(held["slots"]), 300)
    if "held_from" not in held:  # never acquired: the VOL checks say why
        return [f"Load test did not run: the concurrency slots {names} stayed taken"]
    waited = f" (waited {held['waited_seconds']:.0f} s for them)" if held.get("waited_seconds", 0) >= 1 else ""
    return [f"Load test held the concurrency slots {names}{waited}"]


def run_name() -> str:
    stored = get_store().get_submission(runtime.flow_run.parameters["submission_id"])
    return f"review-{stored.slug}-v{stored.version}"


BRIEFED_BLOCKERS = 5


def artifact_key(slug: str, suffix: str = "") -> str:
    """The review's artifact key (flows/keys.py: two subjects never share one); `suffix` e.g. "-tile"."""
    return review_key(slug, suffix.lstrip("-"))


def now() -> datetime:
    return datetime.now(UTC)


def _acknowledge(ctx: Context, submission_id: str):
    store = ctx.store
    return acknowledge(store, ctx.settings, store.get_submission(submission_id), now=now())


def _diff(ctx: Context, stored: StoredSubmission, results: list[Result]) -> Diff | None:
    store = ctx.store
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
        settings=ctx.settings,
    )


def _released(ctx: Context, submission_id: str) -> Submission | None:
    store = ctx.store
    found = released_version(store, store.get_submission(submission_id))
    return found.submission if found else None


def _apply(ctx: Context, submission_id: str, review_run_id: int, decision: Decision) -> list[Result]:
    store = ctx.store
    stored = store.get_submission(submission_id)
    return decisions.apply(
        store, ctx.settings, stored, review_run_id, decision, store.results_of(review_run_id), now=now()
    )


acknowledge_submission = blocking(_acknowledge, name="acknowledge-submission", retries=3)
record_results = blocking(
    lambda ctx, run_id, results, v: ctx.store.save_results(run_id, results, v), name="record-results"
)
start_review = blocking(
    lambda ctx, submission_id: ctx.store.transition(
        submission_id, State.in_review, actor="partner-review", reason="automated checks finished"
    ),
    name="start-review",
)
apply_decision = blocking(_apply, name="apply-decision", retries=3)
find_released = blocking(_released, name="find-released-version", retries=3)


def _open_review(ctx: Context, submission_id: str, flow_run_id: str) -> tuple[StoredSubmission, int, bool]:
    """The submission, its review run (one per flow run), and whether its checks already ran."""
    store = ctx.store
    stored = store.get_submission(submission_id)
    run_id = store.start_review_run(submission_id, flow_run_id)
    return stored, run_id, store.review_run(run_id).status == "completed"


def _decision_context(
    ctx: Context, submission_id: str, run_id: int, slug: str
) -> tuple[StoredSubmission, list[Waiver], bool]:
    store = ctx.store
    return store.get_submission(submission_id), store.waivers(slug), store.decision_of(run_id) is not None


open_review = blocking(_open_review, name="open-review")
read_waivers = blocking(lambda ctx, slug: ctx.store.waivers(slug), name="read-waivers")
read_results = blocking(lambda ctx, run_id: ctx.store.results_of(run_id), name="read-results")
read_decision_context = blocking(_decision_context, name="read-decision-context")
read_state = blocking(lambda ctx, submission_id: str(ctx.store.get_submission(submission_id).state), name="read-state")
read_diff = blocking(_diff, name="compare-with-previous-version")
render_tile = blocking(tile.render_tile, name="render-catalog-tile")


async def publish_report(ctx: Context, stored: StoredSubmission, results: list[Result], facts: list[str]) -> str:
    """The reviewer's report as per-app artifacts (the UI keeps the app's history under one key)."""
    waivers = await read_waivers(ctx, stored.slug)
    shown, notes = apply_waivers(results, waivers, now=now())
    facts = (
        facts
        + [report.escape(note, 1000) for note in notes]
        + [
            f"Waiver in force: {w.check_id} by {report.escape(w.owner, 100)} until "
            f"{w.expires_at:%Y-%m-%d} ({report.escape(w.reason, 200)})"
            for w in in_force(waivers, now=now())
        ]
    )
    if diff := await read_diff(ctx, stored, results):
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


async def publish_tile(ctx: Context, stored: StoredSubmission) -> None:
    """The catalog tile as an image artifact. The PNG travels inside the artifact as a data: URL,
    so the UI shows it with no server of ours to reach and nothing to authorise."""
    logger = get_run_logger()
    rendered = await render_tile(stored.submission, ctx.settings)
    for note in rendered.notes:
        logger.warning("catalog tile: %s", note)
    if rendered.png is None:
        return
    await acreate_image_artifact(
        image_url="data:image/png;base64," + base64.b64encode(rendered.png).decode("ascii"),
        key=artifact_key(stored.slug, "-tile"),
        description=f"Catalog tile of {stored.submission.app.name} v{stored.version}, as customers will see it",
    )


async def report_link(slug: str, flow_run_id: Any) -> str | None:
    """The report artifact's page in the UI (None when the API has no UI, e.g. the ephemeral one)."""
    base = get_current_settings().ui_url
    if not base:
        return None
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[artifact_key(slug)]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            ),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return f"{base.rstrip('/')}/artifacts/artifact/{found[0].id}" if found else None


def briefing(
    stored: StoredSubmission, results: list[Result], waivers: list[Waiver], link: str | None, refused: list[str]
) -> str:
    """What the decision form says: the verdict, the first blockers with their remedies, the
    waivers in force, where the report is, and why an earlier decision was refused."""
    shown, _ = apply_waivers(results, waivers, now=now())
    blockers = [r for r in shown if r.blocks]
    lines = [
        f"**{report.escape(stored.submission.app.name, 100)} v{stored.version}**: automated verdict "
        f"**{verdict(shown)}**, {len(blockers)} blocker(s) failing, "
        f"{sum(r.outcome == 'warn' for r in shown)} warning(s).",
        "",
    ]
    if refused:
        lines += ["**Your last decision was refused:** " + "; ".join(report.escape(p, 300) for p in refused), ""]
    for r in blockers[:BRIEFED_BLOCKERS]:
        lines.append(f"- **{r.check}** {report.escape(r.message, 200)} Remedy: {report.remedy(r.check)}")
    if len(blockers) > BRIEFED_BLOCKERS:
        lines.append(f"- and {len(blockers) - BRIEFED_BLOCKERS} more in the report")
    active = in_force(waivers, now=now())
    lines += [
        "",
        "Waivers in force: " + (", ".join(f"{w.check_id} until {w.expires_at:%Y-%m-%d}" for w in active) or "none"),
    ]
    lines += [
        "",
        f"Report: [{artifact_key(stored.slug)}]({link})"
        if link
        else f"Report: artifact `{artifact_key(stored.slug)}` (Artifacts tab)",
    ]
    lines += [
        "",
        "Approve only when no blocker fails, or waive each failing one (check id, reason, expiry); "
        "request changes sends every blocker and its remedy to the partner.",
    ]
    return "\n".join(lines)


async def wait_for_decision(settings: Settings, attempt: int, description: str) -> Decision:
    """Ask the reviewer. A deployment run is suspended (its worker is freed) and rerun on resume;
    a run without a deployment (the demo, `PARTNER_REVIEW_DISPATCH=local`) pauses in process."""
    timeout = settings.decision_timeout_days * 86400
    key = f"decision-{attempt}"
    form = RunInput.subclass_from_base_model_type(Decision).with_initial_data(description=description)
    context = FlowRunContext.get()
    if context and context.flow_run and context.flow_run.deployment_id:
        answer = await asuspend_flow_run(wait_for_input=form, timeout=timeout, key=key)
    else:
        answer = await apause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=2, key=key)
    return Decision.model_validate(answer.model_dump(include=set(Decision.model_fields)))


async def once(marker: str, value: Any) -> bool:
    """True the first time this flow run reaches `marker`: a suspended run runs again from the top on
    resume, replaying its earlier attempts, and a run-input key remembers what was already done."""
    if await aread_flow_run_input(marker) is not None:
        return False
    await acreate_flow_run_input(marker, value=value)
    return True


async def announce_wait(attempt: int, where: str) -> None:
    if await once(f"decision-{attempt}-asked", where):
        get_run_logger().info("waiting for a reviewer's decision: %s", where)


async def report_refusal(stored: StoredSubmission, attempt: int, refused: list[str]) -> None:
    """Log the refusal and publish it, once per attempt (see `once`)."""
    if not await once(f"decision-{attempt}-refused", refused):
        return
    get_run_logger().warning("decision %d refused, asking again: %s", attempt, "; ".join(refused))
    await acreate_markdown_artifact(
        key=artifact_key(stored.slug, "-decision"),
        markdown="# Decision refused, please decide again\n\n"
        + "\n".join(f"- {report.escape(p, 1000)}" for p in refused),
        description=f"Decision {attempt} refused",
    )


@flow(name="review-submission", flow_run_name=run_name, retries=1, retry_delay_seconds=5)
async def review_submission(submission_id: str) -> dict:
    """Acknowledge, run every automated stage, publish the report, wait for the reviewer, apply."""
    flow_run_id = runtime.flow_run.id
    ctx = Context.of(get_settings(), get_store())
    stored, run_id, checked = await open_review(ctx, submission_id, flow_run_id)

    if not checked:  # a run resumed after suspension skips ahead
        ack = await acknowledge_submission(ctx, submission_id)
        released = await find_released(ctx, submission_id)
        results = await run_checks(
            stored.submission,
            call=as_task,
            settings=ctx.settings,
            released=released,
            released_reason=f"no live version of '{stored.slug}' in the store: not an update of a live app",
        )
        replay = replay_sentence(results)
        waivers = await read_waivers(ctx, stored.slug)
        await record_results(ctx, run_id, results, verdict(apply_waivers(results, waivers, now=now())[0]))
        facts = [
            f"Submission `{stored.id}`, version {stored.version}",
            f"Received {stored.received_at:%Y-%m-%d %H:%M} UTC; acknowledgment due {ack.due_at:%Y-%m-%d %H:%M} UTC, "
            f"sent {ack.acknowledged_at:%Y-%m-%d %H:%M} UTC ({'on time' if ack.on_time else 'LATE'}) via {ack.channel}",
        ]
        facts += ([report.escape(replay, 1000)] if replay else []) + slots_fact(results)

        async def in_review_then_checklist() -> None:
            await start_review(ctx, submission_id)
            await publish_checklist(ctx.store, stored.slug)

        # The report and the tile at once (API round trips, not work), then in_review: a submission
        # in review always has its report (a reader who sees the state finds this run's report).
        await asyncio.gather(publish_report(ctx, stored, results, facts=facts), publish_tile(ctx, stored))
        await in_review_then_checklist()

    results = await read_results(ctx, run_id)
    link = await report_link(stored.slug, flow_run_id)
    attempt, refused = 1, list[str]()
    while True:
        current, waivers, decided = await read_decision_context(ctx, submission_id, run_id, stored.slug)
        await announce_wait(attempt, link or f"see the artifact {artifact_key(stored.slug)} (the run's Artifacts tab)")
        decision = await wait_for_decision(ctx.settings, attempt, briefing(current, results, waivers, link, refused))
        results = await read_results(ctx, run_id)  # read after the wait: a rerun-stage may have replaced some
        current, waivers, decided = await read_decision_context(ctx, submission_id, run_id, stored.slug)
        refused = decisions.problems(decision, current, results, waivers, now=now())
        if decided or not refused:
            break
        await report_refusal(stored, attempt, refused)
        attempt += 1

    final = await apply_decision(ctx, submission_id, run_id, decision)
    outcome = verdict(final)
    await record_results(ctx, run_id, results, outcome)
    await acreate_markdown_artifact(
        key=artifact_key(stored.slug, "-decision"),
        markdown=f"# Decision on {report.escape(stored.submission.app.name, 100)} v{stored.version}: "
        f"{decision.decision}\n\n- Reviewer: {report.escape(decision.reviewer, 200)}\n"
        f"- Comment: {report.escape(decision.comment, 2000)}\n- Verdict with waivers: {outcome}\n",
    )
    await publish_checklist(ctx.store, stored.slug)
    await publish_record(stored.slug, stored.version, artifact_key(stored.slug, "-record"))
    return {
        "submission_id": submission_id,
        "verdict": outcome,
        "decision": decision.decision,
        "state": await read_state(ctx, submission_id),
    }
