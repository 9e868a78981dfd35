"""A decided review run leaves its signed record as an artifact: the envelope's digest, and the
same envelope `partner-review record` and the API give afterwards."""

import pytest

from partner_review.flows.keys import review_key
from partner_review.tasks.records.record import make
from tests.flows.support import review, submit

pytestmark = pytest.mark.prefect


async def artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        (found,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1, sort="CREATED_DESC"
        )
    return found.data


async def test_the_decided_run_carries_its_record_digest(prefect_harness, store, example):
    from partner_review.models.settings import get_settings

    sid = submit(store, example)
    outcome = await review(sid, "reject", comment="Not for our catalog.")
    assert outcome["decision"] == "reject"
    made = make(store, get_settings(), "acme-analytics", 1)
    markdown = await artifact(review_key("acme-analytics", "record"))
    assert f"Envelope SHA-256: `{made.digest}`" in markdown
    assert "partner-review record acme-analytics --version 1" in markdown and made.keyid in markdown
