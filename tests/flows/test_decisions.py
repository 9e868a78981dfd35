"""The reviewer's decision: applied once, refused with a reason when it cannot be taken."""

import asyncio
import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from partner_review.cli.decide import DecisionRefused, resume
from partner_review.models.decision import Decision
from partner_review.models.lifecycle import State
from tests.flows.support import decide_when_waiting, review, submit

pytestmark = pytest.mark.prefect
TOMORROW = date.today() + timedelta(days=30)


def broken_website(example):
    example["app"]["website"] = example["app"]["website"].replace("https://", "http://", 1)
    return example


async def start(sid):
    from partner_review.flows.review import review_submission

    return asyncio.create_task(review_submission(sid))


async def wait_until_waiting(store, sid):
    from prefect.client.orchestration import get_client

    for _ in range(600):
        latest = store.latest_review(sid)
        if latest and latest[0].flow_run_id:
            async with get_client() as client:
                state = (await client.read_flow_run(latest[0].flow_run_id)).state
            if state and state.is_paused():
                return latest[0]
        await asyncio.sleep(0.2)
    raise AssertionError("the review never waited")


async def test_request_changes_tells_the_partner_every_blocker_with_its_remedy(prefect_harness, store, example):
    sid = submit(store, broken_website(example))
    outcome = await review(sid, "request_changes", comment="Please fix the website.")
    assert outcome["state"] == "changes_requested"
    (ack, note) = store.notifications(sid)
    assert note.kind == "request_changes" and "Changes requested" in note.subject
    assert "CAT-005" in note.body and "How to fix:" in note.body and "Please fix the website." in note.body


async def test_approval_with_failing_blockers_is_refused_until_waived(prefect_harness, store, example):
    sid = submit(store, broken_website(example))
    running = await start(sid)
    await wait_until_waiting(store, sid)
    approve = Decision(decision="approve", reviewer="rita")
    with pytest.raises(DecisionRefused, match="cannot approve while blockers fail: CAT-005"):
        await asyncio.to_thread(resume, sid, approve)
    assert store.get_submission(sid).state == State.in_review

    waived = Decision(
        decision="approve",
        reviewer="rita",
        waivers=[
            {"check_id": "CAT-005", "reason": "website moves to https next week", "expires": TOMORROW.isoformat()},
            {"check_id": "LNK-009", "reason": "website moves to https next week", "expires": TOMORROW.isoformat()},
        ],
    )
    await asyncio.to_thread(resume, sid, waived)
    outcome = await running
    assert outcome == {"submission_id": sid, "verdict": "pass", "decision": "approve", "state": "public_beta"}
    waivers = store.waivers("acme-analytics")
    assert sorted((w.check_id, w.owner) for w in waivers) == [("CAT-005", "rita"), ("LNK-009", "rita")]


@pytest.mark.parametrize(
    "fields,words",
    [
        (
            {"waivers": [{"check_id": "CAT-999", "reason": "no such check", "expires": TOMORROW.isoformat()}]},
            "unknown check id 'CAT-999'",
        ),
        (
            {"waivers": [{"check_id": "CAT-005", "reason": "already over", "expires": "2020-01-01"}]},
            "not in the future",
        ),
    ],
)
async def test_bad_waivers_are_refused_and_nothing_changes(prefect_harness, store, example, fields, words):
    sid = submit(store, broken_website(example))
    running = await start(sid)
    await wait_until_waiting(store, sid)
    with pytest.raises(DecisionRefused, match=words):
        await asyncio.to_thread(resume, sid, Decision(decision="request_changes", reviewer="r", **fields))
    assert store.get_submission(sid).state == State.in_review and store.waivers("acme-analytics") == []
    await decide_when_waiting(sid, "reject")
    assert (await running)["state"] == "rejected"


