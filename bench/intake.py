"""Benchmark: the webhook receiver's intake under an open-loop stream of signed deliveries.

    .venv/bin/python bench/intake.py [--rate 200] [--seconds 10] [--redeliveries 0.1] [--engines sqlite,postgresql]
                                     [--workers 1]

The receiver (`webhooks.app:app`) runs under uvicorn in a child process, once on a fresh SQLite
file and once on a fresh PostgreSQL database (PARTNER_REVIEW_BENCH_POSTGRES_URL or
PARTNER_REVIEW_TEST_POSTGRES_URL; the benchmark creates its own database and drops it after).
Dispatch is `off`: the dispatch row is still written in the intake transaction (that is part of
intake), but nothing reads the outbox, so the figures are the receiver's alone. `deployment`
against an unreachable API would add the dispatcher's retry pass (a failed create_flow_run and a
`dispatch_failed` write per pending row every interval) competing for the same write lock: that
measures the dispatcher's failure loop, not intake.

Open loop: delivery i is sent at t0 + i/rate whatever happened to earlier ones, and its latency is
counted from that intended time (a stalled receiver cannot hide queueing); a send still
unanswered 300 s after the last one is given up and counts as unanswered (-1) with that time. A share of the sends
are redeliveries of an earlier delivery id (same body, fresh signature), as a sender retrying
after a lost answer would. Afterwards the store is read directly:
- lost: a delivery answered 2xx whose id is not in `deliveries` (must be 0);
- duplicates: more than one submission or dispatch row for a delivery id, or more than one
  submission per app (must be 0).
Last line: `headline: intake p99 at 200/s (sqlite) = <ms> ms (goal < 50 ms)`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-intake-webhook-secret"
GOAL_MS = 50.0


# The receiver (child process: `intake.py --serve`) ----------------------------------------------


def serve(workers: int = 1) -> None:
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config("partner_review.webhooks.app:app", log_level="warning", access_log=False, workers=workers)
    if workers > 1:  # uvicorn's own supervisor: worker processes sharing the one listening socket
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


class Receiver:
    def __init__(self, environ: dict[str, str], workers: int = 1):
        self.environ = environ
        self.workers = workers

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--workers", str(self.workers)],
            cwd=ROOT,
            env=self.environ,
            stdout=subprocess.PIPE,
            text=True,
        )
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError("the receiver did not start")
        return f"http://127.0.0.1:{port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time the receiver and its worker processes have used (Linux /proc)."""

        def tree(pid: int) -> list[int]:
            children: list[int] = []
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                children += [int(c) for c in task.read_text().split()]
            return [pid, *(p for child in children for p in tree(child))]

        try:
            total = 0
            for pid in tree(self.process.pid):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            return total / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


# The load --------------------------------------------------------------------------------------


def bodies(count: int, tag: str) -> list[bytes]:
    """`count` distinct submissions (one app each, so none conflicts with another)."""
    example = json.loads((ROOT / "examples" / "submission.json").read_text())
    out = []
    for i in range(count):
        example["app"]["slug"] = f"bench-{tag}-{i}"
        example["app"]["name"] = f"Bench {tag} {i}"
        out.append(json.dumps(example).encode())
    return out


def plan(count: int, redelivery_share: float, seed: int = 7) -> list[int]:
    """For each send, the index of the delivery it carries: new ones in order, redeliveries of an
    earlier one (sent at least 20 sends before, usually answered by then, sometimes not)."""
    rng = random.Random(seed)
    sends, fresh = [], 0
    for _ in range(count):
        if fresh > 20 and rng.random() < redelivery_share:
            sends.append(rng.randrange(0, fresh - 20 + 1))
        else:
            sends.append(fresh)
            fresh += 1
    return sends


