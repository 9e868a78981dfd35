"""Several load processes: the schedule interleaved across spawned processes, histograms merged."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from typing import Any

from partner_review.tasks.volume.engine import SHARED, Run
from partner_review.tasks.volume.plan import PROGRESS_INTERVAL, START_GRACE, LoadProcessFailed, Measurement, Plan


def _child(plan: Plan, index: int, counters: Any, ready: Any, start: Any, results: Any) -> None:
    """One load process: say it is ready, wait for the common start, run its slots, send results."""

    async def main() -> Measurement:
        import aiohttp  # noqa: F401  (import before reporting ready, so the start is not late)

        ready[index] = 1
        while start.value == 0.0:
            await asyncio.sleep(0.002)
        loop = asyncio.get_running_loop()
        start_at = loop.time() + (start.value - time.time())
        return await Run(plan, index, counters).run(start_at)

    try:
        results.send(("ok", asyncio.run(main()).to_dict()))
    except BaseException as exc:  # the parent must hear about any failure, not wait for a result
        results.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        results.close()


async def run_split(plan: Plan, on_tick: Callable[[int, dict[str, Any]], Awaitable[None]] | None) -> Measurement:
    ctx = multiprocessing.get_context("spawn")
    n = plan.processes
    counters = ctx.RawArray("q", n * len(SHARED))
    ready = ctx.RawArray("b", n)
    start = ctx.RawValue("d", 0.0)
    pipes, children = [], []
    try:
        for index in range(n):
            receive, send = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_child, args=(plan, index, counters, ready, start, send), daemon=True)
            child.start()
            send.close()
            pipes.append(receive)
            children.append(child)
        setup_deadline = time.monotonic() + 30.0
        while sum(ready) < n:
            if time.monotonic() > setup_deadline or not all(c.is_alive() for c in children):
                raise LoadProcessFailed("a load process did not start (see its error output)")
            await asyncio.sleep(0.01)
        start.value = time.time() + START_GRACE
        deadline = time.monotonic() + START_GRACE + plan.duration + plan.timeout + 10.0
        results: dict[int, Measurement] = {}
        while len(results) < n:
            for index, pipe in enumerate(pipes):
                if index not in results and pipe.poll():
                    try:
                        status, payload = pipe.recv()
                    except EOFError:  # it died without a word (killed, out of memory...)
                        raise LoadProcessFailed(f"load process {index} exited without a result") from None
                    if status != "ok":
                        raise LoadProcessFailed(f"load process {index} failed: {payload}")
                    results[index] = Measurement.from_dict(payload)
            if on_tick is not None:
                totals = [sum(counters[i * len(SHARED) + k] for i in range(n)) for k in range(len(SHARED))]
                await on_tick(totals[0], dict(zip(SHARED, totals)))
            if len(results) < n:
                if time.monotonic() > deadline:
                    raise LoadProcessFailed("a load process did not finish in time")
                await asyncio.sleep(PROGRESS_INTERVAL if on_tick else 0.02)
    finally:
        for child in children:
            child.join(timeout=2.0)
            if child.is_alive():
                child.terminate()
                child.join(timeout=2.0)
        for pipe in pipes:
            pipe.close()
    merged = Measurement()
    for index in sorted(results):
        merged.merge(results[index])
    return merged
