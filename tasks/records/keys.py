"""The Ed25519 key that signs review records: a PEM file given by a setting, or created on first
use in the data directory with mode 0600 (two processes creating it at once agree on one)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from partner_review.models.settings import Settings

KEY_FILE = "record-signing-key.pem"


class KeyProblem(Exception):
    """The signing or verifying key cannot be used; one line says why."""


def key_path(settings: Settings) -> Path:
    return settings.record_key_file or settings.data_dir / KEY_FILE


def keyid(public: Ed25519PublicKey) -> str:
    """SHA-256 of the public key's DER SubjectPublicKeyInfo, hex: the fingerprint a verifier compares."""
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _create(path: Path) -> None:
    """Write a new key beside `path` and link it into place: readers never see half a key, and a
    concurrent creator's key wins whole if it got there first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey:
    """The records' signing key; created when the setting names none and the data directory has
    none (unless `create` is false: then KeyProblem)."""
    path = key_path(settings)
    if not create and not path.exists():
        raise KeyProblem(f"no record signing key at {path}; give the signer's public key with --public-key")
    if settings.record_key_file is None and not path.exists():
        try:
            _create(path)
        except OSError as error:
            raise KeyProblem(f"cannot create the record signing key {path}: {error.strerror or error}") from None
    try:
        mode = path.stat().st_mode
        pem = path.read_bytes()
    except OSError as error:
        raise KeyProblem(f"cannot read the record signing key {path}: {error.strerror or error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyProblem(
            f"the record signing key {path} is open to other users (mode {stat.S_IMODE(mode):04o}); chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise KeyProblem(f"{path} is not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"{path} holds a {type(key).__name__.removeprefix('_')}, not an Ed25519 key")
    return key


def load_public(pem: bytes, *, name: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (a private key's PEM gives its public half); KeyProblem otherwise."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        try:
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyProblem(f"{name} is not a PEM public key") from None
        key = private.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(f"{name} is not an Ed25519 public key")
    return key
