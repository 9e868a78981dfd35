"""The access promise: a decision within `access_decision_business_days` of the request.
Watched by `sla-watch` beside the submission promises; an overdue one is escalated once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from partner_review.models.access import AccessState
from partner_review.models.settings import Settings
from partner_review.models.store import Store
from partner_review.models.store.access import StoredAccessRequest
from partner_review.tasks.access import messages
from partner_review.tasks.lifecycle.notify import Notifier


@dataclass(frozen=True)
class OpenAccessSla:
    stored: StoredAccessRequest
    due_at: datetime

    kind = "access decision"

    @property
    def breach_key(self) -> str:
        return f"sla-access:{self.stored.id}"

    def row(self, now: datetime) -> dict[str, str]:
        """A row of the sla-watch table (the same columns as a submission's promise)."""
        delta = self.due_at - now
        hours = abs(delta.total_seconds()) / 3600
        return {
            "app": f"(access) {self.stored.request.company.name}",
            "version": "-",
            "submission": self.stored.id,
            "promise": self.kind,
            "due (UTC)": f"{self.due_at:%Y-%m-%d %H:%M}",
            "status": f"overdue by {hours:.1f} h" if delta.total_seconds() < 0 else f"{hours:.1f} h left",
        }


def open_access_slas(store: Store) -> list[OpenAccessSla]:
    return [OpenAccessSla(s, s.decision_due_at) for s in store.access.in_state(AccessState.requested)]


def escalate_access(store: Store, settings: Settings, items: list[OpenAccessSla], *, now: datetime) -> list[str]:
    """Tell the reviewers about every overdue access decision, once each; the keys escalated now."""
    notifier, sent = Notifier(store, settings), []
    for item in items:
        if item.due_at > now:
            continue
        subject, body = messages.decision_overdue(item.stored, item.due_at)
        if _sent(store, item.breach_key):
            continue
        notifier.send(
            item.breach_key,
            submission_id=None,
            kind="sla-access",
            recipient=settings.reviewers_email,
            subject=subject,
            body=body,
        )
        sent.append(item.breach_key)
    return sent


def _sent(store: Store, key: str) -> bool:
    from sqlalchemy.exc import NoResultFound

    try:
        store.get_notification(key)
    except NoResultFound:
        return False
    return True
