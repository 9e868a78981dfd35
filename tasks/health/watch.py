"""The daily health watch's memory and messages: a breach (healthy to unhealthy) is told to the
partner and the reviewers once, the recovery once, and nothing on the days between.

The watch keeps no state of its own: the health notices already sent say where an app stands
(the last one a breach: unhealthy; a recovery or none: healthy as far as anyone was told). An app
never told anything is taken as healthy only if it was healthy the day before, so an app that
never reached health is not "breached" on its first watch. Each notice's key carries the breach's
number, so a retried or overlapping run finds it sent (the outbox's unique key) instead of sending
it twice.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from partner_review.models.settings import Settings
from partner_review.models.store import Store, StoredSubmission
from partner_review.models.store.health import HealthQueries
from partner_review.tasks.health.delivery import Health, health_of
from partner_review.tasks.lifecycle.notify import Notifier

Change = Literal["breach", "recovery"]


def change_of(store: Store, settings: Settings, slug: str, now: Health, *, today: date) -> tuple[Change | None, int]:
    """What today's figures change, and the breach's number (1 for the app's first breach)."""
    told = HealthQueries(store).health_notices(slug)
    breaches = told.count("health-breach")
    if told and told[-1] == "health-breach":
        return ("recovery" if now.healthy else None), breaches
    if now.healthy:
        return None, breaches
    was_healthy = bool(told) or health_of(store, settings, slug, today=today - timedelta(days=1)).healthy
    return ("breach" if was_healthy else None), breaches + 1


def message(stored: StoredSubmission, change: Change, health: Health) -> tuple[str, str]:
    name = f"{stored.submission.app.name} ({stored.slug})"
    figures = (
        f"Over the last {health.window_days} days: {health.events_delivered:,} events delivered, "
        f"{health.events_failed:,} failed, success rate "
        f"{'n/a' if health.success_rate is None else f'{health.success_rate:.2%}'}, "
        f"{health.active_customers} active customers.\n"
    )
    if change == "breach":
        return (
            f"{name}: deliveries are not healthy",
            f"Hello,\n\n{name} is no longer healthy.\n{figures}\nWhy:\n"
            + "".join(f"- {r}\n" for r in health.reasons)
            + "\nSee `partner-review health` for the figures. We will write once more when it recovers.\n",
        )
    return (
        f"{name}: deliveries are healthy again",
        f"Hello,\n\n{name} is healthy again.\n{figures}",
    )


def notify(
    store: Store, settings: Settings, stored: StoredSubmission, change: Change, number: int, health: Health
) -> list[str]:
    """Tell the partner and the reviewers (each once); the keys of the two notices."""
    subject, body = message(stored, change, health)
    notifier = Notifier(store, settings)
    keys = []
    for who, recipient in (
        ("partner", stored.submission.app.support_email or settings.reviewers_email),
        ("reviewers", settings.reviewers_email),
    ):
        key = f"health-{change}:{stored.slug}:{number}:{who}"
        notifier.send(
            key, submission_id=stored.id, kind=f"health-{change}", recipient=recipient, subject=subject, body=body
        )
        keys.append(key)
    return keys
