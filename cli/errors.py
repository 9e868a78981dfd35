"""The one way a command says what is wrong: one line on stderr,
`partner-review: <command>: <what is wrong>`, exit status 2 for bad input or usage (1 where a
command's contract says so, e.g. a server that does not answer). Commands raise `CommandError`;
`cli.main.main` renders it, and cyclopts' own usage errors, with `line`."""

from __future__ import annotations

import sys
from typing import NoReturn

PROGRAM = "partner-review"


class CommandError(Exception):
    """What is wrong, in plain words with the path or field; `status` is the exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def fail(message: str, status: int = 2) -> NoReturn:
    raise CommandError(message, status)


def line(command: str, message: str) -> str:
    """The one line: whitespace (a multi-line reason included) folded, so it stays one line."""
    words = " ".join(message.split())
    return f"{PROGRAM}: {command}: {words}" if command else f"{PROGRAM}: {words}"


def report(command: str, message: str, status: int = 2) -> int:
    print(line(command, message), file=sys.stderr)
    return status
