"""review-access-request under the session's Prefect test server: the ACC checks against the
partner's sample website (HTTPS, its name acme.example resolved to loopback), the reviewer's
decision through the flow's form, the welcome sent once, and the access promise in sla-watch."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from partner_review.models.access import AccessState, parse_access_request

pytestmark = pytest.mark.prefect
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def named_site():
    from partner_review.partners import site_running

    with site_running(server_name="acme.example") as site:
        yield site


@pytest.fixture
def site_fetcher(named_site, monkeypatch):
    """The website checks reach the sample site: its CA trusted, `acme.example` resolved to 127.0.0.1."""
    from partner_review.models.settings import get_settings
    from partner_review.tasks.access import checks
    from partner_review.tasks.net.client import StaticResolver, guarded_transport
    from partner_review.tasks.net.fetcher import Fetcher

    monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(named_site.ca_file))
    get_settings.cache_clear()

    def open_fetcher(settings):
        transport = guarded_transport(engine="aiohttp", resolver=StaticResolver({"acme.example": ["127.0.0.1"]}))
        return Fetcher.from_settings(settings, transport=transport, retries=0)

    monkeypatch.setattr(checks, "open_fetcher", open_fetcher)
    return named_site


@pytest.fixture
def access_example(shared_dir, site_fetcher) -> dict:
    data = json.loads((shared_dir / "contract" / "access-request.example.json").read_text())
    data["company"]["website"] = site_fetcher.base_url
    return data


def request_access(store, data, delivery="a-1", received_at=NOW):
    from partner_review.tasks.access.domains import website_domain

    return store.access.record_delivery(
        delivery,
        b"b",
        parse_access_request(data),
        domain=website_domain(data["company"]["website"]),
        received_at=received_at,
        decision_due_at=received_at + timedelta(days=1),
    ).access_request_id


async def waiting_run(store, rid) -> str:
    """The flow run id once it waits for the reviewer."""
    from prefect.client.orchestration import get_client

    for _ in range(600):
        latest = store.access.latest_review(rid)
        if latest and latest.flow_run_id:
            async with get_client() as client:
                state = (await client.read_flow_run(latest.flow_run_id)).state
            if state and state.is_paused():
                return latest.flow_run_id
        await asyncio.sleep(0.2)
    raise AssertionError("the access review never waited")


async def decide(store, rid, running, **decision):
    from prefect.flow_runs import aresume_flow_run

    flow_run_id = await waiting_run(store, rid)
    await aresume_flow_run(flow_run_id, run_input=decision)
    return flow_run_id


def outbox(store, rid):
    return [n for n in store.notifications() if n.key.endswith(rid)]


async def test_approval_welcomes_the_partner_once_and_every_transition_is_a_row(prefect_harness, store, access_example):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from partner_review.flows.access import review_access_request

    rid = request_access(store, access_example)
    running = asyncio.create_task(review_access_request(rid))
    await decide(store, rid, running, decision="approve", reviewer="rita", comment="Known analytics vendor.")
    outcome = await running
    assert outcome == {"access_request_id": rid, "verdict": "pass", "state": "approved"}

    repo = store.access
    review = repo.latest_review(rid)
    assert {r.check: r.outcome for r in review.results} == {f"ACC-00{i}": "pass" for i in range(1, 9)}
    assert [(t.from_state, t.to_state, t.actor, t.reason) for t in repo.transitions(rid)] == [
        (None, "requested", "partner", "delivery a-1"),
        ("requested", "approved", "rita", "Known analytics vendor."),
    ]
    (welcome,) = outbox(store, rid)
    assert welcome.kind == "welcome" and welcome.recipient == "dana.reyes@acme.example"
    assert "Known analytics vendor." in welcome.body

    again = await review_access_request(rid)  # a rerun (a retry, a second dispatch) changes nothing
    assert again["state"] == "approved" and len(outbox(store, rid)) == 1

    async with get_client() as client:
        (artifact,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["access-acme-analytics-inc"])), limit=1
        )
    assert "Access request of Acme Analytics Inc\\.: PASS" in artifact.data

    # The same company asking again: ACC-008 finds the approved request.
    second = request_access(store, access_example, delivery="a-2")
    running = asyncio.create_task(review_access_request(second))
    await decide(store, second, running, decision="reject", reviewer="rita", comment="Already approved.")
    outcome = await running
    assert outcome["verdict"] == "fail" and outcome["state"] == "rejected"
    (acc8,) = [r for r in repo.latest_review(second).results if r.check == "ACC-008"]
    assert acc8.outcome == "fail" and rid in acc8.message
    (note,) = outbox(store, second)
    assert note.kind == "access-rejected" and "Already approved." in note.body


async def test_a_rejection_without_a_comment_is_asked_again(prefect_harness, store, access_example):
    from prefect.flow_runs import aresume_flow_run

    from partner_review.flows.access import review_access_request

    access_example["contact"]["email"] = "dana@gmail.com"
    rid = request_access(store, access_example)
    running = asyncio.create_task(review_access_request(rid))
    flow_run_id = await decide(store, rid, running, decision="reject", reviewer="rita")
    await asyncio.sleep(1)
    assert await waiting_run(store, rid) == flow_run_id  # paused again for a new decision
    assert store.access.get(rid).state is AccessState.requested and outbox(store, rid) == []
    await aresume_flow_run(flow_run_id, run_input={"decision": "approve", "reviewer": "rita"})  # blockers, no comment
    await asyncio.sleep(1)
    assert await waiting_run(store, rid) == flow_run_id
    await aresume_flow_run(
        flow_run_id, run_input={"decision": "reject", "reviewer": "rita", "comment": "Use a company address."}
    )
    outcome = await running
    assert outcome["state"] == "rejected" and outcome["verdict"] == "fail"
    failed = {r.check for r in store.access.latest_review(rid).results if r.outcome == "fail"}
    assert failed == {"ACC-004", "ACC-005"}


async def test_approval_on_postgresql_through_the_decide_access_command(prefect_harness, pg_store, access_example):
    from partner_review.cli.access import AccessDecisionRefused, resume_access
    from partner_review.flows.access import review_access_request
    from partner_review.models.access import AccessDecision

    rid = request_access(pg_store, access_example)
    approve = AccessDecision(decision="approve", reviewer="rita")
    with pytest.raises(AccessDecisionRefused, match="no review run"):
        await asyncio.to_thread(resume_access, rid, approve)
    running = asyncio.create_task(review_access_request(rid))
    await waiting_run(pg_store, rid)
    with pytest.raises(AccessDecisionRefused, match="rejection needs a comment"):
        await asyncio.to_thread(resume_access, rid, AccessDecision(decision="reject", reviewer="rita"))
    await asyncio.to_thread(resume_access, rid, approve)
    assert (await running)["state"] == "approved"
    assert [n.kind for n in outbox(pg_store, rid)] == ["welcome"]
    with pytest.raises(AccessDecisionRefused, match="already approved"):
        await asyncio.to_thread(resume_access, rid, approve)
    with pytest.raises(AccessDecisionRefused, match="no access request"):
        await asyncio.to_thread(resume_access, "nope", approve)


async def test_sla_watch_escalates_an_undecided_access_request_once(prefect_harness, store, access_example):
    from partner_review.flows.sla import sla_watch

    rid = request_access(store, access_example, received_at=NOW)
    early = await sla_watch(at=NOW + timedelta(hours=12))
    assert early == {"open": 1, "escalated": []}
    late = await sla_watch(at=NOW + timedelta(days=2))
    assert late == {"open": 1, "escalated": [f"sla-access:{rid}"]}
    assert (await sla_watch(at=NOW + timedelta(days=3)))["escalated"] == []
    (note,) = outbox(store, rid)
    assert note.kind == "sla-access" and note.recipient == "reviewers@localhost" and "Overdue" in note.subject


async def test_end_to_end_a_signed_delivery_starts_the_review_and_the_decision_approves(
    prefect_harness, store, access_example, monkeypatch
):
    """The receiver (uvicorn, dispatch `local`) persists the delivery, its dispatcher starts the
    flow run, the reviewer's form input resumes it: the path a partner and a reviewer take."""
    import httpx

    from partner_review.models.settings import get_settings
    from partner_review.webhooks.server import running
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "local")
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS", "0.5")
    get_settings.cache_clear()
    raw = json.dumps(access_example).encode()
    with running() as base:
        answer = await asyncio.to_thread(
            httpx.post,
            f"{base}/webhooks/access-requests",
            content=raw,
            headers={
                "content-type": "application/json",
                DELIVERY_HEADER: "e2e-1",
                HEADER: sign("test-webhook-secret", raw),
            },
        )
        assert answer.status_code == 202, answer.text
        rid = answer.json()["access_request_id"]
        await decide(store, rid, None, decision="approve", reviewer="rita", comment="Welcome aboard.")
        repo = store.access
        for _ in range(300):
            if repo.get(rid).flow_run_id and repo.get(rid).state is AccessState.approved:
                break
            await asyncio.sleep(0.2)
    stored = repo.get(rid)
    assert stored.state is AccessState.approved and stored.flow_run_id == repo.latest_review(rid).flow_run_id
    assert [n.kind for n in outbox(store, rid)] == ["welcome"]
