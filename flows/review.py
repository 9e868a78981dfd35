"""review_submission: one partner submission, in the one review skeleton (flows/skeleton.py), from
acknowledgment to the reviewer's decision and the signed record."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import acreate_image_artifact, acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from partner_review.flows.checklist import publish_checklist
from partner_review.flows.context import entry_context
from partner_review.flows.keys import review_key
from partner_review.flows.records import publish_record
from partner_review.flows.skeleton import Opened, Review, brief, review
from partner_review.flows.stages import as_task, blocking
from partner_review.models.checks import Result, verdict
from partner_review.models.decision import Decision
from partner_review.models.lifecycle import State
from partner_review.models.store import StoredSubmission, Waiver
from partner_review.models.submission import Submission
from partner_review.tasks import offload
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
    stored = entry_context().store.get_submission(runtime.flow_run.parameters["submission_id"])
    return f"review-{stored.slug}-v{stored.version}"


def _open(ctx: Context, submission_id: str, flow_run_id: str) -> tuple[StoredSubmission, int, bool]:
    """The submission, its review run (one per flow run), and whether its checks already ran."""
    store = ctx.store
    stored = store.get_submission(submission_id)
    run_id = store.start_review_run(submission_id, flow_run_id)
    return stored, run_id, store.review_run(run_id).status == "completed"


def _acknowledge(ctx: Context, submission_id: str) -> list[str]:
    """Acknowledge once; the report's facts about it."""
    store = ctx.store
    stored = store.get_submission(submission_id)
    ack = acknowledge(store, ctx.settings, stored, now=ctx.now())
    return [
        f"Submission `{stored.id}`, version {stored.version}",
        f"Received {stored.received_at:%Y-%m-%d %H:%M} UTC; acknowledgment due {ack.due_at:%Y-%m-%d %H:%M} UTC, "
        f"sent {ack.acknowledged_at:%Y-%m-%d %H:%M} UTC ({'on time' if ack.on_time else 'LATE'}) via {ack.channel}",
    ]


def _released(ctx: Context, submission_id: str) -> Submission | None:
    """The live version an update is compared with (None for an app not live yet)."""
    store = ctx.store
    found = released_version(store, store.get_submission(submission_id))
    return found.submission if found else None


def _diff(ctx: Context, stored: StoredSubmission, results: list[Result]) -> Diff | None:
    """What changed since the previous version's review (None for a first version)."""
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


def _record(
    ctx: Context, run_id: int, stored: StoredSubmission, results: list[Result]
) -> tuple[list[Waiver], Diff | None]:
    """Record the results with their verdict under the waivers in force; what the report shows
    beside them: the waivers, and what changed since the previous version."""
    store = ctx.store
    waivers = store.waivers(stored.slug)
    store.save_results(run_id, results, verdict(apply_waivers(results, waivers, now=ctx.now())[0]))
    return waivers, _diff(ctx, stored, results)


def _apply(ctx: Context, submission_id: str, run_id: int, decision: Decision) -> tuple[str, str]:
    """Apply the decision (safe to repeat), record the verdict with its waivers; (verdict, state)."""
    store = ctx.store
    stored = store.get_submission(submission_id)
    raw = store.results_of(run_id)
    final = decisions.apply(store, ctx.settings, stored, run_id, decision, raw, now=ctx.now())
    outcome = verdict(final)
    store.save_results(run_id, raw, outcome)
    return outcome, str(store.get_submission(submission_id).state)


def _decision_context(ctx: Context, submission_id: str, run_id: int) -> tuple[StoredSubmission, list[Waiver], bool]:
    store = ctx.store
    stored = store.get_submission(submission_id)
    return stored, store.waivers(stored.slug), store.decision_of(run_id) is not None


open_review = blocking(_open, name="open-review")
acknowledge_submission = blocking(_acknowledge, name="acknowledge-submission", retries=3)
find_released = blocking(_released, name="find-released-version", retries=3)
record_results = blocking(_record, name="record-results")
start_review = blocking(
    lambda ctx, submission_id: ctx.store.transition(
        submission_id, State.in_review, actor="partner-review", reason="automated checks finished"
    ),
    name="start-review",
)
read_report_context = blocking(
    lambda ctx, stored, results: (ctx.store.waivers(stored.slug), _diff(ctx, stored, results)),
    name="read-report-context",
)
read_results = blocking(lambda ctx, run_id: ctx.store.results_of(run_id), name="read-results")
read_decision_context = blocking(_decision_context, name="read-decision-context")
apply_decision = blocking(_apply, name="apply-decision", retries=3)


