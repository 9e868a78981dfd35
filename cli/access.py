"""`partner-review check-access` and `partner-review status`: an access request checked locally,
and an app's Public Beta checklist from the store. Neither imports Prefect."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from partner_review.models.access import AccessDecision


def _fail(message: str) -> int:
    print(f"partner-review: {message}", file=sys.stderr)
    return 2


def load_access_request_file(path: Path):
    """Read and validate an access request file, or raise SystemExit(2) with a one-line reason."""
    from partner_review.models.access import InvalidAccessRequest, parse_access_request

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SystemExit(_fail(f"{path}: no such file")) from None
    except OSError as error:
        raise SystemExit(_fail(f"{path}: cannot be read ({error.strerror or error})")) from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SystemExit(_fail(f"{path}: not valid JSON ({error})")) from None
    except RecursionError:
        raise SystemExit(_fail(f"{path}: not valid JSON (nested too deeply)")) from None
    try:
        return parse_access_request(data)
    except InvalidAccessRequest as error:
        raise SystemExit(_fail(f"{path}: not a valid access request: {error}")) from None


def check_access_file(path: Path, *, format: str, offline: bool) -> int:
    """The ACC checks on a file; exit 0 no blocker failed, 1 a blocker failed (2 raised above)."""
    from partner_review.cli.render import print_table
    from partner_review.models.checks import verdict
    from partner_review.tasks.access.checks import check_access
    from partner_review.tasks.lifecycle import report

    request = load_access_request_file(path)
    results = asyncio.run(check_access(request, offline=offline))
    if format == "json":
        print(json.dumps(report.as_json(results, offline=offline), indent=2))
    else:
        print_table(results, offline=offline, title=f"Access request of {request.company.name}")
    return 1 if verdict(results, offline=offline) == "fail" else 0


def status_of(slug: str, *, format: str) -> int:
    """The app's Public Beta checklist (contract section 8); exit 2 for an unknown app."""
    from partner_review.cli.render import print_checklist
    from partner_review.models.store import NotFound, StoreError, get_store
    from partner_review.tasks.lifecycle.checklist import checklist_of

    try:
        checklist = checklist_of(get_store(), slug)
    except NotFound as error:
        return _fail(str(error))
    except StoreError as error:
        return _fail(f"the store is unavailable: {error}")
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
    from partner_review.models.store import NotFound, get_store
    from partner_review.tasks.access.review import decision_problems

    repo = get_store().access
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


def decide_access(request_id: str, *, decision: str, comment: str, reviewer: str) -> int:
    from pydantic import ValidationError

    from partner_review.models.access import AccessDecision
    from partner_review.models.submission import field_problems

    try:
        chosen = AccessDecision(decision=decision, comment=comment, reviewer=reviewer)
    except ValidationError as error:
        return _fail("; ".join(field_problems(error)))
    try:
        flow_run_id = resume_access(request_id, chosen)
    except AccessDecisionRefused as error:
        return _fail(str(error))
    print(f"resumed flow run {flow_run_id} with decision '{chosen.decision}'")
    return 0
