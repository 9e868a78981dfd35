"""Commands on an access request and an app's launch: `check-access` (checked locally),
`decide-access` (resumes the waiting review) and `status` (the Public Beta checklist from the
store). Only `decide-access` imports Prefect."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Parameter

from partner_review.cli.app import app
from partner_review.cli.errors import fail
from partner_review.cli.files import load_access_request_file

if TYPE_CHECKING:
    from partner_review.models.access import AccessDecision


def check_access_file(path: Path, *, format: str, offline: bool) -> int:
    """The ACC checks on a file; exit 0 no blocker failed, 1 a blocker failed (2 raised above)."""
    from partner_review.cli.render import print_table
    from partner_review.flows.context import entry_context
    from partner_review.models.checks import verdict
    from partner_review.tasks.access.checks import check_access
    from partner_review.tasks.lifecycle import report

    request = load_access_request_file(path)
    results = asyncio.run(check_access(request, offline=offline, settings=entry_context().settings))
    if format == "json":
        print(json.dumps(report.as_json(results, offline=offline), indent=2))
    else:
        print_table(results, offline=offline, title=f"Access request of {request.company.name}")
    return 1 if verdict(results, offline=offline) == "fail" else 0


def status_of(slug: str, *, format: str) -> int:
    """The app's Public Beta checklist (contract section 8); exit 2 for an unknown app."""
    from partner_review.cli.render import print_checklist
    from partner_review.flows.context import entry_context
    from partner_review.models.store import NotFound, StoreError
    from partner_review.tasks.lifecycle.checklist import checklist_of

    try:
        checklist = checklist_of(entry_context().store, slug)
    except NotFound as error:
        fail(str(error))
    except StoreError as error:
        fail(f"the store is unavailable: {error}")
    data: dict[str, Any] = checklist.as_json()
    if format == "json":
        print(json.dumps(data, indent=2))
    else:
        print_checklist(checklist)
    return 0


class AccessDecisionRefused(Exception):
    """The access decision cannot be taken; nothing was changed."""


def resume_access(request_id: str, decision: AccessDecision) -> str:
    """Check the decision against the store and the flow run, then resume the waiting run with it
    (what the Prefect UI's form does). Returns the flow run id; raises AccessDecisionRefused otherwise."""
    from partner_review.cli.decide import resume_waiting
    from partner_review.flows.context import entry_context
    from partner_review.models.store import NotFound
    from partner_review.tasks.access.review import decision_problems

    repo = entry_context().store.access
    try:
        stored = repo.get(request_id)
    except NotFound:
        raise AccessDecisionRefused(f"no access request {request_id}") from None
    latest = repo.latest_review(request_id)
    if latest is None or not latest.flow_run_id:
        raise AccessDecisionRefused(f"access request {request_id} has no review run yet")
    flow_run_id = latest.flow_run_id
    found = decision_problems(decision, stored, latest.results)
    if found:
        raise AccessDecisionRefused("; ".join(found))

    what = f"the review of access request {request_id}"
    resume_waiting(flow_run_id, decision, refused=AccessDecisionRefused, what=what)
    return flow_run_id


def run_decide_access(request_id: str, *, decision: str, comment: str, reviewer: str) -> int:
    from pydantic import ValidationError

    from partner_review.models.access import AccessDecision
    from partner_review.models.submission import field_problems

    try:
        chosen = AccessDecision(decision=decision, comment=comment, reviewer=reviewer)
    except ValidationError as error:
        fail("; ".join(field_problems(error)))
    try:
        flow_run_id = resume_access(request_id, chosen)
    except AccessDecisionRefused as error:
        fail(str(error))
    print(f"resumed flow run {flow_run_id} with decision '{chosen.decision}'")
    return 0


@app.command(name="check-access")
def check_access(
    file: Path,
    *,
    format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table",
    offline: bool = False,
) -> int:
    """Run the access checks (ACC-*) on an access request file, without any server.

    Exit status: 0 no blocker failed, 1 a blocker failed, 2 usage error or invalid file.

    Parameters
    ----------
    file
        The access request JSON file (contract section 7).
    format
        `table` for people, `json` for programs (the same shape as `check`).
    offline
        Skip the checks that fetch the website (each skipped result says so).
    """
    return check_access_file(file, format=format, offline=offline)


@app.command
def status(slug: str, *, format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table") -> int:
    """Print an app's Public Beta checklist: each launch requirement met, unmet or unknown, and why.

    Exit status: 0 printed, 2 unknown app or usage error.

    Parameters
    ----------
    slug
        The app's slug.
    format
        `table` for people, `json` for programs (contract section 8).
    """
    return status_of(slug, format=format)


@app.command(name="decide-access")
def decide_access(
    access_request_id: str,
    *,
    approve: bool = False,
    reject: bool = False,
    comment: str = "",
    reviewer: str | None = None,
) -> int:
    """Decide an access request waiting in Prefect: resumes its flow run with the decision.

    Parameters
    ----------
    access_request_id
        The access request to decide.
    approve
        Approve: the partner is welcomed and may build.
    reject
        Reject (a comment saying why is required).
    comment
        Sent to the partner with the decision.
    reviewer
        Who decides (default: $USER).
    """
    import os

    if approve == reject:
        fail("give exactly one of --approve, --reject")
    return run_decide_access(
        access_request_id,
        decision="approve" if approve else "reject",
        comment=comment,
        reviewer=reviewer or os.environ.get("USER") or "reviewer",
    )
