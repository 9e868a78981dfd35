"""`partner-review demo` and the commands that need a Prefect API or a database, as a user runs them:
the demo's output carries no traceback and no process outlives it; failures are one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_demo_runs_clean_and_leaves_no_process(tmp_path):
    done, left = run_alone(["demo", "--decision", "request-changes"], clean_env(tmp_path))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output and "Error" not in done.stderr, output
    assert "state: changes_requested" in done.stdout
    assert "Prefect's temporary API (started for this demo)" in done.stdout
    assert left == [], f"processes outlived the demo: {left}"
    assert not (ROOT / ".data").exists() or (ROOT / ".data").stat().st_mtime < time.time() - 3600


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
