"""Fault tests: real processes killed, a real API refusing connections, a real database refusing
them. Fixtures for the sample partner, the example and the SQLite store are the flow tests' own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from partner_review.webhooks.server import free_port
from tests.conftest import ROOT
from tests.flows.conftest import *  # noqa: F401,F403  the flow tests' partner, site, example and store fixtures


class Receiver:
    """`webhooks.app:app` under uvicorn in a child process of its own."""

    def __init__(self, environ: dict[str, str], log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = open(log, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "partner_review.webhooks.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=environ,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the receiver exited with {self.process.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the receiver did not become healthy:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no cleanup, as when a machine or container dies."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._out.close()


def child_environ(**settings: str) -> dict[str, str]:
    """This process's environment without Prefect or partner-review settings, plus `settings`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PARTNER_REVIEW_"))}
    environ.update(
        {
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    environ.update(settings)
    return environ


@pytest.fixture
def receivers(tmp_path) -> Iterator:
    """Start receivers in child processes (`start(**settings)`); every one is stopped at the end."""
    started: list[Receiver] = []

    def start(**settings: str) -> Receiver:
        receiver = Receiver(child_environ(**settings), tmp_path / f"receiver-{len(started)}.log")
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


class Proxy:
    """A loopback TCP port that refuses connections until `up()`, then forwards them to a target.

    Down means nothing listens on the port (the client sees ECONNREFUSED, as when an API process
    is stopped); up means a listener that relays bytes both ways to the real target."""

    def __init__(self, target_port: int):
        self.port = free_port()
        self.target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="proxy", daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader, client_writer) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self._relay(client_reader, target_writer), self._relay(target_reader, client_writer))

    def up(self) -> None:
        async def start():
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)

    def close(self) -> None:
        async def stop():
            if self._server:
                self._server.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def wait_until(condition, what: str, timeout: float = 120, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
