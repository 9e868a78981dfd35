"""Benchmark: `health` and `check-health` on a store the size of a busy program.

    .venv/bin/python bench/health.py [--workspaces 1000] [--days 365] [--apps 50] [--results 100000]
                                     [--engines sqlite,postgresql] [--postgres URL] [--repeat 5]

The store: `--apps` apps, each used by `--workspaces` workspaces on each of `--days` days (one
activity row per app, workspace and day: 50 x 1,000 x 365 = 18,250,000 rows by default), and
`--results` check results in runs of 50 checks spread over the same year, on successive versions
of the apps. Rows are generated inside the database (a recursive CTE on SQLite,
generate_series on PostgreSQL), so building the store costs the database's time only.

Each engine: the schema at head, then migration 0008's indexes dropped, the data loaded, the
queries timed (the reference: the indexes every earlier migration made), the indexes created
again (timed) and the queries timed once more. A query's figure is the median of `--repeat` runs
of the code the command runs (`health_of`, `check_health`). PostgreSQL: --postgres or
PARTNER_REVIEW_TEST_POSTGRES_URL; the benchmark creates its own database and drops it after.
Last line: `headline: slowest of health and check-health, with indexes = <s> s (goal < 1 s)`, over
the commands as run by default (`health SLUG`: 30 days; `check-health` with and without --since);
the 365-day window is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_S = 1.0
CHECKS_PER_RUN = 50
INDEXES = {
    "ix_activity_app_day": "activity (app_id, day, workspace_id, events_delivered, events_failed)",
    "ix_runs_started_at": "runs (started_at)",
    "ix_results_run_check": "results (run_id, check_id, outcome, stage)",
}
TODAY = date(2026, 12, 6)
# A result's text as the pipeline stores it: a sentence and evidence with a request and response.
MESSAGE = "the endpoint answered 200 to the batch request within 412 ms; every event was accepted" * 2
EVIDENCE = {
    "request": {"method": "POST", "url": "https://api.example.com/v1/batch"},
    "response": {"status": 200, "body": "x" * 400},
}

SQLITE_ACTIVITY = """
WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < :days - 1),
w(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM w WHERE n < :workspaces - 1)
INSERT INTO activity (app_id, workspace_id, day, events_delivered, events_failed, measured_at, received_at)
SELECT :app, 'ws-' || w.n, date(:first, '+' || d.n || ' days'), 90 + (w.n * 7 + d.n) % 20,
       (w.n + d.n * 3) % 7, NULL, :now
