"""sla_watch: every open promise with its time left; overdue ones escalated to the reviewers once."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from partner_review.flows.context import entry_context
from partner_review.flows.stages import blocking
from partner_review.tasks.access.sla import escalate_access, open_access_slas
from partner_review.tasks.context import Context
from partner_review.tasks.lifecycle.sla import escalate, open_slas


def _watch(ctx: Context, now: datetime) -> tuple[list[dict[str, str]], list[str]]:
    store, settings = ctx.store, ctx.settings
    items = open_slas(store, settings)
    access = open_access_slas(store)
    rows = [item.row(now) for item in items] + [item.row(now) for item in access]
    return rows, escalate(store, settings, items, now=now) + escalate_access(store, settings, access, now=now)


watch = blocking(_watch, name="check-open-slas", retries=2)


@flow(name="sla-watch")
async def sla_watch(at: datetime | None = None) -> dict:
    """`at` replaces the current time (backfills and tests); scheduled runs leave it empty."""
    now = (at or datetime.now(UTC)).astimezone(UTC)
    rows, escalated = await watch(entry_context(), now)
    await acreate_table_artifact(
        key="sla-watch",
        table=rows or [{"status": "no open promises"}],
        description=f"Open SLAs at {now:%Y-%m-%d %H:%M} UTC",
    )
    get_run_logger().info("%d open SLAs, %d escalated now", len(rows), len(escalated))
    return {"open": len(rows), "escalated": escalated}
