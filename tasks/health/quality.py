"""The quality of the checks themselves: from the stored results, per check, how often it ran,
failed, was waived, flipped on an unchanged version, and how long a failure took to be fixed.

- `fail_rate`: the share of its results that were `fail` or `error` (skips are not runs).
- `flip_rate`: of the consecutive pairs of runs on one submission version (an unchanged app), the
  share whose outcome changed; `flaky` when it reaches `flaky_flip_rate`.
- `median_time_to_fix`: hours from a failing run to the first run of a later version of the same
  app where the check passed (or warned); null when no failure was fixed yet.
- `waived`: waivers reviewers granted for the check.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from partner_review.models.settings import Settings
from partner_review.models.store.health import CheckRun, HealthQueries

FAILING = ("fail", "error")


@dataclass(frozen=True)
class CheckQuality:
    check: str
    stage: str
    runs: int
    fail_rate: float
    waived: int
    flip_rate: float
    median_time_to_fix: float | None  # hours
    flaky: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _flips(results: list[CheckRun]) -> tuple[int, int]:
    """(pairs, flips) of consecutive runs on the same submission version."""
    pairs = flips = 0
    ordered = sorted(results, key=lambda r: (r.submission_id, r.run_id))
    for _, same_version in groupby(ordered, key=lambda r: r.submission_id):
        outcomes = [r.outcome for r in same_version]
        pairs += len(outcomes) - 1
        flips += sum(a != b for a, b in zip(outcomes, outcomes[1:]))
    return pairs, flips


def _fix_hours(results: list[CheckRun]) -> list[float]:
    """Hours from each failure's first failing run to the first pass on a later version."""
    hours, failing = [], None
    for r in results:
        if r.outcome in FAILING:
            failing = failing or r
        elif failing is not None and r.version > failing.version:
            hours.append((r.started_at - failing.started_at).total_seconds() / 3600)
            failing = None
    return hours


def quality(results: list[CheckRun], waived: dict[str, int], settings: Settings) -> list[CheckQuality]:
    """Per check; `results` ordered by check, app and run (as `HealthQueries.check_runs` gives them)."""
    out = []
    for check, mine in groupby((r for r in results if r.outcome != "skip"), key=lambda r: r.check):
        rows = list(mine)
        pairs = flips = 0
        hours: list[float] = []
        for _, of_app in groupby(rows, key=lambda r: r.app_id):
            app_rows = list(of_app)
            p, f = _flips(app_rows)
            pairs, flips = pairs + p, flips + f
            hours += _fix_hours(app_rows)
        flip_rate = flips / pairs if pairs else 0.0
        out.append(
            CheckQuality(
                check=check,
                stage=rows[-1].stage,
                runs=len(rows),
                fail_rate=round(sum(r.outcome in FAILING for r in rows) / len(rows), 4),
                waived=waived.get(check, 0),
                flip_rate=round(flip_rate, 4),
                median_time_to_fix=round(statistics.median(hours), 2) if hours else None,
                flaky=pairs > 0 and flip_rate >= settings.flaky_flip_rate and flips > 0,
            )
        )
    return out


def check_health(store: Any, settings: Settings, *, since: datetime | None = None) -> list[CheckQuality]:
    """Every check that ran (since a time), flaky ones first, then by check id."""
    queries = HealthQueries(store)
    found = quality(queries.check_runs(since), queries.waivers_granted(since), settings)
    return sorted(found, key=lambda q: (not q.flaky, q.check))


def markdown(rows: list[CheckQuality], *, since: datetime | None) -> str:
    """The table the weekly flow publishes."""
    lines = [
        f"# The checks' own quality{f' since {since:%Y-%m-%d}' if since else ''}",
        "",
        "| check | stage | runs | fail rate | waived | flip rate | median time to fix (h) | flaky |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for q in rows:
        fix = "-" if q.median_time_to_fix is None else f"{q.median_time_to_fix:g}"
        lines.append(
            f"| {q.check} | {q.stage} | {q.runs} | {q.fail_rate:.1%} | {q.waived} | {q.flip_rate:.1%} | {fix} | "
            f"{'**flaky**' if q.flaky else 'no'} |"
        )
    if not rows:
        lines.append("| (no check ran) | | | | | | | |")
    return "\n".join(lines) + "\n"
