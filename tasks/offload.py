"""CPU-bound check work in worker processes, off the event loop that times the partner.

The review's stages share one event loop, and on it e2e and the load test time every request
from when it was due: whatever holds the loop lands on the partner as latency. A worker thread is
not enough: resvg, the regex engine, expat and the C pickler hold the GIL for a whole call, so a
thread still stalls the loop for as long as its longest such call (the tile of a 1 MiB logo held
it 180 ms, linting a 127 KiB page 66 ms). With the heavy logo, page and 10,000 sample events of
tests/e2e/heavy.py started 0.5 s into a load test, its p99 rose by 0.6-1.3 s with the work on the
loop, by 0.15-0.8 s with it in threads, and by under 0.1 s with it in these processes
(bench/offload.py, tests/e2e/test_heavy_review.py). So SVG
analysis and the tile, the docs linter (and its link extraction) and Spec validation run here:

    await offload.run(fn, *args, **kwargs)  # fn importable by name; arguments and result picklable
    offload.warm()                          # start the workers now (run_checks does, before e2e)

One pool for the process, created on first use with the `spawn` start method (forking a process
that runs threads is unsafe): one worker per CPU up to four, each at a lower priority (nice 5) so
the loop and the partner come first on a busy machine. A worker starts in ~0.3 s and imports
only the modules of the functions it runs, plus whatever module `__main__` is (as every spawned
process does: under `python -m prefect.engine` that is Prefect, ~1 s more, once). Each call
carries the caller's settings, which the worker adopts (`models.settings.adopt_settings`), so a
worker started before a setting changed computes with the caller's. A worker that dies (killed,
out of memory, a crashing library) breaks the pool: the call is retried once on a fresh pool,
then `OffloadFailed` is raised. A caller that is cancelled stops waiting; a call already running
finishes in its worker. Workers end with the process that started them, even when it is killed.

Pickling the arguments holds the GIL too: send what the work needs (the Spec stage sends its
events 500 at a time, catalog and docs a submission without its sample events).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

from partner_review.models.settings import Settings, adopt_settings, given_or_current

P = ParamSpec("P")
T = TypeVar("T")

MAX_WORKERS = 4
WORKER_NICENESS = 5

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


class OffloadFailed(RuntimeError):
    """A worker process died twice running this call (killed, out of memory, a crashing library)."""


def workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def executor() -> ProcessPoolExecutor:
    """The one shared pool (created on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                workers(), mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
            )
        return _pool


def _replace(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the workers and release the pool's queues, for a process about to leave with
    `os._exit` (which skips the interpreter's own clean-up: the resource tracker would then report
    the pool's semaphores as leaked)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def warm() -> list[Future[None]]:
    """Start every worker now, so that neither their start (on the caller's thread) nor their
    imports fall in the middle of a measurement. Returns the futures of the no-op calls."""
    pool = executor()
    try:
        return [pool.submit(_ready) for _ in range(workers())]
    except BrokenProcessPool:  # a worker died since the last call (killed while idle): start afresh
        _replace(pool)
        return warm()


def _ready() -> None:
    pass


def _start_worker() -> None:
    """A worker yields the CPU to the process it works for (on a busy machine the loop that sends
    the load and times the answers runs first, the analysis after), and ends with it: a review
    process that is killed (SIGKILL, out of memory) leaves no idle workers behind."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), name="offload-parent", daemon=True).start()


def _end_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])  # ready once the parent has exited, however it exited
    os._exit(0)


def _call(settings: Settings, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """In the worker: the caller's settings, then the work."""
    adopt_settings(settings)
    return fn(*args, **kwargs)


async def run(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in a worker process under this process's settings (see `run_as`)."""
    return await run_as(None, fn, *args, **kwargs)


async def run_as(settings: Settings | None, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in a worker process that adopts the caller's `settings`; its result (or
    its exception) here."""
    loop = asyncio.get_running_loop()
    job = functools.partial(_call, given_or_current(settings), fn, args, kwargs)
    for attempt in (1, 2):
        pool = executor()
        try:
            return await loop.run_in_executor(pool, job)
        except BrokenProcessPool as exc:
            _replace(pool)
            if attempt == 2:
                name = getattr(fn, "__qualname__", repr(fn))
                raise OffloadFailed(f"a worker process died twice running {name}: {exc}") from exc
    raise AssertionError("unreachable")
