"""The promises with a clock: acknowledgment within N business days, a reviewer's decision
within M business days of the automated checks. Overdue ones are escalated once per breach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from partner_review.models.calendar import add_business_days
from partner_review.models.lifecycle import State
from partner_review.models.settings import Settings
from partner_review.models.store import Store, StoredSubmission
from partner_review.tasks.lifecycle import messages
from partner_review.tasks.lifecycle.notify import Notifier


@dataclass(frozen=True)
class OpenSla:
    stored: StoredSubmission
    kind: str  # "acknowledgment" | "decision"
    due_at: datetime
    breach_key: str  # one escalation per breach

    def row(self, now: datetime) -> dict[str, str]:
        delta = self.due_at - now
        hours = abs(delta.total_seconds()) / 3600
        return {
            "app": self.stored.slug,
            "version": str(self.stored.version),
            "submission": self.stored.id,
            "promise": self.kind,
            "due (UTC)": f"{self.due_at:%Y-%m-%d %H:%M}",
            "status": f"overdue by {hours:.1f} h" if delta.total_seconds() < 0 else f"{hours:.1f} h left",
        }


def open_slas(store: Store, settings: Settings) -> list[OpenSla]:
    items = []
    for sid in store.submissions_in(State.submitted, State.resubmitted, State.acknowledged, State.in_review):
        stored = store.get_submission(sid)
        if stored.acknowledged_at is None:
            items.append(OpenSla(stored, "acknowledgment", stored.ack_due_at, f"sla-ack:{sid}"))
            continue
        latest = store.latest_review(sid)
        if (
            stored.state == State.in_review
            and latest
            and latest[0].finished_at
            and store.decision_of(latest[0].id) is None
        ):
            due = add_business_days(
                latest[0].finished_at,
                settings.decision_reminder_business_days,
                country=settings.holiday_country,
                tz=settings.timezone,
            )
            items.append(OpenSla(stored, "decision", due, f"sla-decision:{latest[0].id}"))
    return items


def escalate(store: Store, settings: Settings, items: list[OpenSla], *, now: datetime) -> list[str]:
    """Tell the reviewers about every overdue promise, once per breach; returns the keys escalated now."""
    notifier, sent = Notifier(store, settings), []
    for item in items:
        if item.due_at > now:
            continue
        if item.kind == "acknowledgment":
            subject, body = messages.acknowledgment_overdue(item.stored, item.due_at)
        else:
            subject, body = messages.decision_reminder(item.stored, settings.decision_reminder_business_days)
        before = {n.key for n in store.notifications(item.stored.id)}
        notifier.send(
            item.breach_key,
            submission_id=item.stored.id,
            kind=f"sla-{item.kind}",
            recipient=settings.reviewers_email,
            subject=subject,
            body=body,
        )
        if item.breach_key not in before:
            sent.append(item.breach_key)
    return sent
