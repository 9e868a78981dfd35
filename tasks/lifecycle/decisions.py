"""A reviewer's decision: checked before it is accepted, then applied once.

The same checks guard both ways in: the Prefect UI's resume form (the flow asks again when a
decision is refused) and `partner-review decide` (refused before the flow is resumed).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from partner_review.models.checks import REGISTRY, Result
from partner_review.models.decision import Decision
from partner_review.models.lifecycle import State
from partner_review.models.settings import Settings
from partner_review.models.store import Store, StoredSubmission, Waiver
from partner_review.tasks.lifecycle import messages
from partner_review.tasks.lifecycle.notify import Notifier
from partner_review.tasks.lifecycle.waivers import apply_waivers

OUTCOME_STATE = {"approve": State.public_beta, "request_changes": State.changes_requested, "reject": State.rejected}


def waivers_of(decision: Decision) -> list[Waiver]:
    return [
        Waiver(w.check_id, w.reason, decision.reviewer, datetime.combine(w.expires, time.max, tzinfo=UTC))
        for w in decision.waivers
    ]


def problems(
    decision: Decision, stored: StoredSubmission, raw: list[Result], existing: list[Waiver], *, now: datetime
) -> list[str]:
    """Why this decision cannot be accepted (empty when it can)."""
    found = []
    if stored.state != State.in_review:
        found.append(f"submission {stored.id} is not waiting for a decision (its state is '{stored.state}')")
    for w in decision.waivers:
        if w.check_id not in REGISTRY:
            found.append(f"unknown check id '{w.check_id}' in a waiver (see `partner-review checks`)")
        if datetime.combine(w.expires, time.max, tzinfo=UTC) <= now:
            found.append(f"the waiver for {w.check_id} expires on {w.expires}, which is not in the future")
    if decision.decision == "approve" and not found:
        waived, _ = apply_waivers(raw, existing + waivers_of(decision), now=now)
        blocking = sorted({r.check for r in waived if r.blocks})
        if blocking:
            found.append(
                "cannot approve while blockers fail: "
                + ", ".join(blocking)
                + " (waive them with a reason and expiry, or request changes)"
            )
    return found


def apply(
    store: Store,
    settings: Settings,
    stored: StoredSubmission,
    review_run_id: int,
    decision: Decision,
    raw: list[Result],
    *,
    now: datetime,
) -> list[Result]:
    """Record the decision and its waivers, move the submission and tell the partner. Safe to repeat."""
    existing = store.decision_of(review_run_id)
    if existing is None:
        for waiver in waivers_of(decision):
            store.add_waiver(stored.slug, waiver, submission_id=stored.id)
        store.record_decision(
            review_run_id, stored.id, decision=decision.decision, reviewer=decision.reviewer, comment=decision.comment
        )
    waived, _ = apply_waivers(raw, store.waivers(stored.slug), now=now)
    store.transition(
        stored.id,
        OUTCOME_STATE[decision.decision],
        actor=decision.reviewer,
        reason=decision.comment or decision.decision,
    )
    if decision.decision == "approve":
        subject, body = messages.approval(stored, decision.comment, waived)
    elif decision.decision == "request_changes":
        subject, body = messages.changes_requested(stored, waived, decision.comment)
    else:
        subject, body = messages.rejection(stored, decision.comment)
    Notifier(store, settings).send(
        f"decision:{review_run_id}",
        submission_id=stored.id,
        kind=decision.decision,
        recipient=stored.submission.app.support_email or settings.reviewers_email,
        subject=subject,
        body=body,
    )
    return waived
