"""The Public Beta checklist as a per-app Prefect markdown artifact (`checklist-<slug>`), published
by the review and graduation flows whenever a run changes what the checklist says."""

from __future__ import annotations

from prefect.artifacts import acreate_markdown_artifact

from partner_review.flows.keys import checklist_key
from partner_review.models.store import Store
from partner_review.tasks.lifecycle.checklist import checklist_of, markdown


async def publish_checklist(store: Store, slug: str) -> dict:
    """Publish the app's checklist; returns its contract JSON (section 8)."""
    checklist = await store.call(checklist_of, store, slug)
    counts = {s: sum(1 for line in checklist.lines if line.status == s) for s in ("met", "unmet", "unknown")}
    await acreate_markdown_artifact(
        markdown=markdown(checklist),
        key=checklist_key(slug),
        description=f"Public Beta checklist: {counts['met']} met, {counts['unmet']} unmet, {counts['unknown']} unknown",
    )
    return checklist.as_json()
