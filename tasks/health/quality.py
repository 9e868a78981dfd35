"""The quality of the checks themselves: from the stored results, per check, how often it ran,
failed, was waived, flipped on an unchanged version, and how long a failure took to be fixed.

- `fail_rate`: the share of its results that were `fail` or `error` (skips are not runs).
- `flip_rate`: of the pairs of consecutive runs of the check on an app that are both on the
  same submission version (an unchanged app), the share whose outcome changed; `flaky` when it
  reaches `flaky_flip_rate`.
- `median_time_to_fix`: hours from the first failing run of a streak to the run right after it,
  when that run passed (or warned) on a later version of the app than the streak's last; null
  when no failure was fixed yet. A failure that passes again on the same version was a flip, not
  a fix, and is not timed.
- `waived`: waivers reviewers granted for the check.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from partner_review.models.settings import Settings
from partner_review.models.store.health import CheckFigures, HealthQueries


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


def quality(
    figures: list[CheckFigures],
    fixes: list[tuple[str, datetime, datetime]],
    waived: dict[str, int],
    settings: Settings,
) -> list[CheckQuality]:
    """Per check, from the store's counts (pure)."""
    hours: dict[str, list[float]] = defaultdict(list)
    for check, failed_at, fixed_at in fixes:
        hours[check].append((fixed_at - failed_at).total_seconds() / 3600)
    out = []
    for f in figures:
        flip_rate = f.flips / f.pairs if f.pairs else 0.0
        out.append(
            CheckQuality(
                check=f.check,
                stage=f.stage,
                runs=f.runs,
                fail_rate=round(f.failing / f.runs, 4) if f.runs else 0.0,
                waived=waived.get(f.check, 0),
                flip_rate=round(flip_rate, 4),
                median_time_to_fix=round(statistics.median(hours[f.check]), 2) if hours[f.check] else None,
                flaky=f.flips > 0 and flip_rate >= settings.flaky_flip_rate,
            )
        )
    return out


def check_health(store: Any, settings: Settings, *, since: datetime | None = None) -> list[CheckQuality]:
    """Every check that ran (since a time), flaky ones first, then by check id."""
    queries = HealthQueries(store)
    figures, fixes = queries.check_history(since)
    found = quality(figures, fixes, queries.waivers_granted(since), settings)
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
