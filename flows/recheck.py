"""recheck_live: every Public Beta and Public app's re-checked stages (`recheck=True` in
models/stages.py: its partner page, launch post, links, docs and security) run again; regressions
are recorded on the app and sent to the reviewers; a new security finding goes to the partner and
the reviewers once, and its fix once (`notify_changes=True`)."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from partner_review.flows.context import entry_context
from partner_review.models.lifecycle import State
from partner_review.tasks.context import Context
from partner_review.tasks.lifecycle import report
from partner_review.tasks.lifecycle.recheck import recheck


@task(name="recheck-app", cache_policy=NO_CACHE, retries=1)
async def recheck_app(ctx: Context, submission_id: str) -> tuple[str, list[str]]:
    return await recheck(ctx, submission_id)


@flow(name="recheck-live")
async def recheck_live() -> dict[str, list[str]]:
    """Weekly: per live app, the checks that passed at approval and fail now (a regression stays
    listed every week until fixed; the reviewers are mailed once per set)."""
    ctx = entry_context()
    found = {}
    for sid in ctx.store.submissions_in(State.public_beta, State.public):
        slug, regressed = await recheck_app(ctx, sid)
        found[slug] = regressed
    lines = ["# Weekly re-check of live apps", "", "| app | regressions |", "|---|---|"]
    lines += [f"| {report.escape(slug, 100)} | {', '.join(ids) or 'none'} |" for slug, ids in found.items()]
    await acreate_markdown_artifact(key="recheck-live", markdown="\n".join(lines) + "\n")
    return found
