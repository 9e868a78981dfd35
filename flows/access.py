"""review_access_request: one partner's request for access, in the one review skeleton
(flows/skeleton.py): the ACC checks, the report, the reviewer's decision; on approval the partner
is welcomed, once."""

from __future__ import annotations

from typing import Any

from prefect import flow, runtime, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from partner_review.flows.context import entry_context
from partner_review.flows.keys import subject_key
from partner_review.flows.skeleton import Opened, Review, brief, review
from partner_review.flows.stages import blocking
from partner_review.models.access import AccessDecision, AccessState
from partner_review.models.checks import Result, verdict
from partner_review.models.store.access import StoredAccessRequest
from partner_review.tasks.access import review as access
from partner_review.tasks.access.checks import check_access
from partner_review.tasks.context import Context
from partner_review.tasks.lifecycle import report


def run_name() -> str:
    stored = entry_context().store.access.get(runtime.flow_run.parameters["access_request_id"])
    return subject_key("access", stored.request.company.name)


@task(name="check-access-request", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
async def run_access_checks(ctx: Context, access_request_id: str) -> list[Result]:
    repo = ctx.store.access
    stored = await ctx.store.call(repo.get, access_request_id)
    approved = await ctx.store.call(access.approved_partners, repo, stored)
    return await check_access(stored.request, approved=approved, settings=ctx.settings)


record_checks = blocking(
    lambda ctx, run_id, results: ctx.store.access.save_review(run_id, results, verdict(results)),
    name="record-access-checks",
)
apply_decision = blocking(
    lambda ctx, request_id, decision: access.apply_decision(ctx.store, ctx.settings, request_id, decision),
    name="apply-access-decision",
    retries=3,
)


class AccessReview(Review[AccessDecision]):
    """An access request: no acknowledgment of its own (the receiver's 202 is it), the ACC checks,
    one report, and a decision that moves the request out of `requested`."""

    kind = "access"
    form = AccessDecision

    def __init__(self, ctx: Context, subject_id: str):
        super().__init__(ctx, subject_id)
        self.stored: StoredAccessRequest | None = None

    @property
    def name(self) -> str:
        assert self.stored is not None
        return self.stored.request.company.name

    async def _read(self) -> StoredAccessRequest:
        self.stored = await self.ctx.store.call(self.ctx.store.access.get, self.subject_id)
        return self.stored

    async def open(self, flow_run_id: str) -> Opened:
        repo = self.ctx.store.access
        await self._read()
        run_id = await self.ctx.store.call(repo.start_review, self.subject_id, flow_run_id)
        review = await self.ctx.store.call(repo.review, run_id)
        return Opened(run_id, review.status == "completed")

    async def check(self) -> list[Result]:
        results = await run_access_checks(self.ctx, self.subject_id)
        await record_checks(self.ctx, self.run_id, results)
        return results

    async def publish(self, results: list[Result], facts: list[str]) -> None:
        stored = self.stored
        assert stored is not None
        request = stored.request
        facts = facts + [
            f"Access request `{stored.id}`",
            f"Company {report.escape(request.company.name, 200)}, website {report.escape(request.company.website, 300)}",
            f"Contact {report.escape(request.contact.name, 200)} ({report.escape(request.contact.email, 320)}), "
            f"{report.escape(request.contact.role or 'no role given', 200)}",
            f"Received {stored.received_at:%Y-%m-%d %H:%M} UTC; decision due {stored.decision_due_at:%Y-%m-%d %H:%M} UTC",
        ]
        facts += [
            f"Survey, {key}: {report.escape(value or '(no answer)', 1000)}" for key, value in request.answers().items()
        ]
        await acreate_markdown_artifact(
            markdown=report.markdown(
                f"Access request of {report.escape(request.company.name, 100)}", results, facts=facts
            ),
            key=self.key(),
            description=f"Access checks, verdict {verdict(results)}",
        )

    async def results(self) -> list[Result]:
        return (await self.ctx.store.call(self.ctx.store.access.review, self.run_id)).results

    async def awaiting(self) -> bool:
        return (await self._read()).state is AccessState.requested

    async def briefing(self, results: list[Result], refused: list[str], link: str | None) -> str:
        request = (self.stored or await self._read()).request
        return brief(
            f"**Access request of {report.escape(request.company.name, 100)}** "
            f"({report.escape(request.contact.email, 320)})",
            results,
            refused,
            notes=[],
            key=self.key(),
            link=link,
            advice="Approve to let the partner build (a comment is required while an ACC blocker fails); "
            "reject with a comment saying why: the partner receives it.",
        )

    async def problems(self, decision: AccessDecision, results: list[Result]) -> list[str]:
        return access.decision_problems(decision, await self._read(), results)

    async def conclude(self, decision: AccessDecision | None, results: list[Result]) -> dict[str, Any]:
        stored = self.stored or await self._read()
        if decision is not None:
            stored = await apply_decision(self.ctx, self.subject_id, decision)
            await acreate_markdown_artifact(
                key=self.key("decision"),
                markdown=f"# Access {stored.state} for {report.escape(stored.request.company.name, 100)}\n\n"
                f"- Reviewer: {report.escape(decision.reviewer, 200)}\n"
                f"- Comment: {report.escape(decision.comment, 2000)}\n- Checks: {verdict(results)}\n",
            )
        return {"access_request_id": self.subject_id, "verdict": verdict(results), "state": str(stored.state)}


@flow(name="review-access-request", flow_run_name=run_name, retries=1, retry_delay_seconds=5)
async def review_access_request(access_request_id: str) -> dict:
    """Run the ACC checks, publish the report, wait for the reviewer, apply the decision."""
    return await review(AccessReview(entry_context(), access_request_id))