async def test_second_decision_and_not_waiting_are_refused(prefect_harness, store, example):
    sid = submit(store, example)
    with pytest.raises(DecisionRefused, match="no review run"):
        await asyncio.to_thread(resume, sid, Decision(decision="approve", reviewer="r"))
    await review(sid)
    with pytest.raises(DecisionRefused, match="already decided"):
        await asyncio.to_thread(resume, sid, Decision(decision="reject", reviewer="r"))
    assert store.get_submission(sid).state == State.public_beta
    with pytest.raises(DecisionRefused, match="no submission"):
        await asyncio.to_thread(resume, "nope", Decision(decision="reject", reviewer="r"))


async def test_a_refused_decision_from_the_ui_is_asked_again(prefect_harness, store, example):
    """The UI's form bypasses `decide`: the flow itself refuses and pauses again."""
    from prefect.flow_runs import aresume_flow_run

    sid = submit(store, broken_website(example))
    running = await start(sid)
    run = await wait_until_waiting(store, sid)
    await aresume_flow_run(run.flow_run_id, run_input={"decision": "approve", "reviewer": "ui-user"})
    await asyncio.sleep(1)
    await wait_until_waiting(store, sid)  # paused again, for a new decision
    assert store.get_submission(sid).state == State.in_review and store.decision_of(run.id) is None
    await aresume_flow_run(run.flow_run_id, run_input={"decision": "request_changes", "reviewer": "ui-user"})
    assert (await running)["state"] == "changes_requested"


async def flow_run_artifacts(flow_run_id, key):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
            ),
            sort="ID_DESC",
        )
    return sorted(found, key=lambda a: a.created)


async def flow_run_logs(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    await APILogHandler.aflush()
    async with get_client() as client:
        return [
            log.message for log in await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        ]


@pytest.fixture
def info_logs():
    """The flow runs' INFO lines reach the API in this test (the session logs WARNING and above)."""
    import logging

    import prefect.main  # noqa: F401  configures Prefect's logging once; set the levels after it

    loggers = [logging.getLogger(name) for name in ("prefect", "prefect.flow_runs")]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    yield
    for logger, level in zip(loggers, before):
        logger.setLevel(level)


async def test_the_form_briefs_the_reviewer_and_each_refusal_is_reported_once(
    prefect_harness, store, example, info_logs
):
    from prefect.flow_runs import aresume_flow_run
    from prefect.input.actions import aread_flow_run_input

    sid = submit(store, broken_website(example))
    running = await start(sid)
    run = await wait_until_waiting(store, sid)
    brief = await aread_flow_run_input("paused-decision-1-description", flow_run_id=run.flow_run_id)
    assert "automated verdict **fail**" in brief and "**CAT-005**" in brief and "Remedy:" in brief
    assert "Waivers in force: none" in brief and "review-acme-analytics" in brief
    await aresume_flow_run(run.flow_run_id, run_input={"decision": "approve", "reviewer": "ui-user"})
    await asyncio.sleep(1)
    await wait_until_waiting(store, sid)
    second = await aread_flow_run_input("paused-decision-2-description", flow_run_id=run.flow_run_id)
    assert "Your last decision was refused:" in second and "cannot approve while blockers fail" in second
    await aresume_flow_run(run.flow_run_id, run_input={"decision": "request_changes", "reviewer": "ui-user"})
    assert (await running)["state"] == "changes_requested"

    decisions = [
        a.data
        for a in sorted(
            await flow_run_artifacts(run.flow_run_id, "review-acme-analytics--decision"), key=lambda a: a.created
        )
    ]
    assert [d.splitlines()[0] for d in decisions] == [
        "# Decision refused, please decide again",
        "# Decision on Acme Analytics v1: request_changes",
    ]
    (tile,) = await flow_run_artifacts(run.flow_run_id, "review-acme-analytics--tile")
    assert tile.type == "image" and tile.data.startswith("data:image/png;base64,")
    logs = await flow_run_logs(run.flow_run_id)
    assert sum("decision 1 refused" in m for m in logs) == 1, logs
    assert sum("waiting for a reviewer's decision" in m for m in logs) == 2, logs


async def test_a_replayed_attempt_reports_nothing_again(prefect_harness, store, example, info_logs):
    """What a suspended run does on resume: it runs again from the top and meets attempt 1 again."""
    from prefect import flow

    from partner_review.flows.keys import review_key
    from partner_review.flows.skeleton import announce_wait, report_refusal

    key = review_key(store.get_submission(submit(store, example)).slug, "decision")

    @flow
    async def replay() -> str:
        from prefect import runtime

        for _ in range(3):
            await announce_wait(1, "the report")
            await report_refusal(key, 1, ["cannot approve while blockers fail: CAT-005"])
        return runtime.flow_run.id

    flow_run_id = await replay()
    assert len(await flow_run_artifacts(flow_run_id, "review-acme-analytics--decision")) == 1
    logs = await flow_run_logs(flow_run_id)
    assert sum("refused" in m for m in logs) == 1 and sum("waiting for a reviewer" in m for m in logs) == 1


async def test_resubmission_reports_what_changed(prefect_harness, store, example):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    first = submit(store, broken_website(json.loads(json.dumps(example))))
    await review(first, "request_changes")
    example["version"] = 2
    example["app"]["docs"]["segment_markdown"] += "\n## Getting started\n\n1. Find the API Key in Settings.\n"
    second = submit(store, example, delivery="d-2")
    assert store.get_submission(second).previous_id == first
    assert store.get_submission(second).state == State.resubmitted
    running = await start(second)
    await wait_until_waiting(store, second)
    async with get_client() as client:
        (artifact,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["review-acme-analytics"])),
            limit=1,
            sort="CREATED_DESC",
        )
    assert "Resubmission of submission" in artifact.data
    assert "Checks fixed since v1\\: CAT\\-005" in artifact.data and "&#" not in artifact.data
    assert "app\\.website" in artifact.data and "Getting started" in artifact.data
    await decide_when_waiting(second, "approve")
    assert (await running)["state"] == "public_beta"


