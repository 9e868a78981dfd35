"""The `partner-review` command.

cyclopts (already installed with Prefect) parses the command line; rich prints. Prefect itself is
imported only by the commands that run flows, so `check`, `checks` and `schema` start fast.

The commands live in one module per noun; adding a module of commands is one line in
COMMAND_MODULES. Every error a command raises (`cli.errors.CommandError`) or cyclopts finds in
the command line is printed as one line, `partner-review: <command>: <what is wrong>`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from partner_review.cli.app import app
from partner_review.cli.errors import CommandError, report

COMMAND_MODULES = (
    "partner_review.cli.review",
    "partner_review.cli.access",
    "partner_review.cli.reference",
    "partner_review.cli.servers",
    "partner_review.cli.data",
    "partner_review.cli.lint",
    "partner_review.cli.health",
    "partner_review.cli.records",
)

for _module in COMMAND_MODULES:
    importlib.import_module(_module)


def _command(tokens: Sequence[str]) -> str:
    """The command's name as typed (`check`, `activity import`), for the error line."""
    try:
        chain, _, _ = app.parse_commands(list(tokens))
    except Exception:  # an unknown command: cyclopts says so itself
        return ""
    return " ".join(chain)


def run(tokens: Sequence[str]) -> int:
    """Run the command line `tokens`; the exit status."""
    command = _command(tokens)

    from cyclopts.exceptions import CycloptsError

    try:
        status = app(list(tokens), result_action="return_value", print_error=False, exit_on_error=False)
    except CommandError as error:
        return report(command, str(error), error.status)
    except CycloptsError as error:  # a usage error: an unknown command or option, a missing argument
        return report(command, str(error))
    return status if isinstance(status, int) else 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
