"""health_watch (daily): every live app's delivery health, a breach or recovery told once, and a
picture of the last 90 days; check_health_report (weekly): the checks' own quality as a table."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from partner_review.flows.context import entry_context
from partner_review.models.lifecycle import State
from partner_review.models.store.health import HealthQueries
from partner_review.tasks.context import Context
from partner_review.tasks.health import chart, quality, watch
from partner_review.tasks.health.delivery import daily_series, health_of
from partner_review.tasks.lifecycle import report

CHART_DAYS = 90


@task(name="watch-app-health", cache_policy=NO_CACHE, retries=1)
def watch_app(ctx: Context, slug: str, submission_id: str, today_iso: str) -> dict:
    """One app: today's health, the notices it calls for, and its picture (a data: URL)."""
    from datetime import date

    store, settings = ctx.store, ctx.settings
    today = date.fromisoformat(today_iso)
    health = health_of(store, settings, slug, today=today)
    change, number = watch.change_of(store, settings, slug, health, today=today)
    sent = []
    if change is not None:
        sent = watch.notify(store, settings, store.get_submission(submission_id), change, number, health)
    series = daily_series(store, settings, slug, today=today, days=CHART_DAYS)
    picture = chart.png_data_url(chart.svg(slug, series, threshold=settings.health_min_success_rate))
    return {"health": health.as_json(), "summary": health.summary(), "change": change, "sent": sent, "chart": picture}


@flow(name="health-watch")
async def health_watch(at: datetime | None = None) -> dict[str, str | None]:
    """Daily; `at` replaces the current time (tests, backfills). Per live app: `breach`,
    `recovery` or None (nothing to tell)."""
    ctx = entry_context()
    today = (at or ctx.now()).date()
    live = HealthQueries(ctx.store).live_submissions((str(State.public_beta), str(State.public)))
    lines = [f"# Delivery health of live apps on {today}", "", "| app | health | told |", "|---|---|---|"]
    pictures, changes = [], {}
    for slug, sid in live:
        seen = watch_app(ctx, slug, sid, today.isoformat())
        changes[slug] = seen["change"]
        why = "; ".join(seen["health"]["reasons"])
        lines.append(
            f"| {report.escape(slug, 100)} | {report.escape(seen['summary'] + (f' ({why})' if why else ''), 600)} | "
            f"{seen['change'] or '-'} |"
        )
        pictures += [f"## {report.escape(slug, 100)}", "", f"![{report.escape(slug, 100)}]({seen['chart']})", ""]
    if not live:
        lines.append("| (no live apps) | | |")
    await acreate_markdown_artifact(
        key="health-watch",
        markdown="\n".join(lines + ["", *pictures]) + "\n",
        description=f"Delivery health of {len(live)} live apps on {today}",
    )
    return changes


@flow(name="check-health")
async def check_health_report(since_days: int | None = None) -> list[dict]:
    """Weekly: what `partner-review check-health` prints (every run, or the last `since_days`
    days), flaky checks first."""
    ctx = entry_context()
    since = None if since_days is None else ctx.now() - timedelta(days=since_days)
    rows = quality.check_health(ctx.store, ctx.settings, since=since)
    await acreate_table_artifact(
        key="check-health",
        table=[q.as_json() for q in rows],
        description=f"The checks' own quality{f' since {since:%Y-%m-%d}' if since else ''}, flaky checks first",
    )
    await acreate_markdown_artifact(key="check-health-summary", markdown=quality.markdown(rows, since=since))
    return [q.as_json() for q in rows]
