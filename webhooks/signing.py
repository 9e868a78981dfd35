"""Webhook signatures: the contract's Stripe-style scheme and Standard Webhooks.

Contract section 2: `X-Partner-Review-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]`,
the HMAC key being the shared secret and the message `<t>.<raw body bytes>`; one valid `v1` is
enough (rotation). The delivery id travels unsigned in `X-Partner-Review-Delivery`.

Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` (space-separated for
rotation). The key is the base64 part of a `whsec_` secret, or the secret's bytes otherwise.
The id is signed, so it is the delivery id.

The header is checked in full before the body is read (`expect`); the HMAC once it is (`Expected.verify`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

HEADER = "X-Partner-Review-Signature"
DELIVERY_HEADER = "X-Partner-Review-Delivery"
SW_ID, SW_TIMESTAMP, SW_SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
UNIX_SECONDS = re.compile(r"^[0-9]{1,12}\Z")  # ASCII only: str.isdigit() accepts '¹²³' that int() refuses


class SignatureError(ValueError):
    """Why a signature was refused, in words the sender can act on."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The signature header value for `body`."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={compute(secret, t, body)}"


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks HMAC key of `secret` (`whsec_<base64>`, or the secret's bytes)."""
    if secret.startswith("whsec_"):
        try:  # padding added as the reference library does: senders often drop it
            return base64.b64decode(secret.removeprefix("whsec_") + "==")
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def standard_compute(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(standard_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def standard_sign(secret: str, message_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body`."""
    t = int(time.time()) if timestamp is None else timestamp
    return {
        SW_ID: message_id,
        SW_TIMESTAMP: str(t),
        SW_SIGNATURE: f"v1,{standard_compute(secret, message_id, t, body)}",
    }


def _configured(secret: str) -> None:
    if not secret.strip():
        raise SignatureError("the receiver has no webhook secret configured; it accepts no deliveries")


def _timestamp(value: str, header: str, tolerance: int, now: float | None) -> int:
    if not UNIX_SECONDS.match(value):
        raise SignatureError(f"malformed {header} header: the timestamp must be unix seconds (ASCII digits)")
    timestamp = int(value)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} s away from the receiver's clock")
    return timestamp


@dataclass(frozen=True)
class Expected:
    """A well-formed, fresh signature header, waiting for the body it claims to sign."""

    scheme: str  # "stripe" | "standard"
    secret: str
    timestamp: int
    candidates: tuple[str, ...]
    message_id: str = ""
    tolerance: int = 300

    @property
    def expires_at(self) -> float:
        """When the signature leaves the tolerance window (unix seconds)."""
        return float(self.timestamp + self.tolerance)

    def verify(self, body: bytes) -> str:
        """The SHA-256 of the valid signature of `body`, or SignatureError."""
        if self.scheme == "standard":
            expected = standard_compute(self.secret, self.message_id, self.timestamp, body).encode()
            given = [c.encode("utf-8", "replace") for c in self.candidates]
        else:
            expected = compute(self.secret, self.timestamp, body).encode()
            given = [c.strip().lower().encode("utf-8", "replace") for c in self.candidates]
        # Compare every candidate so timing does not reveal which one matched.
        matched = False
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise SignatureError("signature does not match the body (wrong secret, or the body was changed)")
        return hashlib.sha256(expected).hexdigest()


def expect(headers: Mapping[str, str], secret: str, *, tolerance: int = 300, now: float | None = None) -> Expected:
    """Check the signature header of a request (either scheme) before its body is read."""
    _configured(secret)
    if headers.get(SW_SIGNATURE) is not None and headers.get(HEADER) is None:
        return _expect_standard(headers, secret, tolerance, now)
    return _expect_stripe(headers.get(HEADER), secret, tolerance, now)


def _expect_stripe(header: str | None, secret: str, tolerance: int, now: float | None) -> Expected:
    if not header:
        raise SignatureError(f"missing {HEADER} header")
    timestamp: str | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed {HEADER} header: expected 't=<unix seconds>,v1=<hex>'")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed {HEADER} header: expected 't=<unix seconds>,v1=<hex>'")
    t = _timestamp(timestamp, HEADER, tolerance, now)
    return Expected("stripe", secret, t, tuple(candidates), tolerance=tolerance)


def _expect_standard(headers: Mapping[str, str], secret: str, tolerance: int, now: float | None) -> Expected:
    message_id, stamp, signature = headers.get(SW_ID), headers.get(SW_TIMESTAMP), headers.get(SW_SIGNATURE) or ""
    if not message_id or stamp is None:
        raise SignatureError(f"malformed Standard Webhooks headers: {SW_ID} and {SW_TIMESTAMP} are required")
    t = _timestamp(stamp, SW_TIMESTAMP, tolerance, now)
    candidates = [
        value for version, sep, value in (p.partition(",") for p in signature.split()) if sep and version == "v1"
    ]
    if not candidates:
        raise SignatureError(f"malformed {SW_SIGNATURE} header: expected 'v1,<base64>'")
    return Expected("standard", secret, t, tuple(candidates), message_id=message_id, tolerance=tolerance)


def verify(header: str | None, body: bytes, secret: str, *, tolerance: int = 300, now: float | None = None) -> None:
    """Raise SignatureError unless `header` carries a valid, fresh signature of `body` (Stripe-style)."""
    _configured(secret)
    _expect_stripe(header, secret, tolerance, now).verify(body)