@task(name="render-catalog-tile", cache_policy=NO_CACHE)
async def render_tile(submission: Submission, ctx: Context) -> tile.Tile:
    """The catalog tile, drawn in a worker process (tasks/offload.py) while the stages run: it
    needs only the submission, and its CPU never lands on the partner's measured latency."""
    return await offload.run_as(ctx.settings, tile.render_tile, submission.without_sample_events(), ctx.settings)


async def publish_report(
    ctx: Context,
    stored: StoredSubmission,
    results: list[Result],
    facts: list[str],
    waivers: list[Waiver],
    diff: Diff | None,
) -> str:
    """The reviewer's report as per-app artifacts (the UI keeps the app's history under one key);
    the verdict it shows, with the waivers in force."""
    now = ctx.now()
    shown, notes = apply_waivers(results, waivers, now=now)
    facts = (
        facts
        + [report.escape(note, 1000) for note in notes]
        + [
            f"Waiver in force: {w.check_id} by {report.escape(w.owner, 100)} until "
            f"{w.expires_at:%Y-%m-%d} ({report.escape(w.reason, 200)})"
            for w in in_force(waivers, now=now)
        ]
    )
    if diff:
        facts += [f"Resubmission of submission `{diff.previous_id}`."] + [
            report.escape(line, 1000) for line in diff.lines()
        ]
    title = f"Review of {report.escape(stored.submission.app.name, 100)} v{stored.version}"
    outcome = verdict(shown)
    await acreate_markdown_artifact(
        markdown=report.markdown(title, shown, facts=facts),
        key=review_key(stored.slug),
        description=f"Review report, verdict {outcome}",
    )
    await acreate_table_artifact(
        table=report.table(shown), key=review_key(stored.slug, "results"), description="Every check result"
    )
    return outcome


