"""`partner-review demo` and the commands that need a Prefect API or a database, as a user runs them:
the demo's output carries no traceback and no process outlives it; failures are one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partner_review.webhooks.server import free_port
from tests.conftest import ROOT

LINE_COMMANDS = [sys.executable, "-m", "partner_review.cli.main"]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PARTNER_REVIEW_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        HOME=str(tmp_path / "home"),  # the default data directory lands here, not in the checkout
        PARTNER_REVIEW_VOLUME_RATE="20",
        PARTNER_REVIEW_VOLUME_DURATION_SECONDS="1",
    )
    env.update(extra)
    return env


def session_members(sid: int) -> list[str]:
    """Live processes of session `sid` (the command ran as its leader): what would be left behind."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(f"{stat.parent.name}: {(stat.parent / 'cmdline').read_bytes()[:200]!r}")
    return found


def run_alone(
    args: list[str], env: dict[str, str], timeout: float = 900, command: list[str] = LINE_COMMANDS
) -> tuple[subprocess.CompletedProcess, list]:
    """Run `command + args` (partner-review by default) as the leader of a new session; return its
    result and the session's processes still alive a moment after it exited."""
    process = subprocess.Popen(
        command + args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        raise
    time.sleep(1)
    left = session_members(process.pid)
    for line in left:  # never leave them for the next test
        os.kill(int(line.split(":")[0]), 9)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), left


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_demo_approves_access_then_reviews_the_submission_runs_clean_and_leaves_no_process(tmp_path):
    from partner_review.models.access import AccessState
    from partner_review.models.settings import Settings
    from partner_review.models.store import Store
    from partner_review.tasks.lifecycle.checklist import checklist_of

    env = clean_env(tmp_path, COLUMNS="200")  # rich wraps at the terminal width: one line per message
    done, left = run_alone(["demo", "--keep", "--decision", "request-changes"], env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output and "Error" not in done.stderr, output
    text = " ".join(done.stdout.split())  # rich wraps a line longer than the terminal
    assert "Prefect's temporary API (started for this demo)" in text
    assert left == [], f"processes outlived the demo: {left}"
    assert not (ROOT / ".data").exists() or (ROOT / ".data").stat().st_mtime < time.time() - 3600

    # The output reads as the process: access requested, a submission refused before approval,
    # the approval, the submission taken and reviewed, the checklist.
    steps = [
        "1. The partner requests access",
        "/webhooks/access-requests -> 202",
        "Access request of Acme Analytics Inc.",
        "2. A submission before approval",
        "/webhooks/submissions -> 403",
        "3. The reviewer approves the access request",
        ": approved (domain acme.example)",
        "4. The partner submits its integration",
        "/webhooks/submissions -> 202",
        "Acme Analytics v1",
        "state: changes_requested",
        "5. The checklist (`partner-review status acme-analytics`)",
        "Public Beta checklist: Acme Analytics v1 (changes_requested)",
    ]
    at = [text.find(step) for step in steps]
    assert -1 not in at, [step for step, found in zip(steps, at) if found == -1]
    assert at == sorted(at), "the demo's steps are out of order"
    assert "The website https://acme.example:" in text  # the access checks saw the partner's own name

    # The store the demo kept says the same: approved before the submission arrived and was reviewed.
    kept = tmp_path / "home" / ".local" / "share" / "partner-review" / "demo"
    store = Store(Settings(data_dir=kept, database_url=None, secret_key=None))
    try:
        (approved,) = store.access.in_state(AccessState.approved)
        review = store.access.latest_review(approved.id)
        assert review is not None and review.verdict == "pass" and approved.decided_at is not None
        assert approved.request.company.website.startswith("https://acme.example:")  # its own name, on loopback
        assert {r.check: r.outcome for r in review.results} == {f"ACC-00{n}": "pass" for n in range(1, 9)}
        submission_id = store.latest_submission_id("acme-analytics")
        submission = store.get_submission(submission_id)
        latest = store.latest_review(submission_id)
        assert latest is not None
        assert utc(approved.decided_at) <= utc(submission.received_at) <= utc(latest[0].started_at)
        assert submission.submission.app.website.startswith("https://acme.example:")
        checklist = checklist_of(store, "acme-analytics")
        assert {line.requirement.id: line.status for line in checklist.lines}["approval"] == "unmet"
        assert {note.kind for note in store.notifications()} >= {"welcome", "acknowledgment", "request_changes"}
    finally:
        store.close()


def test_a_temporary_api_that_cannot_start_in_time_is_one_line_and_leaves_nothing(tmp_path):
    env = clean_env(tmp_path, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")
    done, left = run_alone(["demo"], env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "did not start within 1 s" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert left == [], f"a Prefect server outlived the failed demo: {left}"


@pytest.mark.parametrize(
    "args,extra,words",
    [
        (["demo"], {"PREFECT_API_URL": "http://127.0.0.1:{port}/api"}, "does not answer"),
        (["serve"], {"PREFECT_API_URL": "http://127.0.0.1:{port}/api"}, "does not answer"),
        (["serve"], {}, "serve needs a running Prefect API"),
        (["db", "upgrade"], {"PARTNER_REVIEW_DATABASE_URL": "nope://x"}, "is not usable"),
        (
            ["db", "upgrade"],
            {"PARTNER_REVIEW_DATABASE_URL": "postgresql+psycopg://u:hunter2@127.0.0.1:{port}/db"},
            "cannot migrate the database at postgresql+psycopg://u:***@127.0.0.1",
        ),
    ],
    ids=["demo-api-down", "serve-api-down", "serve-no-api", "db-bad-url", "db-unreachable"],
)
def test_failures_are_one_line_saying_what_to_set(tmp_path, args, extra, words):
    port = str(free_port())
    env = clean_env(tmp_path, **{k: v.format(port=port) for k, v in extra.items()})
    done = subprocess.run(LINE_COMMANDS + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (1, 2), done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert words in done.stderr and "hunter2" not in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert ("PREFECT_API_URL" in done.stderr) or ("PARTNER_REVIEW_DATABASE_URL" in done.stderr)
