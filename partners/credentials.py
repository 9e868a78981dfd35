"""The credentials a sample partner accepts: the submission's `auth` seen from the partner's side.

`basic` follows the write-key convention: the secret is the username and the password is empty,
unless the secret itself is `user:password`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Literal

DEFAULT_SECRET = "acme-api-key-for-review"


@dataclass(frozen=True)
class Credentials:
    scheme: Literal["bearer", "basic", "header"] = "bearer"
    secret: str = DEFAULT_SECRET
    header: str | None = None

    def __post_init__(self) -> None:
        if self.scheme not in ("bearer", "basic", "header"):
            raise ValueError(f"unknown auth scheme {self.scheme!r}; use bearer, basic or header")
        if self.scheme == "header" and not self.header:
            raise ValueError("the header scheme needs a header name, e.g. header='X-Api-Key'")

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(scheme={self.scheme!r}, header={self.header!r})"

    def accepts(self, headers: dict[str, str]) -> bool:
        """Whether request headers (names in lowercase) carry this credential."""
        if self.scheme == "header":
            return _same(headers.get(self.header.lower(), ""), self.secret)  # type: ignore[union-attr]
        given = headers.get("authorization", "")
        kind, _, value = given.partition(" ")
        if self.scheme == "bearer":
            return kind.lower() == "bearer" and _same(value.strip(), self.secret)
        if kind.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = self.secret if ":" in self.secret else f"{self.secret}:"
        return _same(decoded, expected)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
