"""What partner-review tells a partner who asked for access, and the reviewers about it."""

from __future__ import annotations

from datetime import datetime

from partner_review.models.access import AccessDecision
from partner_review.models.store.access import StoredAccessRequest


def welcome(stored: StoredAccessRequest, decision: AccessDecision) -> tuple[str, str]:
    company = stored.request.company.name
    return (
        f"Welcome to the partner program, {company}",
        (
            f"Hello {stored.request.contact.name},\n\n{company} now has access to the Developer Center: create "
            "your App, build its components and submit it for review when it is ready.\n\n"
            f"Reviewer's comment:\n{decision.comment or '(none)'}\n\n"
            "Before you submit: check the submission locally with `partner-review check SUBMISSION.json`. "
            "The review answers within two business days.\n"
        ),
    )


def rejection(stored: StoredAccessRequest, decision: AccessDecision) -> tuple[str, str]:
    company = stored.request.company.name
    return (
        f"Your partner access request for {company}",
        (
            f"Hello {stored.request.contact.name},\n\nAfter review, the access request of {company} was not "
            f"accepted.\n\nReviewer's comment:\n{decision.comment or '(none)'}\n"
        ),
    )


def decision_overdue(stored: StoredAccessRequest, due_at: datetime) -> tuple[str, str]:
    company = stored.request.company.name
    return (
        f"Overdue: the access request of {company} waits for a decision",
        (
            f"The access request {stored.id} of {company} ({stored.request.company.website}) arrived "
            f"{stored.received_at:%Y-%m-%d %H:%M} UTC and was due a decision by {due_at:%Y-%m-%d %H:%M} UTC. "
            "Decide it in the Prefect UI (flow review-access-request).\n"
        ),
    )
