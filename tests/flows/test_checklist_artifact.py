"""The Public Beta checklist as a per-app markdown artifact, published by the graduation check."""

from datetime import UTC, datetime, timedelta

import pytest

from partner_review.models.lifecycle import State
from partner_review.models.submission import parse_submission

pytestmark = pytest.mark.prefect
NOW = datetime.now(UTC)


async def artifact(key):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1, sort="CREATED_DESC"
        )
    return found[0] if found else None


async def test_the_graduation_check_publishes_each_apps_checklist(prefect_harness, store):
    import json

    from partner_review.flows.graduation import graduation_check
    from tests.conftest import EXAMPLES

    example = json.loads((EXAMPLES / "submission.json").read_text())
    del example["app"]["oauth"]  # no OAuth: the graduation check needs no network
    example["app"]["name"] = "Acme <b>Analytics</b>"
    sid = store.record_delivery(
        "d-1", b"b", parse_submission(example), received_at=NOW, ack_due_at=NOW + timedelta(days=2)
    ).submission_id
    for target in (State.acknowledged, State.in_review, State.public_beta):
        store.transition(sid, target, actor="test")
    await graduation_check(at=NOW)
    published = await artifact("checklist-acme-analytics")
    assert published is not None and published.type == "markdown"
    assert "# Public Beta checklist of Acme \\<b\\>Analytics\\<\\/b\\> v1" in published.data  # plain text
    assert "&lt;" not in published.data and "<b>" not in published.data
    assert "- State: public_beta" in published.data and "graduation" in published.data
    row = next(line for line in published.data.splitlines() if line.startswith("| 'Enable with Segment'"))
    assert "**unmet**" in row and "GRD-001" in row
