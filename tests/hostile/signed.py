"""Helpers for the receiver's hostile tests: signed requests for either endpoint, both engines."""

from __future__ import annotations

import json
import time

from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

SECRET = "test-webhook-secret"  # tests/conftest.py `env`


def signed(body: bytes, delivery: str | None = "d-1", *, timestamp: int | None = None, secret: str = SECRET) -> dict:
    headers = {"content-type": "application/json", HEADER: sign(secret, body, timestamp=timestamp)}
    if delivery is not None:
        headers[DELIVERY_HEADER] = delivery
    return headers


def raw(data: object) -> bytes:
    return json.dumps(data).encode()


def activity(day: str = "2026-11-20", delivered: int = 5, **extra) -> dict:
    return {"app": "acme-analytics", "workspace_id": "ws-1", "day": day, "events_delivered": delivered, **extra}


def later() -> int:
    """A signature timestamp other than now's, so the same body is signed afresh."""
    later.offset = getattr(later, "offset", 0) + 1  # type: ignore[attr-defined]
    return int(time.time()) - 100 - later.offset  # type: ignore[attr-defined]
