"""The garbage collector's full passes, kept off the partner's clock and off the receiver's answers.

A full (generation 2) pass scans every object the process holds, with the GIL held. A process
that has imported the receiver or Prefect holds hundreds of thousands of objects, and a large
request (a 10,000-record activity batch) or a large submission in memory triggers such passes:
measured here, 40-115 ms each, which lands on the load test's latency figures and on every
request answered meanwhile. Frozen objects (`gc.freeze`) are left out of those passes; reference
counting still frees them, and only garbage in reference cycles among them waits.

- `pin()`: a server, once started, freezes what exists (its modules and schemas live as long as
  it does), for good.
- `frozen()`: a load test freezes what is alive when it starts, until it ends; with several at
  once, the last to end unfreezes, unless a server has pinned (its objects must stay frozen).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()  # load tests run on several threads (the receiver's local reviews)
_holds = 0
_pinned = False


def pin() -> None:
    """Freeze everything alive now for the rest of the process."""
    global _pinned
    with _lock:
        gc.freeze()
        _pinned = True


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """Everything alive now is left out of full passes until the block ends."""
    global _holds
    with _lock:
        if _holds == 0:
            gc.freeze()
        _holds += 1
    try:
        yield
    finally:
        with _lock:
            _holds -= 1
            if _holds == 0 and not _pinned:
                gc.unfreeze()
