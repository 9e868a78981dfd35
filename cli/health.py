"""`partner-review health` and `check-health`: delivery health of an app, and the checks' own quality."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from cyclopts import Parameter

from partner_review.cli.app import app
from partner_review.cli.errors import fail

MAX_DAYS = 366


@app.command
def health(
    slug: str,
    *,
    days: Annotated[int | None, Parameter(name="--days")] = None,
    format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table",
) -> int:
    """Print an app's delivery health over a window: events delivered and failed, the success rate,
    active customers, healthy or not and why.

    Exit status: 0 healthy, 1 not healthy, 2 unknown app or bad input.

    Parameters
    ----------
    slug
        The app's slug.
    days
        The window in days, ending today (default: PARTNER_REVIEW_HEALTH_WINDOW_DAYS).
    format
        `table` for people, `json` for programs.
    """
    from partner_review.flows.context import entry_context
    from partner_review.models.store import NotFound, StoreError
    from partner_review.tasks.health.delivery import health_of

    if days is not None and not 1 <= days <= MAX_DAYS:
        fail(f"--days must be between 1 and {MAX_DAYS}, not {days}")
    try:
        ctx = entry_context()
        found = health_of(ctx.store, ctx.settings, slug, today=ctx.now().date(), days=days)
    except NotFound as error:
        fail(str(error))
    except StoreError as error:
        fail(f"the store is unavailable: {error}")
    if format == "json":
        print(json.dumps(found.as_json(), indent=2))
    else:
        rate = "-" if found.success_rate is None else f"{found.success_rate:.2%}"
        print(f"{found.app}: {'healthy' if found.healthy else 'NOT healthy'} over {found.window_days} days")
        print(f"  delivered {found.events_delivered:,}, failed {found.events_failed:,}, success rate {rate}")
        print(f"  active customers {found.active_customers}")
        for reason in found.reasons:
            print(f"  - {reason}")
    return 0 if found.healthy else 1


@app.command(name="check-health")
def check_health(
    *,
    since: Annotated[str | None, Parameter(name="--since")] = None,
    format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table",
) -> int:
    """List every check that ran with its quality: runs, fail rate, waivers, flips on an unchanged
    version, median time to fix, flaky or not (flaky first).

    Exit status: 0 printed, 2 bad input.

    Parameters
    ----------
    since
        Count only runs started on or after this day, YYYY-MM-DD (UTC).
    format
        `table` for people, `json` for programs.
    """
    from partner_review.flows.context import entry_context
    from partner_review.models.store import StoreError
    from partner_review.tasks.health.quality import check_health as rows_of

    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), time(), tzinfo=UTC)
        except ValueError:
            fail(f"--since must be a day as YYYY-MM-DD, not {since[:40]!r}")
    try:
        ctx = entry_context()
        rows = rows_of(ctx.store, ctx.settings, since=start)
    except StoreError as error:
        fail(f"the store is unavailable: {error}")
    if format == "json":
        print(json.dumps([q.as_json() for q in rows], indent=2))
        return 0
    print(f"{'check':10} {'stage':11} {'runs':>6} {'fail':>7} {'waived':>6} {'flips':>7} {'fix (h)':>8}  flaky")
    for q in rows:
        fix = "-" if q.median_time_to_fix is None else f"{q.median_time_to_fix:g}"
        print(
            f"{q.check:10} {q.stage:11} {q.runs:>6} {q.fail_rate:>7.1%} {q.waived:>6} {q.flip_rate:>7.1%} "
            f"{fix:>8}  {'FLAKY' if q.flaky else ''}"
        )
    if not rows:
        print("(no check has run)")
    return 0
