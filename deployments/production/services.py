"""One process of the production layout: started, watched, killed and started again.

Each process runs in a session of its own with its output in `<dir>/logs/<name>.log`. `kill`
sends a signal to the process and to every process it started (a worker's flow-run processes run
in sessions of their own, so a process group is not enough): that is what a lost container or a
`kill -9` of the host's process does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class NotReady(RuntimeError):
    """A process did not become healthy in time; the message quotes the end of its log."""


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, children first (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    queue = list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue += children.get(child, [])
    return found


def environ_of(pid: int) -> dict[str, str]:
    """A live process's environment ({} once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (entry.decode(errors="replace").partition("=") for entry in raw.split(b"\0") if entry)
    return {name: value for name, _, value in pairs}


def marked(name: str, value: str) -> list[int]:
    """Live processes (but this one) whose environment holds `name=value` (children inherit it)."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [pid for pid in pids if pid != os.getpid() and environ_of(pid).get(name) == value]


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    """A loopback port nothing listens on now (the layout's processes bind it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Service:
    """A long-running process of the layout: `argv` under `env`, ready once `ready()` holds."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    cwd: Path
    ready: Callable[[], bool] | None = None
    user: str | None = None  # run as this user (PostgreSQL refuses to run as root)
    popen: subprocess.Popen | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> Service:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.user,
                group=self.user,
            )
        self.starts += 1
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise NotReady(f"{self.name} exited with {self.popen and self.popen.returncode}\n{self.tail()}")
            if self.ready is None or self.ready():
                return
            if time.monotonic() > deadline:
                raise NotReady(f"{self.name} was not ready within {timeout:.0f} s\n{self.tail()}")
            time.sleep(0.5)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """`sig` to the process and everything it started (children first when killing)."""
        if not self.alive():
            return
        for pid in descendants(self.pid) + [self.pid]:
            _signal(pid, sig)
        if sig == signal.SIGKILL:
            assert self.popen is not None
            self.popen.wait(30)

    def stop(self, timeout: float = 20) -> None:
        """A clean stop (SIGTERM, or SIGINT for PostgreSQL's fast shutdown), then SIGKILL."""
        if not self.alive():
            return
        assert self.popen is not None
        below = descendants(self.pid)
        _signal(self.pid, signal.SIGINT if self.user else signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        for pid in below:
            _signal(pid, signal.SIGKILL)

    def tail(self, chars: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-chars:]
