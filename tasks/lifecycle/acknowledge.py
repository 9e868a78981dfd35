"""Acknowledge a submission: tell the partner it arrived and when the review will start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from partner_review.models.lifecycle import State
from partner_review.models.settings import Settings
from partner_review.models.store import Store, StoredSubmission
from partner_review.tasks.lifecycle import messages
from partner_review.tasks.lifecycle.notify import Notifier


@dataclass(frozen=True)
class Acknowledgment:
    sent_to: str
    channel: str
    due_at: datetime
    acknowledged_at: datetime
    on_time: bool


def acknowledge(store: Store, settings: Settings, stored: StoredSubmission, *, now: datetime) -> Acknowledgment:
    """Send the acknowledgment once, record when, and move the submission to `acknowledged`."""
    subject, body = messages.acknowledgment(stored)
    recipient = stored.submission.app.support_email or settings.reviewers_email
    notifier = Notifier(store, settings)
    note = notifier.send(
        f"ack:{stored.id}",
        submission_id=stored.id,
        kind="acknowledgment",
        recipient=recipient,
        subject=subject,
        body=body,
    )
    store.acknowledge(stored.id, now)
    if stored.state in (State.submitted, State.resubmitted):
        store.transition(stored.id, State.acknowledged, actor="partner-review", reason="acknowledgment sent")
    fresh = store.get_submission(stored.id)
    return Acknowledgment(
        sent_to=note.recipient,
        channel=notifier.channel,
        due_at=fresh.ack_due_at,
        acknowledged_at=fresh.acknowledged_at or now,
        on_time=bool(fresh.ack_on_time),
    )