async def drive(base: str, payloads: list[bytes], delivery_ids: list[str], sends: list[int], rate: float):
    """Send open loop with aiohttp. (httpx's connection pool costs the sender O(pending) CPU per
    request: at 200/s with a backlog it became the bottleneck and measured itself, not the receiver.)"""
    import aiohttp

    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    results: list[tuple[int, int, float]] = []  # (delivery index, status or -1, latency ms)
    transport_errors: Counter = Counter()
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(base_url=base, connector=connector, timeout=timeout) as client:

        async def one(index: int, due: float) -> None:
            body = payloads[index]
            headers = {
                "content-type": "application/json",
                DELIVERY_HEADER: delivery_ids[index],
                HEADER: sign(SECRET, body),
            }
            status = -1
            try:
                async with client.post("/webhooks/submissions", data=body, headers=headers) as answer:
                    await answer.read()
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError) as error:
                transport_errors[type(error).__name__] += 1
            finally:
                results.append((index, status, (time.perf_counter() - due) * 1000))

        tasks = []
        t0 = time.perf_counter() + 0.05
        for n, index in enumerate(sends):
            due = t0 + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, due)))
        sending = time.perf_counter() - t0
        # Bounded: whatever is not answered 300 s after the last send is cancelled and counted as
        # unanswered (-1), so an overloaded receiver ends the run instead of hanging it.
        _, late = await asyncio.wait(tasks, timeout=300)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        total = time.perf_counter() - t0
    return results, sending, total, transport_errors


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def audit(url: str, answered_2xx: set[str]) -> dict[str, int]:
    """What the store holds, read directly with SQL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = {r[0] for r in conn.execute(text("SELECT id FROM deliveries WHERE endpoint = 'submissions'"))}
            submissions = conn.execute(text("SELECT count(*) FROM submissions")).scalar_one()
            per_app = conn.execute(
                text("SELECT count(*) FROM (SELECT app_id FROM submissions GROUP BY app_id HAVING count(*) > 1) x")
            ).scalar_one()
            dispatch_dupes = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT delivery_id FROM outbox GROUP BY delivery_endpoint, delivery_id HAVING count(*) > 1) x"
                )
            ).scalar_one()
            dispatches = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    finally:
        engine.dispose()
    return {
        "lost": len(answered_2xx - stored),
        "deliveries": len(stored),
        "submissions": submissions,
        "dispatches": dispatches,
        "apps_with_two_submissions": per_app,
        "delivery_ids_with_two_dispatches": dispatch_dupes,
        "extra_submissions": submissions - len(stored),
        "extra_dispatches": dispatches - len(stored),
    }


def postgres_database(admin_url: str):
    """A fresh database of the benchmark's own and a function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"pr_bench_intake_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


async def activity_burst(base: str, tag: str, records: int = 10_000) -> dict:
    """One activity request of `records` records, and 20 submissions sent at 200/s while it runs:
    how long the batch takes and how long the submissions wait meanwhile."""
    import aiohttp

    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    batch = json.dumps(
        [
            {
                "app": f"bench-{tag}-0",
                "workspace_id": f"ws-{i % 500}",
                "day": f"2026-10-{1 + i // 500:02d}",
                "events_delivered": i,
            }
            for i in range(records)
        ]
    ).encode()
    submissions = bodies(20, tag + "a")

    async with aiohttp.ClientSession(base_url=base) as client:

        async def post(path: str, body: bytes, delivery: str) -> tuple[int, float]:
            started = time.perf_counter()
            headers = {"content-type": "application/json", DELIVERY_HEADER: delivery, HEADER: sign(SECRET, body)}
            async with client.post(path, data=body, headers=headers) as answer:
                await answer.read()
                return answer.status, 1000 * (time.perf_counter() - started)

        activity = asyncio.create_task(post("/webhooks/activity", batch, f"activity-{tag}"))
        during = []
        for i, body in enumerate(submissions):
            await asyncio.sleep(0.005)
            during.append(asyncio.create_task(post("/webhooks/submissions", body, f"during-{tag}-{i}")))
        status, took = await activity
        answers = await asyncio.gather(*during)
    return {
        "activity_status": status,
        "activity_ms": took,
        "submission_statuses": dict(Counter(s for s, _ in answers)),
        "submission_max_ms": max(ms for _, ms in answers),
    }


