"""Serving a sample partner: blocking (`serve`), in a background thread for tests (`running`), or in
a process of its own for timing tests (`running_apart`)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from partner_review.partners.app import app


def serve(behaviour: str = "conformant", host: str = "127.0.0.1", port: int = 8765, **options: Any) -> None:
    """Serve a sample partner until interrupted (the `sample-partner` command)."""
    uvicorn.run(app(behaviour, **options), host=host, port=port, log_level="info", lifespan="off")


@contextlib.contextmanager
def in_thread(application: Any, *, host: str, name: str, **config: Any) -> Iterator[int]:
    """Serve an ASGI app with uvicorn on a free `host` port in a background thread; yields the port.

    The server is stopped and its thread joined on exit. `config` goes to uvicorn (e.g. TLS files).
    """
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every answer waits ~40 ms for a delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",  # the sample apps have nothing to start or stop
            loop="asyncio",
            timeout_graceful_shutdown=2,
            **config,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start on {host}:{port}")
            time.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def running(behaviour: str = "conformant", *, host: str = "127.0.0.1", **options: Any) -> Iterator[str]:
    """Run a sample partner on a free 127.0.0.1 port in a background thread; yields its base URL.

    Tests observe the partner through HTTP (its read-back endpoint), as the review does.
    """
    with in_thread(app(behaviour, **options), host=host, name=f"sample partner {behaviour!r}") as port:
        yield f"http://{host}:{port}"


@contextlib.contextmanager
def running_apart(behaviour: str = "conformant", *, host: str = "127.0.0.1") -> Iterator[str]:
    """Like `running`, but the partner runs in a child process: for tests that time the partner's
    answers, where a server sharing this process (and its GIL) would add its own delays to them."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    code = f"from partner_review.partners.server import serve; serve({behaviour!r}, {host!r}, {port})"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
                break
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sample partner {behaviour!r} did not start on {host}:{port}")
            time.sleep(0.05)
        yield f"http://{host}:{port}"
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
