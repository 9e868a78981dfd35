"""`partner-review decide`: a reviewer's decision from the terminal, resuming the waiting flow run."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from partner_review.cli.errors import fail
from partner_review.models.decision import Decision


class DecisionRefused(Exception):
    """The decision cannot be taken; nothing was changed."""


def waiting_for_input(flow_run_id: str) -> tuple[bool, str]:
    """Whether the flow run waits for a decision, and its state as the refusal names it.

    Waiting means paused (or suspended) with its decision form saved. Prefect's pause records the
    Paused state first and saves the form's schema after it, and a resume in between is refused
    ("Run input schema not found"); under load (twenty reviews at once) that gap is long enough for a
    decision to fall into it."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def check() -> tuple[bool, str]:
        async with get_client() as client:
            state = (await client.read_flow_run(UUID(flow_run_id))).state
            if state is None or not state.is_paused():
                return False, (state.name or state.type.value) if state else "unknown"
            keyset = state.state_details.run_input_keyset
            if keyset:
                try:
                    await client.read_flow_run_input(UUID(flow_run_id), keyset["schema"])
                except httpx.HTTPStatusError as error:
                    if error.response.status_code != 404:
                        raise
                    return False, f"{state.name}, its decision form not saved yet"
            return True, state.name or state.type.value

    waiting: tuple[bool, str] = run_coro_as_sync(check())
    return waiting


def resume_waiting(flow_run_id: str, answer: BaseModel, *, refused: type[Exception], what: str) -> None:
    """Resume the run with `answer` as the form's input, as the Prefect UI does; raises
    `refused(...)` naming its state when the run is not waiting for it (`what`: the run, for the message)."""
    from prefect.flow_runs import resume_flow_run

    waiting, state = waiting_for_input(flow_run_id)
    if not waiting:
        raise refused(f"{what} is not waiting for a decision (its Prefect state is {state})")
    resume_flow_run(UUID(flow_run_id), run_input=answer.model_dump(mode="json"))


def resume(submission_id: str, decision: Decision) -> str:
    """Check the decision against the store and the flow run, then resume the run with it.

    Returns the flow run id. Raises DecisionRefused with the reason otherwise.
    """
    from partner_review.flows.context import entry_context
    from partner_review.models.store import NotFound
    from partner_review.tasks.lifecycle.decisions import problems
    from partner_review.tasks.registry import all_checks

    all_checks()  # every check declared, so waivers name real ones
    store = entry_context().store
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

    resume_waiting(flow_run_id, decision, refused=DecisionRefused, what=f"the review run of {submission_id}")
    return flow_run_id


def main(submission_id: str, decision: Decision) -> int:
    try:
        flow_run_id = resume(submission_id, decision)
    except DecisionRefused as error:
        fail(str(error))
    print(f"resumed flow run {flow_run_id} with decision '{decision.decision}'")
    return 0
