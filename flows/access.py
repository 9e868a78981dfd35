"""review_access_request: one partner's request for access, from the ACC checks to the reviewer's
decision; on approval the partner is welcomed, once."""

from __future__ import annotations

import re

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.flow_runs import apause_flow_run, asuspend_flow_run

from partner_review.flows.stages import blocking
from partner_review.models.access import AccessDecision, AccessState
from partner_review.models.checks import Result, verdict
from partner_review.models.settings import Settings, get_settings
from partner_review.models.store import get_store
from partner_review.models.store.access import StoredAccessRequest
from partner_review.tasks.access import review
from partner_review.tasks.access.checks import check_access
from partner_review.tasks.context import Context
from partner_review.tasks.lifecycle import report


def run_name() -> str:
    stored = get_store().access.get(runtime.flow_run.parameters["access_request_id"])
    return artifact_key(stored.request.company.name)


def artifact_key(company: str, suffix: str = "") -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"access-{company}{suffix}".lower()).strip("-")[:100]


@task(name="check-access-request", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
async def run_access_checks(ctx: Context, access_request_id: str) -> list[Result]:
    repo = ctx.store.access
    stored = repo.get(access_request_id)
    approved = review.approved_partners(repo, stored)
    return await check_access(stored.request, approved=approved, settings=ctx.settings)


record_checks = blocking(
    lambda ctx, run_id, results: ctx.store.access.save_review(run_id, results, verdict(results)),
    name="record-access-checks",
)
apply_decision = blocking(
    lambda ctx, request_id, decision: review.apply_decision(ctx.store, ctx.settings, request_id, decision),
    name="apply-access-decision",
    retries=3,
)


async def publish_report(stored: StoredAccessRequest, results: list[Result]) -> None:
    request = stored.request
    facts = [
        f"Access request `{stored.id}`",
        f"Company {report.escape(request.company.name, 200)}, website {report.escape(request.company.website, 300)}",
        f"Contact {report.escape(request.contact.name, 200)} ({report.escape(request.contact.email, 320)}), "
        f"{report.escape(request.contact.role or 'no role given', 200)}",
        f"Received {stored.received_at:%Y-%m-%d %H:%M} UTC; decision due {stored.decision_due_at:%Y-%m-%d %H:%M} UTC",
    ] + [f"Survey, {key}: {report.escape(value or '(no answer)', 1000)}" for key, value in request.answers().items()]
    await acreate_markdown_artifact(
        markdown=report.markdown(f"Access request of {report.escape(request.company.name, 100)}", results, facts=facts),
        key=artifact_key(request.company.name),
        description=f"Access checks, verdict {verdict(results)}",
    )


async def wait_for_decision(settings: Settings, attempt: int) -> AccessDecision:
    """Ask the reviewer (the same pattern as the submission review): a deployment run is suspended
    and rerun on resume; a run without a deployment pauses in process."""
    timeout = settings.decision_timeout_days * 86400
    key = f"access-decision-{attempt}"
    context = FlowRunContext.get()
    if context and context.flow_run and context.flow_run.deployment_id:
        return await asuspend_flow_run(wait_for_input=AccessDecision, timeout=timeout, key=key)
    return await apause_flow_run(wait_for_input=AccessDecision, timeout=timeout, poll_interval=2, key=key)


@flow(name="review-access-request", flow_run_name=run_name, retries=1, retry_delay_seconds=5)
async def review_access_request(access_request_id: str) -> dict:
    """Run the ACC checks, publish the report, wait for the reviewer, apply the decision."""
    logger = get_run_logger()
    ctx = Context.of(get_settings(), get_store())
    repo = ctx.store.access
    stored = repo.get(access_request_id)
    run_id = repo.start_review(access_request_id, runtime.flow_run.id)

    if repo.review(run_id).status != "completed":  # a run resumed after suspension skips ahead
        results = await run_access_checks(ctx, access_request_id)
        await record_checks(ctx, run_id, results)
        await publish_report(stored, results)
    results = repo.review(run_id).results

    attempt = 1
    while (stored := repo.get(access_request_id)).state is AccessState.requested:
        decision = await wait_for_decision(ctx.settings, attempt)
        refused = review.decision_problems(decision, repo.get(access_request_id), results)
        if not refused:
            stored = await apply_decision(ctx, access_request_id, decision)
            await acreate_markdown_artifact(
                key=artifact_key(stored.request.company.name, "-decision"),
                markdown=f"# Access {stored.state} for {report.escape(stored.request.company.name, 100)}\n\n"
                f"- Reviewer: {report.escape(decision.reviewer, 200)}\n"
                f"- Comment: {report.escape(decision.comment, 2000)}\n- Checks: {verdict(results)}\n",
            )
            break
        logger.warning("access decision refused, asking again: %s", "; ".join(refused))
        await acreate_markdown_artifact(
            key=artifact_key(stored.request.company.name, "-decision"),
            markdown="# Decision refused, please decide again\n\n"
            + "\n".join(f"- {report.escape(p, 1000)}" for p in refused),
        )
        attempt += 1
    return {"access_request_id": access_request_id, "verdict": verdict(results), "state": str(stored.state)}
