"""`partner-review lint PAGE.md`: the docs stage alone on one page, for a partner writing it.
No Prefect on this path: it starts in well under a second."""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The linter tells a page's template from its path; `--kind` says it with a path of that kind.
KIND_PATHS = {"direct": "destinations/{name}", "actions": "actions-{name}", "source": "sources/{name}"}
FINDINGS = ("fail", "error", "warn")


def run_lint(page: Path, *, kind: str | None = None, format: str = "text") -> int:
    from partner_review.models.checks import verdict
    from partner_review.models.settings import get_settings
    from partner_review.tasks.docs.lint import lint
    from partner_review.tasks.lifecycle.report import as_json

    try:
        with page.open("rb") as file:
            data = file.read(get_settings().docs_max_bytes + 1)  # more than the limit is one finding
    except FileNotFoundError:
        return _unreadable(f"{page}: no such file")
    except IsADirectoryError:
        return _unreadable(f"{page}: is a directory, not a Markdown file")
    except OSError as error:
        return _unreadable(f"{page}: cannot be read ({error.strerror or error})")
    hint = KIND_PATHS[kind].format(name=page.name) if kind else page.as_posix()
    results = lint(data, path=hint)
    if format == "json":
        print(json.dumps(as_json(results), indent=2))
    else:
        findings = [r for r in results if r.outcome in FINDINGS]
        for r in sorted(findings, key=lambda r: (_position(r), r.check)):
            line, column = _position(r)
            print(f"{page}:{line}:{column} {r.check} {' '.join(r.message.split())}")
        blockers = sum(r.blocks for r in results)
        print(f"{page}: {len(findings)} finding(s), {blockers} blocker(s) failed", file=sys.stderr)
    return 1 if verdict(results) == "fail" else 0


def _position(result) -> tuple[int, int]:
    def number(key: str) -> int:
        value = result.evidence.get(key)
        return value if isinstance(value, int) and value > 0 else 1

    return number("line"), number("column")


def _unreadable(message: str) -> int:
    print(f"partner-review: {message}", file=sys.stderr)
    return 2
