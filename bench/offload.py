"""Benchmark: a load test's latency while a heavy review's CPU work runs on the loop, in a thread,
or in the worker processes of tasks/offload.py (what the review does).

    .venv/bin/python bench/offload.py [--rounds 3] [--rate 100] [--duration 8] [--modes baseline,loop,thread,process]

Each round runs one load test per mode against the conformant sample partner in its own process.
In every mode but `baseline`, the catalog, spec and docs stages of a heavy but legal submission
(tests/e2e/heavy.py: a 1 MiB logo, a 127 KiB doc page, 10,000 sample events) start 0.5 s into
the load. `loop` replaces the offload with a direct call, `thread` with asyncio.to_thread (what
the review did before). Per run: the load's p99 and max latency from each request's due time,
the longest the event loop went without running a 5 ms ticker, the longest full garbage
collection, and how long the heavy work took. The headline is the worst excess of the offloaded
run's p99 over the same round's baseline (goal: under 150 ms, the margin
tests/e2e/test_heavy_review.py allows), beside the same excess on the loop and in a thread.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("baseline", "loop", "thread", "process")
os.environ.setdefault("PARTNER_REVIEW_ALLOWED_NETWORKS", "127.0.0.0/8")  # the partner runs on loopback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    modes = ["baseline"] + [m for m in args.modes.split(",") if m and m != "baseline"]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)} (of {', '.join(MODES)})")
    asyncio.run(bench(modes, args.rounds, args.rate, args.duration))


async def bench(modes: list[str], rounds: int, rate: float, duration: float) -> None:
    from partner_review.models.submission import parse_submission
    from partner_review.partners import running_apart
    from partner_review.tasks import offload
    from tests.e2e.heavy import loaded, make_heavy

    offloaded = offload.run

    async def on_loop(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    async def in_thread(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    runners = {"baseline": offloaded, "loop": on_loop, "thread": in_thread, "process": offloaded}
    pauses: list[float] = []
    base_p99 = 0.0

    def collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collected.began = time.perf_counter()  # type: ignore[attr-defined]
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - collected.began)  # type: ignore[attr-defined]

    example = json.loads((ROOT / "examples" / "submission.json").read_text())
    worst: dict[str, float] = {}  # per mode: the worst p99 over the round's baseline
    with running_apart("conformant") as base:
        destination = next(c for c in example["components"] if c["type"] == "destination")
        destination["endpoint"] = f"{base}/v1/events"
        destination.pop("batch_endpoint", None)
        submission = parse_submission(make_heavy(example))
        await asyncio.gather(*(asyncio.wrap_future(f) for f in offload.warm()))
        gc.callbacks.append(collected)
        for round_ in range(1, rounds + 1):
            for mode in modes:
                offload.run = runners[mode]  # type: ignore[assignment]
                pauses.clear()
                try:
                    run = await loaded(submission, heavy=mode != "baseline", rate=rate, duration=duration)
                finally:
                    offload.run = offloaded  # type: ignore[assignment]
                lat = run.latency
                if mode == "baseline":
                    base_p99 = lat["p99"]
                else:
                    worst[mode] = max(worst.get(mode, -1.0), lat["p99"] - base_p99)
                took = f"heavy work {run.ended - run.started:4.1f} s" if mode != "baseline" else ""
                print(
                    f"round {round_} {mode:8}  p99 {lat['p99'] * 1000:7.1f} ms  max {lat['max'] * 1000:7.1f} ms  "
                    f"loop gap {run.loop_gap * 1000:6.1f} ms  full gc {max(pauses, default=0) * 1000:5.1f} ms  {took}",
                    flush=True,
                )
    others = ", ".join(f"{m} {worst[m] * 1000:+.0f} ms" for m in worst if m != "process")
    if "process" in worst:
        print(f"headline: offloaded p99 over baseline = {worst['process'] * 1000:+.0f} ms (goal < 150 ms); {others}")
    else:
        print(f"headline: p99 over baseline: {others}")


if __name__ == "__main__":
    main()
