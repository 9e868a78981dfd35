"""DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) signed with Ed25519.

The pre-authentication encoding is written to the spec (tests check it against the spec's vector);
the signature is `cryptography`'s Ed25519. The keyid is a hint only, as the spec says: it names
the key a verifier should have, never decides anything.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519_SIGNATURE_BYTES = 64


class EnvelopeInvalid(ValueError):
    """The envelope does not hold; the message says why in plain words."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind  # malformed | payload | signature | wrong-key


def pae(payload_type: str, payload: bytes) -> bytes:
    """PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes as ASCII decimal."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, signature)

    def as_json(self) -> dict[str, Any]:
        return {
            "payload": base64.b64encode(self.payload).decode(),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": k, "sig": base64.b64encode(s).decode()} for k, s in self.signatures],
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.as_json(), indent=2) + "\n").encode()


def sign(payload_type: str, payload: bytes, key: Ed25519PrivateKey, keyid: str) -> Envelope:
    return Envelope(payload_type, payload, ((keyid, key.sign(pae(payload_type, payload))),))


def _b64(text: str) -> bytes:
    """Standard or URL-safe base64, as the spec lets a decoder accept; ValueError otherwise."""
    text = text.strip()
    alphabet = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(alphabet + "=" * (-len(alphabet) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def parse(data: Any) -> tuple[str, bytes, list[tuple[str, str]]]:
    """A DSSE envelope's JSON as (payload type, payload, [(keyid, signature text)]); EnvelopeInvalid when malformed."""
    if not isinstance(data, dict):
        raise EnvelopeInvalid("malformed", "not a DSSE envelope: the file holds no JSON object")
    missing = [f for f in ("payload", "payloadType", "signatures") if f not in data]
    if missing:
        raise EnvelopeInvalid("malformed", f"not a DSSE envelope: no {', '.join(missing)} field")
    payload_type, payload, signatures = data["payloadType"], data["payload"], data["signatures"]
    if not isinstance(payload_type, str) or not isinstance(payload, str):
        raise EnvelopeInvalid("malformed", "not a DSSE envelope: payload and payloadType must be strings")
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeInvalid("signature", "bad signature: the envelope carries no signature")
    pairs = []
    for entry in signatures:
        if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
            raise EnvelopeInvalid("signature", "bad signature: a signature entry has no 'sig' text")
        keyid = entry.get("keyid", "")
        pairs.append((keyid if isinstance(keyid, str) else "", entry["sig"]))
    try:
        body = _b64(payload)
    except ValueError:
        raise EnvelopeInvalid("payload", "tampered payload: the payload is not valid base64") from None
    return payload_type, body, pairs


def verify(data: Any, key: Ed25519PublicKey, keyid: str) -> tuple[str, bytes]:
    """The (payload type, payload) of an envelope one of whose signatures is `key`'s over exactly
    this payload type and payload; EnvelopeInvalid naming what does not hold otherwise."""
    payload_type, payload, signatures = parse(data)
    message = pae(payload_type, payload)
    problems: list[EnvelopeInvalid] = []
    for given_keyid, text in signatures:
        try:
            signature = _b64(text)
        except ValueError:
            problems.append(EnvelopeInvalid("signature", "bad signature: the signature is not valid base64"))
            continue
        if len(signature) != ED25519_SIGNATURE_BYTES:
            problems.append(
                EnvelopeInvalid("signature", f"bad signature: {len(signature)} bytes where an Ed25519 signature has 64")
            )
            continue
        if given_keyid and given_keyid != keyid:
            problems.append(
                EnvelopeInvalid(
                    "wrong-key",
                    f"wrong key: the record was signed by key {given_keyid[:16]}…, "
                    f"not by the public key given ({keyid[:16]}…)",
                )
            )
            continue
        try:
            key.verify(signature, message)
        except InvalidSignature:
            problems.append(
                EnvelopeInvalid(
                    "signature",
                    "the signature does not match: the payload or the signature was changed after signing "
                    "(or another key with the same keyid signed it)",
                )
            )
            continue
        return payload_type, payload
    raise problems[0]
