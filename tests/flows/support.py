"""Playing the partner and the reviewer around the review flow (shared by the flow, fault and hostile tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from partner_review.models.submission import parse_submission

NOW = datetime.now(UTC)


def submit(store, example, delivery="d-1"):
    submission = parse_submission(example)
    return store.record_delivery(
        delivery, b"b", submission, received_at=NOW, ack_due_at=NOW + timedelta(days=2)
    ).submission_id


async def decide_when_waiting(sid, decision="approve", **fields):
    """Play the reviewer: wait until the run waits for a decision, then resume it as `decide` does."""
    from partner_review.cli.decide import DecisionRefused, resume
    from partner_review.models.decision import Decision

    verdict = Decision(decision=decision, reviewer="rita@reviewers.example", **fields)
    for _ in range(600):
        try:
            return await asyncio.to_thread(resume, sid, verdict)
        except DecisionRefused as error:
            if "not waiting" not in str(error) and "no review run" not in str(error):
                raise
        await asyncio.sleep(0.2)
    raise AssertionError("the review never waited for a decision")


async def review(sid, decision="approve", **fields):
    """Run the review flow to its end with the reviewer's decision."""
    from partner_review.flows.review import review_submission

    running = asyncio.create_task(review_submission(sid))
    await decide_when_waiting(sid, decision, **fields)
    return await running


async def report_of(slug: str) -> str:
    """The newest review report artifact of an app."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        (artifact,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"review-{slug}"])), limit=1, sort="CREATED_DESC"
        )
    return artifact.data
