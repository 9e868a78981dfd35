"""`partner-review decide`: a reviewer's decision from the terminal, resuming the waiting flow run."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from uuid import UUID

from partner_review.models.decision import Decision


class DecisionRefused(Exception):
    """The decision cannot be taken; nothing was changed."""


def resume(submission_id: str, decision: Decision) -> str:
    """Check the decision against the store and the flow run, then resume the run with it.

    Returns the flow run id. Raises DecisionRefused with the reason otherwise.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import State
    from prefect.flow_runs import resume_flow_run
    from prefect.utilities.asyncutils import run_coro_as_sync

    from partner_review.models.store import NotFound, get_store
    from partner_review.tasks.lifecycle.decisions import problems
    from partner_review.tasks.registry import all_checks

    all_checks()  # every check declared, so waivers name real ones
    store = get_store()
    try:
        stored = store.get_submission(submission_id)
    except NotFound:
        raise DecisionRefused(f"no submission {submission_id}") from None
    latest = store.latest_review(submission_id)
    if latest is None or not latest[0].flow_run_id:
        raise DecisionRefused(f"submission {submission_id} has no review run yet")
    run, results = latest
    flow_run_id = run.flow_run_id or ""  # never empty: checked above
    if store.decision_of(run.id) is not None:
        raise DecisionRefused(f"submission {submission_id} is already decided")
    found = problems(decision, stored, results, store.waivers(stored.slug), now=datetime.now(UTC))
    if found:
        raise DecisionRefused("; ".join(found))

    async def state() -> State | None:
        async with get_client() as client:
            return (await client.read_flow_run(UUID(flow_run_id))).state

    current: State | None = run_coro_as_sync(state())
    if current is None or not current.is_paused():
        raise DecisionRefused(
            f"the review run of {submission_id} is not waiting for a decision "
            f"(its Prefect state is {current.name if current else 'unknown'})"
        )
    resume_flow_run(UUID(flow_run_id), run_input=decision.model_dump(mode="json"))
    return flow_run_id


def main(submission_id: str, decision: Decision) -> int:
    try:
        flow_run_id = resume(submission_id, decision)
    except DecisionRefused as error:
        print(f"partner-review: {error}", file=sys.stderr)
        return 2
    print(f"resumed flow run {flow_run_id} with decision '{decision.decision}'")
    return 0
