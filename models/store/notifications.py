"""The notification outbox: each message once per submission and event."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from partner_review.models.db import NotificationRow, utcnow
from partner_review.models.store.base import StoreBase


@dataclass(frozen=True)
class Notification:
    id: int
    key: str
    kind: str
    recipient: str
    subject: str
    body: str
    status: str


class NotificationStore(StoreBase):
    def enqueue_notification(
        self, key: str, *, submission_id: str | None, kind: str, recipient: str, subject: str, body: str, channel: str
    ) -> Notification:
        """The notification with this key, created on first call (unique key: once per event)."""
        try:
            with self.session() as session, session.begin():
                session.add(
                    NotificationRow(
                        key=key,
                        submission_id=submission_id,
                        kind=kind,
                        recipient=recipient,
                        subject=subject,
                        body=body,
                        channel=channel,
                    )
                )
        except IntegrityError:
            pass
        return self.get_notification(key)

    def get_notification(self, key: str) -> Notification:
        with self.session() as session:
            r = session.execute(select(NotificationRow).where(NotificationRow.key == key)).scalar_one()
            return Notification(r.id, r.key, r.kind, r.recipient, r.subject, r.body, r.status)

    def mark_sent(self, key: str, *, status: str = "sent") -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(NotificationRow)
                .where(NotificationRow.key == key)
                .values(status=status, sent_at=utcnow(), attempts=NotificationRow.attempts + 1, last_error=None)
            )

    def notification_failed(self, key: str, error: str) -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(NotificationRow)
                .where(NotificationRow.key == key)
                .values(attempts=NotificationRow.attempts + 1, last_error=error[:2000])
            )

    def notifications(self, submission_id: str | None = None) -> list[NotificationRow]:
        with self.session() as session:
            query = select(NotificationRow).order_by(NotificationRow.id)
            if submission_id:
                query = query.where(NotificationRow.submission_id == submission_id)
            return list(session.execute(query).scalars())
