"""Making a signed record of a decided run, and checking one anywhere (no store needed)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from partner_review.models.jsonbody import NotJson, decode
from partner_review.models.settings import Settings
from partner_review.models.store import Store
from partner_review.tasks.records import dsse
from partner_review.tasks.records.keys import keyid, signing_key
from partner_review.tasks.records.statement import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    DecidedRun,
    canonical,
    decided_run,
    statement,
)


@dataclass(frozen=True)
class Made:
    envelope: bytes  # the DSSE envelope as written to a file
    digest: str  # its SHA-256, hex
    keyid: str
    run: DecidedRun


def make(store: Store, settings: Settings, slug: str, version: int | None = None) -> Made:
    """The signed record of the app's newest decided run; NoRecord or KeyProblem when none can be made."""
    run = decided_run(store, slug, version)
    key = signing_key(settings)
    kid = keyid(key.public_key())
    envelope = dsse.sign(PAYLOAD_TYPE, canonical(statement(store, run)), key, kid).to_bytes()
    return Made(envelope, hashlib.sha256(envelope).hexdigest(), kid, run)


class RecordInvalid(Exception):
    """The record does not hold: tampered, wrong key, bad signature, or not a review record."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Verified:
    statement: dict[str, Any]
    keyid: str

    def summary(self) -> list[str]:
        """What the record says, in lines (fields of a shape we did not write show as None)."""
        subject = self.statement["subject"][0]
        predicate = self.statement["predicate"]
        checks = _dicts(predicate.get("checks"))
        outcomes = Counter(str(c.get("outcome")) for c in checks)
        decision = _dict(predicate.get("decision"))
        times = _dict(predicate.get("timestamps"))
        software = _dict(predicate.get("software"))
        counted = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
        lines = [
            f"record holds: signed by key {self.keyid}",
            f"subject: {subject.get('name')} sha256:{subject['digest']['sha256']}",
            f"decision: {decision.get('decision')} by {decision.get('reviewer')} at {times.get('decided_at')}",
            f"verdict: {predicate.get('verdict')}; {len(checks)} checks ({counted})",
        ]
        lines += [
            f"waiver: {w.get('check_id')} by {w.get('owner')} until {w.get('expires_at')}"
            for w in _dicts(predicate.get("waivers"))
        ]
        return [*lines, f"software: {software.get('name')} {software.get('version')}"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def check(data: Any, public: Ed25519PublicKey) -> Verified:
    """The statement of an envelope (parsed JSON) signed by `public`; RecordInvalid saying what fails."""
    expected = keyid(public)
    try:
        payload_type, payload = dsse.verify(data, public, expected)
    except dsse.EnvelopeInvalid as error:
        raise RecordInvalid(error.kind, str(error)) from None
    if payload_type != PAYLOAD_TYPE:
        raise RecordInvalid("payload", f"signed, but the payload type is {payload_type!r}, not an in-toto statement")
    try:
        found = decode(payload)
    except NotJson:
        raise RecordInvalid("payload", "signed, but the payload is not JSON") from None
    if not isinstance(found, dict) or found.get("_type") != STATEMENT_TYPE:
        raise RecordInvalid("payload", "signed, but the payload is not an in-toto Statement v1")
    if found.get("predicateType") != PREDICATE_TYPE:
        raise RecordInvalid(
            "payload", f"signed, but the predicate is {found.get('predicateType')!r}, not a review record"
        )
    subject = found.get("subject")
    if (
        not isinstance(subject, list)
        or not subject
        or not isinstance(subject[0], dict)
        or not isinstance(subject[0].get("digest"), dict)
        or "sha256" not in subject[0]["digest"]
        or not isinstance(found.get("predicate"), dict)
    ):
        raise RecordInvalid("payload", "signed, but the statement has no subject digest or no predicate")
    return Verified(found, expected)
