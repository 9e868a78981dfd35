"""Benchmark: whole reviews, and what Prefect costs on top of the same checks as plain functions.

    .venv/bin/python bench/review.py [--submissions 20] [--burst | --interval 2] [--compare 10] [--full-volume 3]

Everything on loopback: Prefect's embedded API server as partner-review starts it without
PREFECT_API_URL (`cli.api.prefect_api`: a subprocess on SQLite, here in a temporary
PREFECT_HOME), a `conformant` sample partner as the destination, the sample website
(`partners.site_running`, HTTPS with a private CA) for the partner page, launch post and links
when it is present, a fresh SQLite store. The volume stage is kept short for the comparison and
the throughput run (PARTNER_REVIEW_VOLUME_RATE=20, PARTNER_REVIEW_VOLUME_DURATION_SECONDS=1: 20
requests instead of the rule's 200/s for 20 s), since it would otherwise be 20 s of every review.

1. Overhead (sequential, one submission at a time, interleaved so machine noise hits both):
   - plain: `await run_checks(submission, call=direct)` in this process (the stages only);
   - flow: from calling `review_submission(id)` to the Paused state Prefect records when the run
     starts waiting for the reviewer (server timestamp): flow-run creation, acknowledgment, every
     stage as its Prefect task, recording results, the report artifacts and the state change.
     The reviewer is then played with `cli.decide.resume` and the run finishes; that wait is not
     timed. Also shown: the span of the stage tasks alone (first stage task start to last stage
     task end, from the task runs' timestamps).
   Ratio = median(flow) / median(plain); goal <= 1.3 (the short volume stage).
   --full-volume N repeats it for N submissions at the default settings (the rule's load test,
   200 requests/s for 20 s, in both paths), so the overhead is also seen beside a real review's
   length.
2. Throughput: N signed deliveries to the real receiver (uvicorn thread,
   PARTNER_REVIEW_DISPATCH=local: each review runs in this process), posted one every --interval
   seconds or, with --burst, all back to back; a reviewer thread per submission resumes its run
   as soon as it waits (approve when the verdict passes, else request changes), so decisions
   reach Prefect while other reviews are still running. Wall time from the first post to the
   last run finished; submissions per minute (a review that never finishes within 300 s of the
   last post is counted as unfinished, not waited for); and, per submission, delivery received
   -> acknowledgment recorded as sent (the store's timestamps), p50 / p95. Exit status 1 when a
   review did not finish or a decision could not be made.
--compare 0 --full-volume 0 runs the throughput part alone (tests/server/test_burst.py runs a
20-delivery burst that way and reads this script's output for tracebacks).
Last line (when the comparison ran): `headline: review flow / plain checks wall-time ratio = <x> (goal <= 1.3)`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL = 1.3
VERSIONS = itertools.count(1)
SECRET = "bench-review-webhook-secret"
STAGE_TASK_NAMES = (
    "verify-catalog-fields",
    "test-destination-end-to-end",
    "check-source-spec-adherence",
    "lint-documentation",
    "check-partner-page-launch-post-and-links",
    "test-high-data-volume",
)


SHORT_VOLUME = {"PARTNER_REVIEW_VOLUME_RATE": "20", "PARTNER_REVIEW_VOLUME_DURATION_SECONDS": "1"}


def environment(workdir: Path) -> None:
    """A fresh data directory and Prefect home; no PREFECT_API_URL, so the embedded server is used."""
    for key in [k for k in os.environ if k.startswith("PARTNER_REVIEW_")]:
        del os.environ[key]
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.update(
        {
            "PREFECT_HOME": str(workdir / "prefect-home"),
            "PARTNER_REVIEW_DATA_DIR": str(workdir / "data"),
            "PARTNER_REVIEW_WEBHOOK_SECRET": SECRET,
            "PARTNER_REVIEW_ALLOWED_NETWORKS": "127.0.0.0/8",
            **SHORT_VOLUME,
            "PARTNER_REVIEW_DISPATCH": "local",
            "PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS": "0.5",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")


@contextlib.contextmanager
def sample_site():
    """The sample website when the project has it (None otherwise: the links stage then fails on
    the unresolvable https://acme.example URLs, which costs about the same time both ways)."""
    try:
        from partner_review.partners import site_running
    except ImportError:
        yield None
        return
    with site_running() as site:
        os.environ["PARTNER_REVIEW_CA_FILE"] = str(site.ca_file)
        yield site


def submission_for(partner: str, site, n: int, tag: str) -> dict:
    from partner_review.cli.demo import pointed_at

    example = json.loads((ROOT / "examples" / "submission.json").read_text())
    try:
        data = pointed_at(example, partner, site) if site is not None else pointed_at(example, partner)
    except TypeError:
        data = pointed_at(example, partner)
    # The example app, a new version each time: its catalog fields, docs and the sample site's
    # pages keep matching, so each review can pass like the example (the flow also diffs each
    # version against the previous one; the plain path does not).
    data["version"] = next(VERSIONS)
    return data


def decision_for(sid: str):
    from partner_review.models.decision import Decision
    from partner_review.models.store import get_store

    latest = get_store().latest_review(sid)
    passed = latest is not None and latest[0].verdict == "pass"
    return Decision(
        decision="approve" if passed else "request_changes",
        reviewer="bench@reviewers.example",
        comment="" if passed else "Benchmark: the checks did not all pass.",
    )


def resume_when_waiting(sid: str, timeout: float = 600) -> None:
    from partner_review.cli.decide import DecisionRefused, resume

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            resume(sid, decision_for(sid))
            return
        except DecisionRefused as error:
            if "not waiting" not in str(error) and "no review run" not in str(error):
                raise
        except Exception as error:  # the API busy (503 from the test server's SQLite): decide again
            print(f"  reviewer retries after {type(error).__name__}: {str(error)[:120]}", flush=True)
            time.sleep(1)
        time.sleep(0.1)
    raise RuntimeError(f"the review of {sid} never waited for a decision")


async def prefect_timings(flow_run_id: str) -> tuple[datetime, datetime, datetime]:
    """When the run entered Paused (server time), and when its first stage task started and its
    last stage task ended."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        states = await client.read_flow_run_states(uuid.UUID(flow_run_id))
        paused = min(s.timestamp for s in states if s.type.value == "PAUSED")
        tasks = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)]))
        )
    stages = [t for t in tasks if t.name.rsplit("-", 1)[0] in STAGE_TASK_NAMES and t.start_time and t.end_time]
    return paused, min(t.start_time for t in stages), max(t.end_time for t in stages)


async def compare(partner: str, site, count: int) -> dict:
    from partner_review.flows.review import review_submission
    from partner_review.models.store import get_store
    from partner_review.models.submission import parse_submission
    from partner_review.tasks.pipeline import direct, run_checks

    store = get_store()
    tag = uuid.uuid4().hex[:6]
    plain, flow, stages, before, after = [], [], [], [], []
    for n in range(count):
        data = submission_for(partner, site, n, f"c{tag}")
        submission = parse_submission(data)
        order = ("plain", "flow") if n % 2 == 0 else ("flow", "plain")
        for kind in order:
            if kind == "plain":
                t0 = time.perf_counter()
                await run_checks(submission, call=direct)
                plain.append(time.perf_counter() - t0)
                continue
            now = datetime.now(UTC)
            sid = store.record_delivery(
                f"cmp-{tag}-{n}",
                json.dumps(data).encode(),
                submission,
                received_at=now,
                ack_due_at=now + timedelta(days=2),
            ).submission_id
            started = datetime.now(UTC)
            running = asyncio.create_task(review_submission(sid))
            await asyncio.to_thread(resume_when_waiting, sid)
            await running
            flow_run_id = store.latest_review(sid)[0].flow_run_id
            # This run came from the flow call above, not from the outbox: mark its dispatch done so
            # the receiver's dispatcher (throughput phase) does not start a second review of it.
            (dispatch,) = [d for d in store.dispatches() if d.submission_id == sid]
            store.dispatch_done(dispatch.id, flow_run_id)
            paused, first, last = await prefect_timings(flow_run_id)
            flow.append((paused - started).total_seconds())
            stages.append((last - first).total_seconds())
            before.append((first - started).total_seconds())  # flow run created and started, acknowledgment
            after.append((paused - last).total_seconds())  # results recorded, report artifacts, in_review, pause
        print(
            f"  submission {n + 1:2}: plain {plain[-1]:.2f} s, flow to waiting {flow[-1]:.2f} s "
            f"(stage tasks {stages[-1]:.2f} s)",
            flush=True,
        )
    return {"plain": plain, "flow": flow, "stages": stages, "before": before, "after": after}


def throughput(partner: str, site, count: int, interval: float) -> dict:
    """`count` deliveries through the receiver, one every `interval` s (0: back to back)."""
    import httpx

    from partner_review.models.store import get_store
    from partner_review.webhooks.server import running
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    store = get_store()
    tag = uuid.uuid4().hex[:6]
    bodies = [json.dumps(submission_for(partner, site, n, f"t{tag}")).encode() for n in range(count)]
    sids: list[str] = []
    failures: list[str] = []

    def reviewer(sid: str) -> None:
        try:
            resume_when_waiting(sid, timeout=300)
        except BaseException as error:  # reported below
            failures.append(f"{sid}: {type(error).__name__}: {error}")

    threads = []
    with running() as base:
        t0 = time.perf_counter()
        with httpx.Client(timeout=30) as client:
            for n, body in enumerate(bodies):
                delay = t0 + n * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                answer = client.post(
                    f"{base}/webhooks/submissions",
                    content=body,
                    headers={
                        "content-type": "application/json",
                        DELIVERY_HEADER: f"tp-{tag}-{n}",
                        HEADER: sign(SECRET, body),
                    },
                )
                if answer.status_code != 202:
                    raise RuntimeError(f"delivery {n} answered {answer.status_code}: {answer.text}")
                sids.append(answer.json()["submission_id"])
                threads.append(threading.Thread(target=reviewer, args=(sids[-1],), daemon=True))
                threads[-1].start()
        posted = time.perf_counter() - t0
        deadline = time.monotonic() + 300  # after the last delivery
        mine = set(sids)
        while True:
            done = {d.submission_id for d in store.dispatches() if d.submission_id in mine and d.status == "dispatched"}
            if len(done) == count or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        for thread in threads:
            thread.join(1)
    ack, verdicts, failing = [], {}, {}
    for sid in sids:
        stored = store.get_submission(sid)
        sent = [n for n in store.notifications(sid) if n.key == f"ack:{sid}" and n.sent_at]
        if sent:
            ack.append((sent[0].sent_at - stored.received_at).total_seconds())
        latest = store.latest_review(sid)
        verdict = latest[0].verdict if latest and sid in done else "unfinished"
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        for result in latest[1] if latest else []:
            if result.outcome == "fail" and result.severity == "blocker":
                failing[result.check] = failing.get(result.check, 0) + 1
    runs = [d.flow_run_id for d in store.dispatches() if d.submission_id in mine and d.flow_run_id]
    return {
        "wall": wall,
        "posted": posted,
        "ack": ack,
        "verdicts": verdicts,
        "failing": failing,
        "finished": len(done),
        "failures": failures,
        "states": asyncio.run(final_states(runs)),
    }


async def final_states(flow_run_ids: list[str]) -> dict[str, int]:
    """How many of these flow runs ended in each state type (COMPLETED when a review finished)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(i) for i in flow_run_ids]))
        )
    states: dict[str, int] = {}
    for run in runs:
        name = run.state.type.value if run.state else "NONE"
        states[name] = states.get(name, 0) + 1
    return states


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def overhead_lines(label: str, c: dict) -> list[str]:
    plain, flow = statistics.median(c["plain"]), statistics.median(c["flow"])
    ratios = [f / p for f, p in zip(c["flow"], c["plain"])]
    return [
        f"{label}:",
        f"  plain run_checks: median {plain:.2f} s (range {min(c['plain']):.2f}-{max(c['plain']):.2f})",
        f"  flow to waiting:  median {flow:.2f} s (range {min(c['flow']):.2f}-{max(c['flow']):.2f}); "
        f"stage tasks alone median {statistics.median(c['stages']):.2f} s",
        f"  flow time outside the stages: before them median {statistics.median(c['before']):.2f} s (flow run "
        f"creation, start, acknowledgment), after them {statistics.median(c['after']):.2f} s (results recorded, "
        "two artifacts, in_review, pause)",
        f"  ratio flow/plain {flow / plain:.2f} (per submission {min(ratios):.2f}-{max(ratios):.2f}; "
        f"stage tasks/plain {statistics.median(c['stages']) / plain:.2f}); overhead {flow - plain:+.2f} s",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=20, help="reviews in the throughput run (1 to 50)")
    parser.add_argument("--compare", type=int, default=10, help="submissions in the short comparison (0 to 50)")
    parser.add_argument(
        "--full-volume", type=int, default=3, help="submissions compared at the default 200/s for 20 s (0 to 10)"
    )
    pacing = parser.add_mutually_exclusive_group()
    pacing.add_argument("--interval", type=float, default=2.0, help="seconds between deliveries in the throughput run")
    pacing.add_argument("--burst", action="store_true", help="post the throughput run's deliveries back to back")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the Prefect server on `kill`
    if not (1 <= args.submissions <= 50 and 0 <= args.compare <= 50 and 0 <= args.full_volume <= 10):
        parser.error("--submissions takes 1 to 50, --compare 0 to 50, --full-volume 0 to 10")
    interval = 0.0 if args.burst else args.interval
    with tempfile.TemporaryDirectory(prefix="bench-review-") as workdir:
        environment(Path(workdir))
        from partner_review.cli.api import prefect_api
        from partner_review.models.settings import get_settings
        from partner_review.partners import running as partner_running

        print(
            f"{os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
            "SQLite store; Prefect's embedded server (SQLite)",
            flush=True,
        )
        c = full = None
        with (
            prefect_api() as (api_url, _),
            partner_running("conformant") as partner,
            sample_site() as site,
        ):
            get_settings.cache_clear()
            print(
                f"Prefect API {api_url}; sample partner {partner}; sample website "
                f"{site.base_url if site else 'absent (links stage fails)'}",
                flush=True,
            )
            if args.compare or args.full_volume:
                # One review first so imports, the Prefect client and the store are warm for both sides.
                asyncio.run(compare(partner, site, 1))
            if args.compare:
                print(f"comparison, volume stage 20 requests/s for 1 s, {args.compare} submissions one at a time:")
                c = asyncio.run(compare(partner, site, args.compare))
            if args.full_volume:
                for key in SHORT_VOLUME:
                    del os.environ[key]
                get_settings.cache_clear()
                print(f"comparison at the default settings (200 requests/s for 20 s), {args.full_volume} submissions:")
                full = asyncio.run(compare(partner, site, args.full_volume))
                os.environ.update(SHORT_VOLUME)
                get_settings.cache_clear()
            how = "back to back" if args.burst else f"one every {interval:g} s"
            print(f"throughput, {args.submissions} deliveries through the receiver, {how}:", flush=True)
            t = throughput(partner, site, args.submissions, interval)

    if full:
        print("\n".join(overhead_lines("default settings, 200 requests/s for 20 s", full)))
    if c:
        print("\n".join(overhead_lines("short volume stage, 20 requests/s for 1 s", c)))
    bound = (
        f"all posted in {t['posted']:.1f} s, so this is what one process does with them at once"
        if args.burst
        else f"deliveries arrived over {(args.submissions - 1) * interval:g} s, so this is bounded by the arrival rate"
    )
    print(
        f"throughput: {t['finished']} of {args.submissions} reviews finished in {t['wall']:.1f} s wall = "
        f"{t['finished'] / t['wall'] * 60:.1f} submissions/min (verdicts {t['verdicts']}; final flow-run states "
        f"{t['states']}; {bound})"
    )
    if t["failing"]:
        print(f"  blockers that failed (check: reviews): {t['failing']}")
    for failure in t["failures"][:3]:
        print(f"  reviewer could not decide: {failure[:300]}")
    if t["ack"]:
        print(
            f"delivery -> acknowledgment sent: p50 {quantile(t['ack'], 0.5):.2f} s, "
            f"p95 {quantile(t['ack'], 0.95):.2f} s, max {max(t['ack']):.2f} s"
        )
    if c:
        ratio = statistics.median(c["flow"]) / statistics.median(c["plain"])
        print(f"headline: review flow / plain checks wall-time ratio = {ratio:.2f} (goal <= {GOAL})")
    return 0 if t["finished"] == args.submissions and not t["failures"] else 1


if __name__ == "__main__":
    code = main()
    from partner_review.tasks import offload

    offload.shutdown()  # before os._exit: else the resource tracker reports the pool's semaphores as leaked
    # Every server this script started is stopped by now. A review whose decision never got
    # through may still be paused in a worker thread of the receiver's dispatcher, and the
    # interpreter would wait for it at exit: leave without waiting.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
