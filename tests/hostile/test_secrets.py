"""No secret leaves where it belongs: a full review (signed delivery through the receiver, the
flow under Prefect, the reviewer's decision, mail over an authenticated SMTP server) with
distinctive secret values, then every place a secret could leak is searched for them:
captured logs, Prefect's logs, artifacts and flow/task runs (via the Prefect client), every store
row, every notification and mail, and the JSON report of `partner-review check --format json`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.conftest import EXAMPLES, ROOT, smtp_server

pytestmark = pytest.mark.prefect

SECRETS = {
    "test account password": "pw-Quokka7731-do-not-leak",
    "destination auth secret": "dest-Wombat9941-do-not-leak",
    "webhook secret": "whsec-Numbat5521-do-not-leak",
    "SMTP password": "smtp-Dingo3371-do-not-leak",
}


def leaks(text: str) -> list[str]:
    """The secrets `text` contains, whole or by their distinctive core (e.g. `Quokka7731`)."""
    lowered = text.lower()
    return [
        name for name, value in SECRETS.items() if value.lower() in lowered or value.split("-")[1].lower() in lowered
    ]


@pytest.fixture
def authenticated_smtp(monkeypatch):
    """A loopback SMTP server that requires AUTH LOGIN/PLAIN with the SMTP password."""
    with smtp_server(password=SECRETS["SMTP password"]) as box:
        monkeypatch.setenv("PARTNER_REVIEW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("PARTNER_REVIEW_SMTP_PORT", str(box.port))
        monkeypatch.setenv("PARTNER_REVIEW_SMTP_USERNAME", "partner-review")
        monkeypatch.setenv("PARTNER_REVIEW_SMTP_PASSWORD", SECRETS["SMTP password"])
        yield box


async def prefect_records(flow_run_id: str) -> list[str]:
    """Everything Prefect holds about the run: the run, its task runs, their logs and artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId

    run_id = uuid.UUID(flow_run_id)
    async with get_client() as client:
        flow_run = await client.read_flow_run(run_id)
        task_runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
        # Every log record the API holds (the run's own and any other; at the suite's WARNING level
        # the run itself may have sent none).
        logs = await client.read_logs()
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
        states = await client.read_flow_run_states(run_id)
    assert artifacts and task_runs  # the search below has something to search
    return (
        [flow_run.model_dump_json()]
        + [t.model_dump_json() for t in task_runs]
        + [log.model_dump_json() for log in logs]
        + [a.model_dump_json() for a in artifacts]
        + [s.model_dump_json() for s in states]
    )


def test_no_secret_appears_anywhere_after_a_full_review(
    prefect_harness, store, env, sample_site, authenticated_smtp, monkeypatch, caplog, tmp_path
):
    from partner_review.cli.demo import pointed_at
    from partner_review.models.settings import get_settings
    from partner_review.partners import running
    from partner_review.webhooks.server import running as receiver_running
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign
    from tests.flows.support import review

    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_SECRET", SECRETS["webhook secret"])
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    get_settings.cache_clear()
    caplog.set_level(logging.DEBUG)

    data = json.loads((EXAMPLES / "submission.json").read_text())
    data["app"]["test_account"]["password"] = SECRETS["test account password"]
    with running("conformant", secret=SECRETS["destination auth secret"]) as partner:
        data = pointed_at(data, partner, sample_site)
        (destination,) = [c for c in data["components"] if c["type"] == "destination"]
        destination["auth"]["secret"] = SECRETS["destination auth secret"]
        body = json.dumps(data).encode()
        with receiver_running() as base:
            answer = httpx.post(
                f"{base}/webhooks/submissions",
                content=body,
                timeout=30,
                headers={
                    "content-type": "application/json",
                    DELIVERY_HEADER: "secrets-1",
                    HEADER: sign(SECRETS["webhook secret"], body),
                },
            )
        assert answer.status_code == 202, answer.text
        sid = answer.json()["submission_id"]
        outcome = asyncio.run(review(sid, "request_changes", comment="Checked for leaks."))

        submission_file = tmp_path / "submission.json"
        submission_file.write_bytes(body)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        check = subprocess.run(
            [sys.executable, "-m", "partner_review.cli.main", "check", str(submission_file), "--format", "json"],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert check.returncode in (0, 1), check.stderr
    report = json.loads(check.stdout)

    # The review really ran with the secrets: the partner accepted the destination secret, the
    # SMTP server the password, and the report has end-to-end evidence.
    assert outcome["decision"] == "request_changes"
    run, results = store.latest_review(sid)
    assert any(r.stage == "e2e" and r.outcome == "pass" for r in results)
    assert authenticated_smtp.logins and all(authenticated_smtp.logins)
    assert len(authenticated_smtp.messages) == 2
    assert any(r["stage"] == "e2e" and r["outcome"] == "pass" for r in report["results"])

    assert set(leaks(body.decode())) == {"test account password", "destination auth secret"}  # the search works
    places = {
        "captured logs": [caplog.text] + [record.getMessage() for record in caplog.records],
        "Prefect runs, logs, artifacts": asyncio.run(prefect_records(run.flow_run_id)),
        "store rows": [repr(row) for row in store.rows()],
        "notifications": [f"{n.subject}\n{n.body}\n{n.last_error}" for n in store.notifications()],
        "mails": [m.content.decode("utf-8", "replace") for m in authenticated_smtp.messages],
        "check --format json": [check.stdout, check.stderr],
    }
    found = {place: sorted({name for text in texts for name in leaks(text)}) for place, texts in places.items()}
    assert found == {place: [] for place in places}

    # The store does keep what it needs, sealed: the secrets come back out for the next review.
    stored = store.get_submission(sid).submission
    assert stored.app.test_account.password.get_secret_value() == SECRETS["test account password"]
