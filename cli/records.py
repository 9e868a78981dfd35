"""`partner-review public-key`, `record` and `verify`: signed review records (tasks/records)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from partner_review.cli.app import app
from partner_review.cli.errors import fail

MAX_RECORD_BYTES = 16 * 2**20  # a record of 100 checks is about 30 KB


def public_key() -> int:
    """Print the public key (PEM) that verifies this installation's review records.

    The signing key is created in the data directory (mode 0600) on first use unless
    PARTNER_REVIEW_RECORD_KEY_FILE names one.
    """
    from partner_review.flows.context import entry_context
    from partner_review.tasks.records.keys import KeyProblem, public_pem, signing_key

    try:
        key = signing_key(entry_context().settings)
    except KeyProblem as error:
        fail(str(error))
    print(public_pem(key.public_key()), end="")
    return 0


def record(
    slug: str,
    *,
    output: Annotated[Path, Parameter(name="--output")],
    version: Annotated[int | None, Parameter(name="--version")] = None,
) -> int:
    """Write the signed record (a DSSE envelope holding an in-toto statement) of an app's newest decided review.

    Parameters
    ----------
    slug
        The app.
    output
        Where to write the envelope (JSON).
    version
        The submission version (default: the newest version with a decided review).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from partner_review.flows.context import entry_context
    from partner_review.models.store import StoreError
    from partner_review.tasks.records.keys import KeyProblem
    from partner_review.tasks.records.record import make
    from partner_review.tasks.records.statement import NoRecord

    ctx = entry_context()
    try:
        made = make(ctx.store, ctx.settings, slug, version)
    except (NoRecord, KeyProblem) as error:
        fail(str(error))
    except (SQLAlchemyError, StoreError) as error:
        fail(f"the store cannot be read ({type(error).__name__})")
    try:
        output.write_bytes(made.envelope)
    except OSError as error:
        fail(f"{output}: cannot be written ({error.strerror or error})")
    print(
        f"wrote the record of {made.run.slug} v{made.run.version} ({made.run.decision} by {made.run.reviewer}) "
        f"to {output}, sha256 {made.digest}"
    )
    return 0


def verify(file: Path, *, public_key: Annotated[Path | None, Parameter(name="--public-key")] = None) -> int:
    """Check a review record: exit 0 and its summary when the signature and payload hold, 1 when
    they do not (saying what fails), 2 when the file or key cannot be read.

    Parameters
    ----------
    file
        The record (a DSSE envelope, as `partner-review record` writes it).
    public_key
        The signer's public key (PEM, as `partner-review public-key` prints it); default: this installation's key.
    """
    from partner_review.flows.context import entry_context
    from partner_review.models.jsonbody import NotJson, decode
    from partner_review.tasks.records.keys import KeyProblem, load_public, signing_key
    from partner_review.tasks.records.record import RecordInvalid, check

    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_RECORD_BYTES + 1)
    except OSError as error:
        fail(f"{file}: cannot be read ({error.strerror or error})")
    if len(raw) > MAX_RECORD_BYTES:
        fail(f"{file}: over {MAX_RECORD_BYTES // 2**20} MiB, so not a record")
    try:
        data = decode(raw)
    except NotJson as error:
        fail(f"{file}: not a JSON file ({error}), so not a record")
    try:
        if public_key is None:
            public = signing_key(entry_context().settings, create=False).public_key()
        else:
            try:
                pem = public_key.read_bytes()
            except OSError as error:
                fail(f"{public_key}: cannot be read ({error.strerror or error})")
            public = load_public(pem, name=str(public_key))
    except KeyProblem as error:
        fail(str(error))
    try:
        verified = check(data, public)
    except RecordInvalid as error:
        print(f"partner-review: verify: the record does NOT hold: {error}", file=sys.stderr)
        return 1
    print("\n".join(verified.summary()))
    return 0


app.command(public_key, name="public-key")
app.command(record)
app.command(verify)