class SubmissionReview(Review[Decision]):
    """A submission version: acknowledged within two business days, every declared stage, the
    report and the tile, `in_review`, the reviewer's decision with its waivers, the signed record."""

    kind = "submission"
    form = Decision

    def __init__(self, ctx: Context, subject_id: str):
        super().__init__(ctx, subject_id)
        self.stored: StoredSubmission | None = None
        self.waivers: list[Waiver] = []
        self.diff: Diff | None = None
        self.published = False  # this run has just checked and published (nothing to read again)
        self.drawing: asyncio.Future[tile.Tile] | None = None

    @property
    def name(self) -> str:
        return self.submission.slug

    @property
    def submission(self) -> StoredSubmission:
        assert self.stored is not None, "the review is not open"
        return self.stored

    async def open(self, flow_run_id: str) -> Opened:
        self.stored, run_id, checked = await open_review(self.ctx, self.subject_id, flow_run_id)
        return Opened(run_id, checked)

    async def acknowledge(self) -> list[str]:
        return await acknowledge_submission(self.ctx, self.subject_id)

    async def check(self) -> list[Result]:
        stored = self.submission
        released = await find_released(self.ctx, self.subject_id)
        self.drawing = asyncio.ensure_future(render_tile(stored.submission, self.ctx))
        try:
            results = await run_checks(
                stored.submission,
                call=as_task,
                settings=self.ctx.settings,
                released=released,
                released_reason=f"no live version of '{stored.slug}' in the store: not an update of a live app",
            )
        except BaseException:
            self.drawing.cancel()
            raise
        self.waivers, self.diff = await record_results(self.ctx, self.run_id, stored, results)
        return results

    async def publish(self, results: list[Result], facts: list[str]) -> None:
        """The report and the tile at once (API round trips, not work), then in_review: a submission
        in review always has its report (a reader who sees the state finds this run's report)."""
        replay = replay_sentence(results)
        facts = facts + ([report.escape(replay, 1000)] if replay else []) + slots_fact(results)
        await asyncio.gather(self._report(results, facts), self._tile())
        await start_review(self.ctx, self.subject_id)
        await publish_checklist(self.ctx.store, self.submission.slug)
        self.published = True

    async def _report(self, results: list[Result], facts: list[str]) -> None:
        await publish_report(self.ctx, self.submission, results, facts, self.waivers, self.diff)

    async def _tile(self) -> None:
        """The catalog tile as an image artifact. The PNG travels inside the artifact as a data: URL,
        so the UI shows it with no server of ours to reach and nothing to authorise."""
        stored = self.submission
        assert self.drawing is not None, "the tile is drawn while the checks run"
        try:
            rendered = await self.drawing
        except Exception as error:  # the tile is the reviewer's preview, never a reason to fail the review
            get_run_logger().warning("catalog tile not drawn: %s: %s", type(error).__name__, str(error)[:300])
            return
        for note in rendered.notes:
            get_run_logger().warning("catalog tile: %s", note)
        if rendered.png is None:
            return
        await acreate_image_artifact(
            image_url="data:image/png;base64," + base64.b64encode(rendered.png).decode("ascii"),
            key=self.key("tile"),
            description=f"Catalog tile of {stored.submission.app.name} v{stored.version}, as customers will see it",
        )

    async def results(self) -> list[Result]:
        return await read_results(self.ctx, self.run_id)

    async def awaiting(self) -> bool:
        """Until a decision is accepted: a decision recorded before a crash is asked for again, and
        its form's replayed answer is applied again (safe to repeat)."""
        return True

    async def briefing(self, results: list[Result], refused: list[str], link: str | None) -> str:
        """The verdict, the first blockers with their remedies, the waivers in force, where the
        report is, and why an earlier decision was refused."""
        if self.published:  # first ask after this run's checks: what it has just read and recorded
            self.published = False
        else:
            self.stored, self.waivers, _ = await read_decision_context(self.ctx, self.subject_id, self.run_id)
        stored, now = self.submission, self.ctx.now()
        shown, _ = apply_waivers(results, self.waivers, now=now)
        active = in_force(self.waivers, now=now)
        return brief(
            f"**{report.escape(stored.submission.app.name, 100)} v{stored.version}**",
            shown,
            refused,
            notes=[
                "Waivers in force: "
                + (", ".join(f"{w.check_id} until {w.expires_at:%Y-%m-%d}" for w in active) or "none")
            ],
            key=self.key(),
            link=link,
            advice="Approve only when no blocker fails, or waive each failing one (check id, reason, expiry); "
            "request changes sends every blocker and its remedy to the partner.",
        )

    async def problems(self, decision: Decision, results: list[Result]) -> list[str]:
        self.stored, self.waivers, decided = await read_decision_context(self.ctx, self.subject_id, self.run_id)
        if decided:  # this run's decision was applied before (a resumed run replays its answer)
            return []
        return decisions.problems(decision, self.submission, results, self.waivers, now=self.ctx.now())

    async def conclude(self, decision: Decision | None, results: list[Result]) -> dict[str, Any]:
        assert decision is not None, "a submission's review always asks for its decision"
        stored = self.submission
        outcome, state = await apply_decision(self.ctx, self.subject_id, self.run_id, decision)
        await acreate_markdown_artifact(
            key=self.key("decision"),
            markdown=f"# Decision on {report.escape(stored.submission.app.name, 100)} v{stored.version}: "
            f"{decision.decision}\n\n- Reviewer: {report.escape(decision.reviewer, 200)}\n"
            f"- Comment: {report.escape(decision.comment, 2000)}\n- Verdict with waivers: {outcome}\n",
        )
        await publish_checklist(self.ctx.store, stored.slug)
        await publish_record(self.ctx, stored.slug, stored.version, self.key("record"))
        return {"submission_id": self.subject_id, "verdict": outcome, "decision": decision.decision, "state": state}


@flow(name="review-submission", flow_run_name=run_name, retries=1, retry_delay_seconds=5)
async def review_submission(submission_id: str) -> dict:
    """Acknowledge, run every automated stage, publish the report, wait for the reviewer, apply."""
    return await review(SubmissionReview(entry_context(), submission_id))
