"""review_submission: one partner submission, from acknowledgment to a report in the Prefect UI."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from prefect import flow, runtime
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from flows.stages import as_task, blocking
from models.checks import verdict
from models.lifecycle import State
from models.settings import get_settings
from models.store import Store, StoredSubmission, get_store
from tasks import report
from tasks.acknowledge import acknowledge
from tasks.pipeline import run_checks


def run_name() -> str:
    stored = get_store().get_submission(runtime.flow_run.parameters["submission_id"])
    return f"review-{stored.slug}-v{stored.version}"


def artifact_key(slug: str, suffix: str = "") -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"review-{slug}{suffix}".lower()).strip("-")[:100]


def _acknowledge(submission_id: str):
    store = get_store()
    return acknowledge(store, get_settings(), store.get_submission(submission_id), now=datetime.now(timezone.utc))


acknowledge_submission = blocking(_acknowledge, name="acknowledge-submission", retries=3)
record_results = blocking(lambda run_id, results, v: get_store().save_results(run_id, results, v), name="record-results")
start_review = blocking(
    lambda submission_id: get_store().transition(
        submission_id, State.in_review, actor="partner-review", reason="automated checks finished"
    ),
    name="start-review",
)


def _facts(stored: StoredSubmission, ack) -> list[str]:
    return [
        f"Submission `{stored.id}`, version {stored.version}",
        f"Received {stored.received_at:%Y-%m-%d %H:%M} UTC; acknowledgment due {ack.due_at:%Y-%m-%d %H:%M} UTC, "
        f"sent {ack.acknowledged_at:%Y-%m-%d %H:%M} UTC ({'on time' if ack.on_time else 'LATE'}) via {ack.channel}",
    ]


@flow(name="review-submission", flow_run_name=run_name, retries=1, retry_delay_seconds=5)
async def review_submission(submission_id: str) -> dict:
    """Acknowledge, run every automated stage, record and publish the report, hand over to a reviewer."""
    store: Store = get_store()
    stored = store.get_submission(submission_id)
    run_id = store.start_review_run(submission_id, str(runtime.flow_run.id) if runtime.flow_run.id else None)

    ack = await acknowledge_submission(submission_id)
    results = await run_checks(stored.submission, call=as_task)
    outcome = verdict(results)
    await record_results(run_id, results, outcome)

    title = f"Review of {report.escape(stored.submission.app.name, 100)} v{stored.version}"
    await acreate_markdown_artifact(
        markdown=report.markdown(title, results, facts=_facts(stored, ack)),
        key=artifact_key(stored.slug), description=f"Review report, verdict {outcome}",
    )
    await acreate_table_artifact(
        table=report.table(results), key=artifact_key(stored.slug, "-results"), description="Every check result",
    )
    await start_review(submission_id)
    return {"submission_id": submission_id, "verdict": outcome, "results": len(results)}
