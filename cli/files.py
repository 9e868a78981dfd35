"""The one way a command reads the file it is given: bounded by a size setting, regular files
and pipes only (a device such as /dev/zero never ends), and every way a file can be wrong turned
into one `CommandError` line that names the path. Nothing here imports Prefect."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from partner_review.cli.errors import fail

T = TypeVar("T")
JSON_KINDS = {list: "a JSON list", str: "a JSON string", bool: "a JSON boolean", type(None): "JSON null"}


def _limit() -> int:
    from partner_review.models.settings import get_settings

    return get_settings().cli_max_file_bytes


def open_bounded(path: Path) -> BinaryIO:
    """The file open for binary reading. A device, socket or directory is refused; a pipe is
    read like a file, bounded the same way (opened without waiting for a writer: a pipe no one
    writes to reads as empty instead of hanging)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        fail(f"cannot read {path}: no such file")
    except IsADirectoryError:
        fail(f"{path}: is a directory, not a file")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror or error}")
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        os.close(fd)
        what = "a directory" if stat.S_ISDIR(mode) else "a device or socket"
        fail(f"{path}: is {what}, not a file (give a regular file)")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bounded(path: Path, *, limit: int | None = None, allow_empty: bool = False, cut: bool = False) -> bytes:
    """The file's bytes; more than `limit` (default PARTNER_REVIEW_CLI_MAX_FILE_BYTES) is refused,
    or with `cut` the first limit + 1 bytes are returned (the caller reports the excess itself)."""
    limit = _limit() if limit is None else limit
    with open_bounded(path) as file:
        try:
            data = file.read(limit + 1)
        except OSError as error:
            fail(f"cannot read {path}: {error.strerror or error}")
    if len(data) > limit and not cut:
        fail(f"{path}: larger than {limit} bytes (the limit PARTNER_REVIEW_CLI_MAX_FILE_BYTES)")
    if not allow_empty and not data.strip():
        fail(f"{path}: is empty")
    return data


def load_object(path: Path, what: str) -> dict[str, Any]:
    """The file's JSON object; `what` names the expected document ("submission") in the message."""
    from partner_review.models.jsonbody import NotJson, decode

    raw = read_bounded(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        fail(f"{path} is not JSON (not valid JSON: not UTF-8 text, {error.reason} at byte {error.start})")
    try:
        data = decode(raw)
    except NotJson as error:
        fail(f"{path} is not JSON (not valid JSON: {error})")
    if not isinstance(data, dict):
        kind = JSON_KINDS.get(type(data), "a JSON number")
        fail(f"{path}: not a valid {what}: the file holds {kind}, where a JSON object {{...}} is expected")
    return data


def load_submission_file(path: Path):
    """A submission validated against the contract's schema."""
    from partner_review.models.submission import InvalidSubmission, parse_submission

    return _validated(path, "submission", parse_submission, InvalidSubmission)


def load_access_request_file(path: Path):
    """An access request validated against contract section 7."""
    from partner_review.models.access import InvalidAccessRequest, parse_access_request

    return _validated(path, "access request", parse_access_request, InvalidAccessRequest)


def _validated(path: Path, what: str, parse: Callable[[Any], T], invalid: type[Exception]) -> T:
    data = load_object(path, what)
    try:
        return parse(data)
    except invalid as error:
        fail(f"{path}: not a valid {what}: {error}")


def text_lines(path: Path, *, max_line_bytes: int) -> Iterator[tuple[int, str]]:
    """(number, text) for each line of a UTF-8 file of any length, each line bounded: a file too
    large to hold (an activity export) is streamed, never read whole."""
    with open_bounded(path) as file:
        number = 0
        while True:
            try:
                raw = file.readline(max_line_bytes + 1)
            except OSError as error:
                fail(f"cannot read {path}: {error.strerror or error}")
            if not raw:
                return
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                fail(f"{path}: line {number} is longer than {max_line_bytes} bytes (the limit a line or row may have)")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                fail(f"{path}: line {number} is not UTF-8 ({error.reason} at byte {error.start})")
