"""Real processes on loopback for the slow suites: start, wait until ready, stop for sure.

Every process started here carries a marker in its environment (`PARTNER_REVIEW_TEST_MARK`),
which its children inherit, flow-run processes included (Prefect starts those in sessions of
their own, so killing a process group is not enough). `Processes.stop_all` stops what it
started, newest first, then kills anything still alive that carries the marker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MARK = "PARTNER_REVIEW_TEST_MARK"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Phases:
    """Elapsed time at each step of a test, printed (pytest shows it with a failure or under -s)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def __call__(self, what: str) -> None:
        elapsed = time.monotonic() - self.start
        self.marks.append((what, elapsed))
        print(f"[{elapsed:6.1f} s] {what}", flush=True)


class NotReady(AssertionError):
    """A process did not become ready, or a condition never held; carries the captured output."""


class Process:
    """One subprocess, its output captured in a log file."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path, log_dir: Path):
        self.name, self.argv = name, argv
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, tail: int = 8000) -> str:
        if not self._log.closed:
            self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return text if len(text) <= tail else "...\n" + text[-tail:]

    def describe(self) -> str:
        status = "running" if self.alive() else f"exited with {self.popen.returncode}"
        return f"--- {self.name} ({status}; {' '.join(self.argv)}) output, from {self.log_path}:\n{self.output()}"

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.popen.wait(10)
        _signal_group(self.pid, signal.SIGKILL)  # whatever else is left in its group
        self._log.close()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def marked_pids(mark: str) -> list[int]:
    """Live processes whose environment carries `MARK=mark`."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class Processes:
    """The processes of one test; `stop_all` runs even when the test fails."""

    def __init__(self, log_dir: Path, base_env: dict[str, str]):
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.mark = uuid.uuid4().hex
        self.base_env = {**base_env, MARK: self.mark}
        self.started: list[Process] = []

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Process:
        process = Process(name, argv, env={**self.base_env, **(env or {})}, cwd=cwd, log_dir=self.log_dir)
        self.started.append(process)
        return process

    def run(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run a command to its end (a CLI call); its output is kept in the log directory too."""
        try:
            done = subprocess.run(
                argv,
                env={**self.base_env, **(env or {})},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as error:
            raise NotReady(
                f"`{' '.join(argv)}` did not finish within {timeout} s:\n{error.stdout}\n{error.stderr}"
            ) from None
        (self.log_dir / f"{name}.log").write_text(
            f"$ {' '.join(argv)}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
        if check and done.returncode != 0:
            raise NotReady(f"`{' '.join(argv)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def report(self) -> str:
        return "\n".join(p.describe() for p in self.started)

    def stop_all(self) -> list[int]:
        """Stop every process (newest first); returns the pids that had to be killed afterwards."""
        for process in reversed(self.started):
            process.stop()
        leftovers = marked_pids(self.mark)
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return leftovers


def wait_until(
    condition: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    processes: Processes | None = None,
    interval: float = 0.5,
) -> Any:
    """Poll `condition` until it returns something truthy; NotReady with every process's output otherwise.

    A process of `processes` that exits meanwhile (all of them are meant to run until the test
    stops them) ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
        except (httpx.HTTPError, OSError) as error:
            value, last_error = None, error
        if value:
            return value
        dead = [p for p in (processes.started if processes else []) if not p.alive()]
        if dead or time.monotonic() > deadline:
            reason = f"{', '.join(p.name for p in dead)} exited" if dead else f"not within {timeout:.0f} s"
            detail = f" (last error: {type(last_error).__name__}: {last_error})" if last_error else ""
            raise NotReady(f"{what}: {reason}{detail}\n{processes.report() if processes else ''}")
        time.sleep(interval)


def healthy(url: str) -> bool:
    return httpx.get(url, timeout=5).status_code == 200


class PrefectAPI:
    """The few Prefect REST calls the tests read with (plain HTTP, no client settings involved)."""

    def __init__(self, api_url: str):
        self.url = api_url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> Any:
        answer = self.http.get(path)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict) -> Any:
        answer = self.http.post(path, json=body)
        answer.raise_for_status()
        return answer.json()

    def deployment(self, name: str) -> dict | None:
        answer = self.http.get(f"/deployments/name/{name}")
        return answer.json() if answer.status_code == 200 else None

    def flow_run(self, flow_run_id: str) -> dict:
        return self.get(f"/flow_runs/{flow_run_id}")

    def flow_runs(self, deployment_id: str) -> list[dict]:
        runs, offset = [], 0
        while True:
            page = self.post(
                "/flow_runs/filter",
                {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "limit": 200, "offset": offset},
            )
            runs += page
            if len(page) < 200:
                return runs
            offset += 200

    def artifacts(self, key: str) -> list[dict]:
        return self.post("/artifacts/filter", {"artifacts": {"key": {"any_": [key]}}})

    def events(self, name_prefix: str) -> list[dict]:
        """Every stored event whose name starts with `name_prefix` (follows the API's pages)."""
        from datetime import datetime, timedelta

        since = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        page = self.post(
            "/events/filter",
            {"filter": {"event": {"prefix": [name_prefix]}, "occurred": {"since": since}}, "limit": 50},
        )
        events = list(page.get("events", []))
        while page.get("next_page"):
            page = httpx.get(page["next_page"], timeout=30).json()
            events += page.get("events", [])
        return events


def signed_delivery(base_url: str, secret: str, submission: dict, delivery_id: str) -> httpx.Response:
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    body = json.dumps(submission).encode()
    headers = {"content-type": "application/json", DELIVERY_HEADER: delivery_id, HEADER: sign(secret, body)}
    return httpx.post(f"{base_url}/webhooks/submissions", content=body, headers=headers, timeout=60)
