"""Webhook signatures (contract section 2).

`X-Partner-Review-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]`, the HMAC key being
the shared secret and the message `<t>.<raw body bytes>`. One valid `v1` is enough (rotation).
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Partner-Review-Signature"
DELIVERY_HEADER = "X-Partner-Review-Delivery"


class SignatureError(ValueError):
    """Why a signature was refused, in words the sender can act on."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The signature header value for `body`."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={compute(secret, t, body)}"


def verify(header: str | None, body: bytes, secret: str, *, tolerance: int = 300, now: float | None = None) -> None:
    """Raise SignatureError unless `header` carries a valid, fresh signature of `body`."""
    if not secret:
        raise SignatureError("the receiver has no webhook secret configured; it accepts no deliveries")
    if not header:
        raise SignatureError(f"missing {HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed {HEADER} header: expected 't=<unix seconds>,v1=<hex>'")
        if key == "t":
            if not value.isdigit() or len(value) > 12:
                raise SignatureError(f"malformed {HEADER} header: t must be unix seconds")
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed {HEADER} header: expected 't=<unix seconds>,v1=<hex>'")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} s away from the receiver's clock")
    expected = compute(secret, timestamp, body)
    # Compare every candidate so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode(), candidate.strip().lower().encode("utf-8", "replace"))
    if not matched:
        raise SignatureError("signature does not match the body (wrong secret, or the body was changed)")
