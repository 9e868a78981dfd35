"""The receiver under uvicorn in a background thread (the demo, tests and benchmarks)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

# The receiver's HTTP protocol: uvicorn's h11 with a head timeout and a chunk bound (webhooks/protocol.py).
PROTOCOL = "partner_review.webhooks.protocol:GuardedH11Protocol"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(port: int | None = None) -> Iterator[str]:
    """Serve `webhooks.app:app` on 127.0.0.1 and yield its base URL; stops on exit."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            "partner_review.webhooks.app:app", host="127.0.0.1", port=port, log_level="warning", http=PROTOCOL
        )
    )
    thread = threading.Thread(target=server.run, name="receiver", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the receiver did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