@pytest.fixture
def slack(monkeypatch):
    """A Slack-compatible incoming webhook on loopback that keeps what it receives."""
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PARTNER_REVIEW_SLACK_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    yield received
    server.shutdown()
    get_settings.cache_clear()


async def test_slack_webhook_gets_each_message_once(prefect_harness, store, example, slack):
    sid = submit(store, example)
    await review(sid)
    texts = [m["text"] for m in slack]
    assert len(texts) == 2
    assert "We received Acme Analytics v1" in texts[0] and "approved for Public Beta" in texts[1]
    assert {n.channel for n in store.notifications(sid)} == {"outbox", "slack"}


def test_a_paused_run_whose_form_is_not_saved_yet_is_not_waiting(prefect_harness):
    """Prefect's pause records Paused, then saves the decision form's schema; a resume in between
    is refused by Prefect ("Run input schema not found"), so `decide` waits for the form too."""
    from uuid import UUID

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.input import keyset_from_paused_state
    from prefect.states import Paused
    from prefect.utilities.asyncutils import run_coro_as_sync

    from partner_review.cli.decide import waiting_for_input

    @flow(name="paused-without-form")
    def nothing() -> None:
        pass

    async def pause_without_form() -> tuple[str, dict]:
        async with get_client() as client:
            run = await client.create_flow_run(nothing)
            state = Paused(pause_key="decision-1")
            state.state_details.run_input_keyset = keyset_from_paused_state(state)
            await client.set_flow_run_state(run.id, state, force=True)
            return str(run.id), state.state_details.run_input_keyset

    async def save_form(run_id: str, keyset: dict) -> None:
        async with get_client() as client:
            await client.create_flow_run_input(UUID(run_id), keyset["schema"], json.dumps({"type": "object"}))
            assert (await client.read_flow_run(UUID(run_id))).state.type == StateType.PAUSED

    run_id, keyset = run_coro_as_sync(pause_without_form())
    assert waiting_for_input(run_id) == (False, "Paused, its decision form not saved yet")
    run_coro_as_sync(save_form(run_id, keyset))
    assert waiting_for_input(run_id) == (True, "Paused")
