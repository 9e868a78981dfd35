"""graduation_check: every Public Beta app, checked for OAuth, adoption and delivery health; graduates or reports the gap."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from partner_review.flows.checklist import publish_checklist
from partner_review.flows.context import entry_context
from partner_review.flows.stages import blocking
from partner_review.models.checks import Result, verdict
from partner_review.models.lifecycle import State
from partner_review.tasks.context import Context
from partner_review.tasks.graduation import checks as graduation
from partner_review.tasks.lifecycle import report


def _record(ctx: Context, submission_id: str, results: list[Result]) -> None:
    store = ctx.store
    run_id = store.start_review_run(submission_id, None, kind="graduation")
    store.save_results(run_id, results, verdict(results))


public_beta_apps = blocking(lambda ctx: ctx.store.submissions_in(State.public_beta), name="list-public-beta-apps")
record_graduation = blocking(_record, name="record-graduation-results")


@task(name="check-graduation", cache_policy=NO_CACHE, retries=1)
async def check_app(ctx: Context, submission_id: str, today: date) -> tuple[str, list[Result]]:
    store, settings = ctx.store, ctx.settings
    stored = await store.call(store.get_submission, submission_id)
    results = await graduation.graduation_results(store, settings, stored, today=today)
    return stored.slug, results


settle = blocking(
    lambda ctx, submission_id, results: graduation.settle(
        ctx.store, ctx.settings, ctx.store.get_submission(submission_id), results
    ),
    name="graduate-or-ask",
    retries=2,
)


@flow(name="graduation-check")
async def graduation_check(at: datetime | None = None) -> dict:
    """`at` replaces the current time (tests, backfills); scheduled runs leave it empty."""
    ctx = entry_context()
    today = (at or datetime.now(UTC)).date()
    lines = [
        "# Public Beta apps and their distance to Public",
        "",
        "| app | OAuth | button page | active customers | delivery health | outcome |",
        "|---|---|---|---|---|---|",
    ]
    outcomes, why = {}, []
    for sid in await public_beta_apps(ctx):
        slug, results = await check_app(ctx, sid, today)
        await record_graduation(ctx, sid, results)
        outcome = await settle(ctx, sid, results)
        outcomes[slug] = outcome
        await publish_checklist(ctx.store, slug)
        cells = [report.escape(r.message, 200) if r.outcome != "pass" else "ok" for r in results]
        cells[-1] = report.escape(next(r for r in results if r.check == graduation.HEALTHY_DELIVERIES.id).message, 300)
        lines.append(f"| {report.escape(slug, 100)} | " + " | ".join(cells) + f" | {outcome} |")
        if outcome != "graduated":
            why += [
                f"- {report.escape(slug, 100)}: {r.check} {report.escape(r.message, 500)}" for r in results if r.blocks
            ]
    if not outcomes:
        lines.append("| (no Public Beta apps) | | | | | |")
    if why:
        lines += ["", "## Why they did not graduate", "", *why]
    await acreate_markdown_artifact(
        key="graduation", markdown="\n".join(lines) + "\n", description=f"Graduation check of {today}"
    )
    return outcomes
