"""The one review flow: receive, acknowledge, run stage by stage, publish, wait for a decision,
notify. A kind of subject (a submission version, an access request) is a configuration of it: a
`Review` subclass that says how each step is done for that subject (flows/review.py,
flows/access.py). The skeleton owns the order, the resume logic and the reviewer's form:

    opened = await subject.open(flow_run_id)        # its run row, and whether its checks ran
    if not opened.checked:                          # a run resumed after suspension skips ahead
        facts, results = await gather(subject.acknowledge(),  # acknowledged while
                                      subject.check())        # the stages run and are recorded
        await subject.publish(results, facts)       # report artifacts, then the state that says so
    while await subject.awaiting():                 # ask until a decision can be taken
        decision = await wait_for_decision(...)     # the form, briefed; refused ones asked again
    return await subject.conclude(decision, results)  # apply it, notify, the record

A suspended run (a deployment's) runs again from the top on resume: each attempt's form has its
own key (`decision-<n>`), so the answers given are replayed, and `once` keeps what an attempt
logged or published from being said twice.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, cast

from prefect import get_client, get_run_logger, runtime
from prefect.artifacts import acreate_markdown_artifact
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from prefect.context import FlowRunContext
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input import RunInput
from prefect.input.actions import acreate_flow_run_input, aread_flow_run_input
from prefect.settings import get_current_settings
from pydantic import BaseModel

from partner_review.flows.keys import subject_key
from partner_review.models.checks import Result, verdict
from partner_review.tasks.context import Context
from partner_review.tasks.lifecycle import report

D = TypeVar("D", bound=BaseModel)  # the reviewer's decision form of a kind of subject
M = TypeVar("M", bound=BaseModel)
BRIEFED_BLOCKERS = 5


@dataclass(frozen=True)
class Opened:
    run_id: int
    checked: bool  # its checks already ran and were recorded (a resumed or retried run)


class Review(ABC, Generic[D]):
    """One kind of subject in the review skeleton. `kind` names its artifact keys
    (flows/keys.py), `form` is the decision the reviewer fills in."""

    kind: ClassVar[str]
    form: ClassVar[type[BaseModel]]

    def __init__(self, ctx: Context, subject_id: str):
        self.ctx = ctx
        self.subject_id = subject_id
        self.run_id = 0

    @property
    @abstractmethod
    def name(self) -> str:
        """The subject as its artifact keys name it (a catalog slug, a company)."""

    def key(self, suffix: str = "") -> str:
        return subject_key(self.kind, self.name, suffix)

    @abstractmethod
    async def open(self, flow_run_id: str) -> Opened: ...

    async def acknowledge(self) -> list[str]:
        """Tell the sender it was received; the facts the report shows about that."""
        return []

    @abstractmethod
    async def check(self) -> list[Result]:
        """Run the stages and record their results on this run."""

    @abstractmethod
    async def publish(self, results: list[Result], facts: list[str]) -> None:
        """The report artifacts, then the subject's move to waiting for a reviewer."""

    @abstractmethod
    async def results(self) -> list[Result]:
        """The run's recorded results (a rerun-stage may have replaced some since the checks ran)."""

    @abstractmethod
    async def awaiting(self) -> bool:
        """Whether the subject still waits for a reviewer's decision."""

    @abstractmethod
    async def briefing(self, results: list[Result], refused: list[str], link: str | None) -> str:
        """What the decision form says to the reviewer."""

    @abstractmethod
    async def problems(self, decision: D, results: list[Result]) -> list[str]:
        """Why this decision cannot be taken (empty when it can)."""

    @abstractmethod
    async def conclude(self, decision: D | None, results: list[Result]) -> dict[str, Any]:
        """Apply the decision (None: it was applied before this run), notify, and the run's outcome."""