FROM w, d
"""
POSTGRES_ACTIVITY = """
INSERT INTO activity (app_id, workspace_id, day, events_delivered, events_failed, measured_at, received_at)
SELECT :app, 'ws-' || w, CAST(:first AS date) + d, 90 + (w * 7 + d) % 20, (w + d * 3) % 7, NULL, :now
FROM generate_series(0, :workspaces - 1) AS w, generate_series(0, :days - 1) AS d
"""


def log(message: str) -> None:
    print(message, flush=True)


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of this process (SQLite runs in it; PostgreSQL does not)."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), statistics.median(cpu)


def build(store, args) -> str:
    """Fill the store; returns the slug whose health is timed."""
    from sqlalchemy import insert, text

    from partner_review.models.db import AppRow, ResultRow, RunRow, SubmissionRow

    now = datetime.now(UTC)
    first = TODAY - timedelta(days=args.days - 1)
    engine = store.engine
    with engine.begin() as conn:
        conn.execute(insert(AppRow), [{"slug": f"app-{a:02d}", "name": f"App {a}"} for a in range(args.apps)])
    with engine.connect() as conn:
        app_ids = [row[0] for row in conn.execute(text("SELECT id FROM apps ORDER BY id"))]
    statement = text(POSTGRES_ACTIVITY if engine.dialect.name == "postgresql" else SQLITE_ACTIVITY)
    start = time.perf_counter()
    for app_id in app_ids:  # one transaction per app: short enough for SQLite's WAL
        with engine.begin() as conn:
            conn.execute(
                statement,
                {
                    "app": app_id,
                    "first": first.isoformat(),
                    "days": args.days,
                    "workspaces": args.workspaces,
                    "now": now,
                },
            )
    rows = args.apps * args.workspaces * args.days
    log(f"  activity: {rows:,} rows in {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    runs = args.results // CHECKS_PER_RUN
    versions_per_app = 5
    submissions = []
    for app_id in app_ids:
        for version in range(1, versions_per_app + 1):
            submissions.append(
                {
                    "id": str(uuid.uuid4()),
                    "app_id": app_id,
                    "version": version,
                    "state": "public" if version == versions_per_app else "changes_requested",
                    "payload": {},
                    "sealed_secrets": b"",
                    "received_at": now,
                    "ack_due_at": now,
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(SubmissionRow), submissions)
    run_rows, per_submission = [], max(1, runs // len(submissions))
    span = timedelta(days=args.days)
    for i in range(runs):
        s = submissions[(i // per_submission) % len(submissions)]
        at = (
            now
            - span
            + span * ((s["version"] - 1) * per_submission + i % per_submission) / (versions_per_app * per_submission)
        )
        run_rows.append(
            {
                "subject_kind": "submission",
                "subject_id": s["id"],
                "kind": "review",
                "status": "completed",
                "verdict": "pass",
                "started_at": at,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(RunRow), run_rows)
        run_ids = [r[0] for r in conn.execute(text("SELECT id FROM runs ORDER BY id"))]
    results = []
    for n, run_id in enumerate(run_ids):
        for c in range(CHECKS_PER_RUN):
            # Check 7 flips every other run; check c fails on a version's first runs when c divides it.
            outcome = "fail" if (c == 7 and n % 2) or (c > 0 and n % (c + 10) == 0) else "pass"
            results.append(
                {
                    "run_id": run_id,
                    "check_id": f"BEN-{c:03d}",
                    "stage": "catalog",
                    "severity": "blocker",
                    "outcome": outcome,
                    "message": MESSAGE,
                    "evidence": EVIDENCE,
                }
            )
    with engine.begin() as conn:
        for chunk in range(0, len(results), 10_000):
            conn.execute(insert(ResultRow), results[chunk : chunk + 10_000])
    log(f"  results: {len(results):,} in {len(run_ids):,} runs, in {time.perf_counter() - start:.1f} s")
    return "app-25" if args.apps > 25 else "app-00"


def measure(store, args, slug: str) -> dict[str, float]:
    from partner_review.tasks.health.delivery import health_of
    from partner_review.tasks.health.quality import check_health

    settings = store.settings
    since = datetime.combine(TODAY - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    figures = {
        "health (30 days)": timed(lambda: health_of(store, settings, slug, today=TODAY), args.repeat),
        "health (365 days)": timed(lambda: health_of(store, settings, slug, today=TODAY, days=365), args.repeat),
        "check-health (all)": timed(lambda: check_health(store, settings), args.repeat),
        "check-health (--since 30 days)": timed(lambda: check_health(store, settings, since=since), args.repeat),
    }
    for name, (seconds, cpu) in figures.items():
        log(f"    {name:32} {seconds * 1000:9.1f} ms  (cpu here {cpu * 1000:7.1f} ms)")
    log(f"    (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return {name: seconds for name, (seconds, _) in figures.items()}


def run_engine(url: str, args) -> dict[str, float]:
    from sqlalchemy import text

    from partner_review.models.settings import Settings
    from partner_review.models.store import Store

    store = Store(Settings(database_url=url), url=url)
    try:
        with store.engine.begin() as conn:
            for name in INDEXES:
                conn.execute(text(f"DROP INDEX {name}"))
        slug = build(store, args)
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        log("  reference (the indexes of migrations 0001-0006):")
        before = measure(store, args, slug)
        start = time.perf_counter()
        with store.engine.begin() as conn:
            for name, on in INDEXES.items():
                conn.execute(text(f"CREATE INDEX {name} ON {on}"))
            conn.execute(text("ANALYZE"))
        log(f"  migration 0008's indexes created in {time.perf_counter() - start:.1f} s")
        log("  with them:")
        after = measure(store, args, slug)
        for name in after:
            log(f"    {name:32} {before[name] / after[name]:6.1f}x faster")
        return {name: seconds for name, seconds in after.items() if name != "health (365 days)"}  # not a default
    finally:
        store.close()


def postgres_database(admin_url: str):
    """A fresh database on the server at `admin_url`: (its URL, a function that drops it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"partner_review_bench_health_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=1000, help="workspaces per app")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=os.environ.get("PARTNER_REVIEW_TEST_POSTGRES_URL"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("PARTNER_REVIEW_WEBHOOK_SECRET", "bench")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    log(
        f"store: {args.apps} apps x {args.workspaces:,} workspaces x {args.days} days = "
        f"{args.apps * args.workspaces * args.days:,} activity rows; {args.results:,} results"
    )
    worst: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PARTNER_REVIEW_DATA_DIR"] = tmp
        for engine in engines:
            if engine == "postgresql":
                if not args.postgres:
                    log("postgresql: skipped (give --postgres or PARTNER_REVIEW_TEST_POSTGRES_URL)")
                    continue
                url, drop = postgres_database(args.postgres)
                try:
                    log("postgresql:")
                    worst[engine] = max(run_engine(url, args).values())
                finally:
                    drop()
            else:
                log("sqlite:")
                worst[engine] = max(run_engine(f"sqlite:///{tmp}/bench-health.db", args).values())
    for engine, seconds in worst.items():
        log(f"slowest with indexes ({engine}): {seconds:.3f} s")
    value = f"{max(worst.values()):.3f} s ({max(worst, key=lambda e: worst[e])})" if worst else "n/a"
    print(f"headline: slowest of health and check-health, with indexes = {value} (goal < {GOAL_S:g} s)")


if __name__ == "__main__":
    main()
