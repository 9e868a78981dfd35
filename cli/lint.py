"""`partner-review lint PAGE.md`: the docs stage alone on one page, for a partner writing it.
No Prefect on this path: it starts in well under a second."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from partner_review.cli.app import app

# The linter tells a page's template from its path; `--kind` says it with a path of that kind.
KIND_PATHS = {"direct": "destinations/{name}", "actions": "actions-{name}", "source": "sources/{name}"}
FINDINGS = ("fail", "error", "warn")


def run_lint(page: Path, *, kind: str | None = None, format: str = "text") -> int:
    from partner_review.cli.files import read_bounded
    from partner_review.models.checks import verdict
    from partner_review.models.settings import get_settings
    from partner_review.tasks.docs.lint import lint
    from partner_review.tasks.lifecycle.report import as_json

    # More than the limit is one finding, not an error: the linter gets one byte past it.
    data = read_bounded(page, limit=get_settings().docs_max_bytes, allow_empty=True, cut=True)
    hint = KIND_PATHS[kind].format(name=page.name) if kind else page.as_posix()
    results = lint(data, path=hint)
    if format == "json":
        print(json.dumps(as_json(results), indent=2))
    else:
        findings = [r for r in results if r.outcome in FINDINGS]
        for r in sorted(findings, key=lambda r: (_position(r), r.check)):
            line, column = _position(r)
            print(f"{page}:{line}:{column} {r.check} {' '.join(r.message.split())}")
        failed = sum(r.severity == "blocker" and r.outcome == "fail" for r in results)
        left = sum(r.unverified for r in results)
        print(
            f"{page}: {len(findings)} finding(s), {failed} blocker(s) failed, {left} blocker(s) unverified",
            file=sys.stderr,
        )
    return 1 if verdict(results) == "fail" else 0


def _position(result) -> tuple[int, int]:
    def number(key: str) -> int:
        value = result.evidence.get(key)
        return value if isinstance(value, int) and value > 0 else 1

    return number("line"), number("column")


@app.command(name="lint")
def lint_command(
    page: Path,
    *,
    kind: Annotated[Literal["direct", "actions", "source"] | None, Parameter(name="--kind")] = None,
    format: Annotated[Literal["text", "json"], Parameter(name="--format")] = "text",
) -> int:
    """Lint one Segment doc page (the docs stage alone), as a partner writing it would.

    Exit status: 0 no blocker failed, 1 a blocker failed, 2 unreadable file.

    Parameters
    ----------
    page
        The Markdown file.
    kind
        The page's template: a direct destination, an actions destination or a source (default:
        told from the file name and the page itself).
    format
        `text`: one `file:line:col rule message` line per finding; `json`: the `check` command's shape.
    """
    return run_lint(page, kind=kind, format=format)
