"""Secrets at rest: sealed with Fernet so no store column holds a secret in plain text."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from partner_review.models.settings import Settings


class SealError(RuntimeError):
    pass


def _key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
    return Path(path).read_bytes().strip()


class Sealer:
    """Seals and opens a dict of secret values (PARTNER_REVIEW_SECRET_KEY, or a key file in data_dir)."""

    def __init__(self, settings: Settings):
        self._fernet = Fernet(_key(settings))

    def seal(self, secrets: dict[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(secrets).encode())

    def open(self, token: bytes) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise SealError(
                "stored secrets cannot be opened with this key (was PARTNER_REVIEW_SECRET_KEY changed?)"
            ) from None
