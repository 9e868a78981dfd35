"""(c) A review whose process is killed with SIGKILL during the volume stage: the rerun completes,
and no notification reaches the partner twice (counted at a real SMTP server, by Message-ID,
which partner-review derives from each notification's key)."""

import email
import hashlib
import json
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign
from tests.conftest import ROOT
from tests.faults.conftest import child_environ, wait_until

pytestmark = pytest.mark.prefect

VOLUME_TASK = "test-high-data-volume"


def task_states(flow_run_id: str) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)])))
    return {run.name: run.state.type.value for run in runs if run.state}


def message_ids(messages) -> list[str]:
    return [email.message_from_bytes(m.content)["Message-ID"] for m in messages]


def expected_message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@partner-review>"


def settings_for(store, secret: str, smtp_port: int, volume_seconds: str) -> dict[str, str]:
    extra = (
        {"PARTNER_REVIEW_CA_FILE": os.environ["PARTNER_REVIEW_CA_FILE"]}
        if os.environ.get("PARTNER_REVIEW_CA_FILE")
        else {}
    )
    return {
        "PARTNER_REVIEW_DATA_DIR": str(store.settings.data_dir),
        "PARTNER_REVIEW_DATABASE_URL": store.url,
        "PARTNER_REVIEW_WEBHOOK_SECRET": secret,
        "PARTNER_REVIEW_DISPATCH": "local",
        "PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS": "0.3",
        "PARTNER_REVIEW_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PARTNER_REVIEW_SMTP_HOST": "127.0.0.1",
        "PARTNER_REVIEW_SMTP_PORT": str(smtp_port),
        "PARTNER_REVIEW_VOLUME_RATE": "20",
        "PARTNER_REVIEW_VOLUME_DURATION_SECONDS": volume_seconds,
        "PREFECT_API_URL": os.environ["PREFECT_API_URL"],
        **extra,
    }


def test_review_killed_mid_volume_stage_reruns_to_completion_without_double_notifications(
    prefect_harness, store, env, example, receivers, smtp, tmp_path
):
    from tests.flows.support import decide_when_waiting

    smtp_port, messages = smtp.port, smtp.messages
    receiver = receivers(**settings_for(store, env, smtp_port, volume_seconds="30"))
    body = json.dumps(example).encode()
    answer = httpx.post(
        f"{receiver.base}/webhooks/submissions",
        content=body,
        timeout=30,
        headers={"content-type": "application/json", DELIVERY_HEADER: "killed-1", HEADER: sign(env, body)},
    )
    assert answer.status_code == 202
    sid = answer.json()["submission_id"]

    first_run = wait_until(lambda: (r := store.latest_review(sid)) and r[0].flow_run_id, "the review run", timeout=180)
    wait_until(
        lambda: any(
            name.startswith(VOLUME_TASK) and state == "RUNNING" for name, state in task_states(first_run).items()
        ),
        "the volume stage to start",
        timeout=180,
        interval=0.5,
    )
    receiver.kill()  # mid-load: the 30 s volume stage has just started

    assert store.latest_review(sid)[0].status != "completed"  # the kill really interrupted the review
    assert message_ids(messages) == [expected_message_id(f"ack:{sid}")]  # acknowledged once, before the kill

    # The rerun: a fresh process runs the review of the same submission (the receiver does not
    # resume a killed local review by itself: see test_claimed_dispatch.py).
    log = open(tmp_path / "rerun.log", "wb")
    rerun = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from partner_review.webhooks.dispatch import run_review_here; "
            "sys.exit(0 if run_review_here(sys.argv[1]).is_completed() else 1)",
            sid,
        ],
        cwd=ROOT,
        env=child_environ(**settings_for(store, env, smtp_port, volume_seconds="1")),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import asyncio

        asyncio.run(decide_when_waiting(sid, "request_changes", comment="Fix the launch post."))
        assert rerun.wait(300) == 0, (tmp_path / "rerun.log").read_text()[-3000:]
    finally:
        if rerun.poll() is None:
            rerun.kill()
            rerun.wait(10)
        log.close()

    latest, _ = store.latest_review(sid)
    assert latest.status == "completed" and latest.flow_run_id != first_run
    assert str(store.get_submission(sid).state) == "changes_requested"
    notes = store.notifications(sid)
    assert [n.kind for n in notes] == ["acknowledgment", "request_changes"]
    assert all(n.status == "sent" for n in notes)
    sent = message_ids(messages)
    assert sorted(sent) == sorted(expected_message_id(n.key) for n in notes)  # each key once, at the SMTP server
    assert len(sent) == len(set(sent)) == 2
