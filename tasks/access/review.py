"""The access review's steps outside Prefect: what the checks compare with, whether a decision
can be taken, and applying it (one transition, one message to the partner)."""

from __future__ import annotations

from partner_review.models.access import AccessDecided, AccessDecision, AccessState
from partner_review.models.checks import Result
from partner_review.models.settings import Settings
from partner_review.models.store import Store
from partner_review.models.store.access import AccessRequests, StoredAccessRequest
from partner_review.tasks.access import messages
from partner_review.tasks.access.checks import Approved
from partner_review.tasks.lifecycle.notify import Notifier


def approved_partners(repo: AccessRequests, stored: StoredAccessRequest) -> list[Approved]:
    """The approved requests of the same registrable domain, this one excepted."""
    if not stored.domain:
        return []
    return [
        Approved(id=a.id, company=a.request.company.name, domain=a.domain or "")
        for a in repo.approved_for([stored.domain], other_than=stored.id)
    ]


def decision_problems(decision: AccessDecision, stored: StoredAccessRequest, results: list[Result]) -> list[str]:
    """Why this decision cannot be taken now (empty when it can)."""
    problems = []
    if stored.state is not AccessState.requested:
        problems.append(f"access request {stored.id} is already {stored.state}")
    blockers = sorted({r.check for r in results if r.blocks})
    if decision.decision == "reject" and not decision.comment.strip():
        problems.append("a rejection needs a comment for the partner saying why")
    if decision.decision == "approve" and blockers and not decision.comment.strip():
        problems.append(f"approving while blockers fail ({', '.join(blockers)}) needs a comment saying why")
    return problems


def apply_decision(store: Store, settings: Settings, request_id: str, decision: AccessDecision) -> StoredAccessRequest:
    """Record the decision as the request's transition and tell the partner, each once: a retried
    task finds the transition made and the message (keyed by request) already sent."""
    repo = store.access
    target = AccessState.approved if decision.decision == "approve" else AccessState.rejected
    try:
        stored = repo.decide(request_id, target, actor=decision.reviewer, reason=decision.comment)
    except AccessDecided:
        stored = repo.get(request_id)
        if stored.state is not target:
            raise
    if target is AccessState.approved:
        key, kind, (subject, body) = f"access-welcome:{stored.id}", "welcome", messages.welcome(stored, decision)
    else:
        key, kind, (subject, body) = (
            f"access-rejected:{stored.id}",
            "access-rejected",
            messages.rejection(stored, decision),
        )
    Notifier(store, settings).send(
        key, submission_id=None, kind=kind, recipient=stored.request.contact.email, subject=subject, body=body
    )
    return stored