async def review(subject: Review[D]) -> dict[str, Any]:
    """Run `subject` through the review (see the module docstring)."""
    flow_run_id = str(runtime.flow_run.id)
    opened = await subject.open(flow_run_id)
    subject.run_id = opened.run_id
    if not opened.checked:
        # The acknowledgment is a store write and a message, sent while the stages run (in a
        # thread, off the loop that times the partner): both are done before anything is published.
        facts, results = await asyncio.gather(subject.acknowledge(), subject.check())
        await subject.publish(results, facts)
    else:
        results = await subject.results()

    link = await report_link(subject.key(), flow_run_id)
    decision: D | None = None
    attempt, refused = 1, list[str]()
    while await subject.awaiting():
        await announce_wait(attempt, link or f"see the artifact {subject.key()} (the run's Artifacts tab)")
        briefing = await subject.briefing(results, refused, link)
        decision = cast(D, await wait_for_decision(subject.form, subject.ctx, attempt, briefing))
        results = await subject.results()  # read after the wait: a rerun-stage may have replaced some
        refused = await subject.problems(decision, results)
        if not refused:
            break
        await report_refusal(subject.key("decision"), attempt, refused)
        attempt += 1
    return await subject.conclude(decision, results)


async def wait_for_decision(form: type[M], ctx: Context, attempt: int, description: str) -> M:
    """Ask the reviewer, with `description` above the form. A deployment run is suspended (its
    worker is freed) and rerun on resume; a run without a deployment (the demo,
    `PARTNER_REVIEW_DISPATCH=local`) pauses in process."""
    timeout = ctx.settings.decision_timeout_days * 86400
    key = f"decision-{attempt}"
    briefed = RunInput.subclass_from_base_model_type(form).with_initial_data(description=description)
    context = FlowRunContext.get()
    if context and context.flow_run and context.flow_run.deployment_id:
        answer = await asuspend_flow_run(wait_for_input=briefed, timeout=timeout, key=key)
    else:
        answer = await apause_flow_run(wait_for_input=briefed, timeout=timeout, poll_interval=2, key=key)
    return form.model_validate(answer.model_dump(include=set(form.model_fields)))


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


async def report_refusal(key: str, attempt: int, refused: list[str]) -> None:
    """Log the refusal and publish it as the artifact `key`, once per attempt (see `once`)."""
    if not await once(f"decision-{attempt}-refused", refused):
        return
    get_run_logger().warning("decision %d refused, asking again: %s", attempt, "; ".join(refused))
    await acreate_markdown_artifact(
        key=key,
        markdown="# Decision refused, please decide again\n\n"
        + "\n".join(f"- {report.escape(p, 1000)}" for p in refused),
        description=f"Decision {attempt} refused",
    )


async def report_link(key: str, flow_run_id: Any) -> str | None:
    """The report artifact's page in the UI (None when the API has no UI, e.g. the ephemeral one)."""
    base = get_current_settings().ui_url
    if not base:
        return None
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            ),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return f"{base.rstrip('/')}/artifacts/artifact/{found[0].id}" if found else None


def brief(
    headline: str, shown: list[Result], refused: list[str], *, notes: list[str], key: str, link: str | None, advice: str
) -> str:
    """The decision form's text: `headline` with the verdict and counts, why an earlier decision
    was refused, the first blockers with their remedies, `notes`, where the report is, `advice`."""
    blockers = [r for r in shown if r.blocks]
    lines = [
        f"{headline}: automated verdict **{verdict(shown)}**, {len(blockers)} blocker(s) failing, "
        f"{sum(r.outcome == 'warn' for r in shown)} warning(s).",
        "",
    ]
    if refused:
        lines += ["**Your last decision was refused:** " + "; ".join(report.escape(p, 300) for p in refused), ""]
    for r in blockers[:BRIEFED_BLOCKERS]:
        lines.append(f"- **{r.check}** {report.escape(r.message, 200)} Remedy: {report.remedy(r.check)}")
    if len(blockers) > BRIEFED_BLOCKERS:
        lines.append(f"- and {len(blockers) - BRIEFED_BLOCKERS} more in the report")
    for note in notes:
        lines += ["", note]
    lines += ["", f"Report: [{key}]({link})" if link else f"Report: artifact `{key}` (Artifacts tab)"]
    return "\n".join([*lines, "", advice])
