"""The notifier: every message to a partner or the reviewers, sent once per event.

Each message has a key (e.g. `ack:<submission id>`); the store's unique constraint on it makes a
retried task find the message already there instead of sending another. Mail goes over SMTP when
configured, otherwise it is recorded in the outbox and logged; when a Slack-compatible webhook is
configured each message is also posted there (its own outbox row, `<key>:slack`).

A crash between a send and its record can still resend once (no SMTP server offers a two-phase
commit); the stable Message-ID lets mail systems drop that duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from email.message import EmailMessage

from partner_review.models.settings import Settings
from partner_review.models.store import Notification, Store
from partner_review.models.submission import CONTROL

log = logging.getLogger("partner_review.notify")


class UnsendableAddress(ValueError):
    """A recipient no message may go to: a control character (CR, LF, NUL...) in an address would
    add headers to the mail. The receiver refuses such addresses; this guards what is stored."""


class Notifier:
    def __init__(self, store: Store, settings: Settings):
        self.store, self.settings = store, settings

    @property
    def channel(self) -> str:
        return "smtp" if self.settings.smtp_host else "outbox"

    def send(
        self, key: str, *, submission_id: str | None, kind: str, recipient: str, subject: str, body: str
    ) -> Notification:
        """Send the message with this key unless it was sent already; returns its stored mail record."""
        mail = self._mail(key, submission_id=submission_id, kind=kind, recipient=recipient, subject=subject, body=body)
        if self.settings.slack_webhook_url is not None:
            self._slack(
                f"{key}:slack", submission_id=submission_id, kind=kind, recipient=recipient, subject=subject, body=body
            )
        return mail

    def _slack(self, key: str, *, submission_id: str | None, **message: str) -> None:
        import httpx

        url = self.settings.slack_webhook_url
        if url is None:
            return

        note = self.store.enqueue_notification(key, channel="slack", submission_id=submission_id, **message)
        if note.status == "sent":
            return
        text = f"*{note.subject}* (to {note.recipient})\n{note.body}"
        try:
            answer = httpx.post(url.get_secret_value(), json={"text": text}, timeout=15)
            answer.raise_for_status()
        except httpx.HTTPError as error:
            self.store.notification_failed(key, f"{type(error).__name__}: {error}")
            raise
        self.store.mark_sent(key)

    def _mail(
        self, key: str, *, submission_id: str | None, kind: str, recipient: str, subject: str, body: str
    ) -> Notification:
        if CONTROL.search(recipient):  # before the store: PostgreSQL cannot even hold a NUL
            raise UnsendableAddress(f"{key}: recipient address {recipient!r} holds a control character; not sent")
        note = self.store.enqueue_notification(
            key,
            submission_id=submission_id,
            kind=kind,
            recipient=recipient,
            subject=subject,
            body=body,
            channel=self.channel,
        )
        if note.status in ("sent", "logged"):
            return note
        if self.channel == "outbox":
            log.info("notification %s to %s recorded in the outbox (no SMTP configured): %s", key, recipient, subject)
            self.store.mark_sent(key, status="logged")
        else:
            try:
                self._smtp(note)
            except (OSError, smtplib.SMTPException) as error:
                self.store.notification_failed(key, f"{type(error).__name__}: {error}")
                raise
            self.store.mark_sent(key)
        return self.store.get_notification(key)

    def _smtp(self, note: Notification) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.mail_from
        message["To"] = note.recipient
        message["Subject"] = note.subject
        # A stable Message-ID: if a crash between sending and recording resends, mail systems dedupe it.
        message["Message-ID"] = f"<{hashlib.sha256(note.key.encode()).hexdigest()[:32]}@partner-review>"
        message.set_content(note.body)
        with smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)