def run_engine(engine: str, args, workdir: Path) -> dict:
    import httpx

    drop = None
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PARTNER_REVIEW_")}
    environ.update(
        {
            "PARTNER_REVIEW_WEBHOOK_SECRET": SECRET,
            "PARTNER_REVIEW_DISPATCH": "off",
            "PARTNER_REVIEW_DATA_DIR": str(workdir / engine),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    if engine == "postgresql":
        admin = os.environ.get("PARTNER_REVIEW_BENCH_POSTGRES_URL") or os.environ.get(
            "PARTNER_REVIEW_TEST_POSTGRES_URL"
        )
        if not admin:
            return {
                "skipped": "set PARTNER_REVIEW_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
            }
        url, drop = postgres_database(admin)
    else:
        url = f"sqlite:///{workdir / engine / 'partner-review.db'}"
    environ["PARTNER_REVIEW_DATABASE_URL"] = url
    count = int(args.rate * args.seconds)
    sends = plan(count, args.redeliveries)
    fresh = max(sends) + 1
    tag = uuid.uuid4().hex[:6]
    payloads = bodies(fresh, tag)
    delivery_ids = [f"bench-{tag}-{i}" for i in range(fresh)]
    try:
        receiver = Receiver(environ, workers=args.workers)
        with receiver as base:
            assert httpx.get(f"{base}/healthz", timeout=120).status_code == 200  # migrates the store
            warm = bodies(20, tag + "w")
            asyncio.run(drive(base, warm, [f"warm-{tag}-{i}" for i in range(20)], list(range(20)), 50))
            cpu_before = receiver.cpu_seconds()
            results, sending, total, transport_errors = asyncio.run(
                drive(base, payloads, delivery_ids, sends, args.rate)
            )
            cpu = receiver.cpu_seconds() - cpu_before
            burst = asyncio.run(activity_burst(base, tag))
        answered_2xx = {delivery_ids[i] for i, status, _ in results if 200 <= status < 300}
        burst_ids = {f"during-{tag}-{i}" for i in range(20)} if burst["submission_statuses"].get(202) == 20 else set()
        found = audit(url, answered_2xx | {f"warm-{tag}-{i}" for i in range(20)} | burst_ids)
    finally:
        if drop:
            drop()
    latencies = [ms for _, _, ms in results]  # unanswered sends count with the time they were given up at
    statuses = Counter(status for _, status, _ in results)
    repeats = len(sends) - len(set(sends))
    return {
        "transport_errors": dict(transport_errors),
        "sent": len(sends),
        "redeliveries": repeats,
        "fresh": fresh,
        "statuses": dict(statuses),
        "sending_s": sending,
        "total_s": total,
        "rate": sum(1 for _, s, _ in results if s >= 0) / total,
        "cpu_ms": 1000 * cpu / len(sends),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        **found,
        "new_submissions_expected": fresh + 40,  # + 20 warm-up, + 20 during the activity burst
        **burst,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--redeliveries", type=float, default=0.10)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the receiver")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.workers)
        return 0
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the receiver child on `kill`
    if args.rate * args.seconds > 20_000:
        parser.error("at most 20,000 deliveries per engine")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    print(
        f"receiver under uvicorn in a child process ({args.workers} worker process(es)), dispatch off; open loop {args.rate:g}/s for {args.seconds:g} s, "
        f"{args.redeliveries:.0%} redeliveries, body {len(bodies(1, 'x')[0]):,} bytes; "
        f"latency from the intended send time; {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    headline = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as workdir:
        for engine in engines:
            r = run_engine(engine, args, Path(workdir))
            if "skipped" in r:
                print(f"{engine:10}  skipped: {r['skipped']}")
                continue
            headline[engine] = r["p99"]
            print(
                f"{engine:10}  {r['rate']:6.1f} deliveries/s answered ({r['sent']} sent in {r['sending_s']:.2f} s, "
                f"all answered after {r['total_s']:.2f} s; {r['redeliveries']} redeliveries); "
                f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms; statuses {r['statuses']}; "
                f"receiver CPU {r['cpu_ms']:.1f} ms per delivery"
            )
            print(
                f"{'':10}  store: {r['deliveries']} deliveries, {r['submissions']} submissions, {r['dispatches']} "
                f"dispatch rows ({r['new_submissions_expected']} distinct delivery ids sent); lost {r['lost']}; duplicate "
                f"submissions {r['extra_submissions'] + r['apps_with_two_submissions']}, duplicate dispatch rows "
                f"{r['extra_dispatches'] + r['delivery_ids_with_two_dispatches']}"
            )
            print(
                f"{'':10}  activity: one request of 10,000 records answered {r['activity_status']} in "
                f"{r['activity_ms']:.0f} ms; 20 submissions sent meanwhile: {r['submission_statuses']}, "
                f"slowest answered in {r['submission_max_ms']:.1f} ms (goal < 100 ms)"
            )
            refused = {s: n for s, n in r["statuses"].items() if s not in (200, 202)}
            if refused:
                print(
                    f"{'':10}  answers other than 200/202 (-1: no answer; transport errors "
                    f"{r['transport_errors'] or 'none'}, the rest given up after 300 s): {refused}"
                )
            if (
                r["lost"]
                or r["extra_submissions"]
                or r["extra_dispatches"]
                or r["apps_with_two_submissions"]
                or r["delivery_ids_with_two_dispatches"]
                or refused
            ):
                failed = True
                print(f"{'':10}  FAILED: a delivery was lost, doubled or refused")
    first = "sqlite" if "sqlite" in headline else next(iter(headline), None)
    if len(headline) > 1:
        print("p99 per engine: " + ", ".join(f"{e} {v:.1f} ms" for e, v in headline.items()))
    value = f"{headline[first]:.1f} ms" if first else "n/a"
    print(f"headline: intake p99 at {args.rate:g}/s ({first}) = {value} (goal < {GOAL_MS:g} ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
