"""tasks/offload.py: CPU work in the shared pool of worker processes, with the caller's settings.

Real spawned processes; the pool is the one the review uses (shared for the test session).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.tasks import offload
from partner_review.tasks.docs.lint import lint_documentation
from partner_review.tasks.spec import sources
from partner_review.tasks.spec.sources import CHUNK, Item, check_source, rule_results


@pytest.fixture
def settings_env(monkeypatch):
    def apply(**values):
        for key, value in values.items():
            monkeypatch.setenv(f"PARTNER_REVIEW_{key.upper()}", str(value))
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield apply
    get_settings.cache_clear()


async def warmed() -> None:
    await asyncio.gather(*(asyncio.wrap_future(f) for f in offload.warm()))


async def test_work_runs_in_another_process_and_its_result_comes_back():
    await warmed()
    pids = set(await asyncio.gather(*(offload.run(os.getpid) for _ in range(8))))
    assert os.getpid() not in pids and 1 <= len(pids) <= offload.workers()
    assert await offload.run(divmod, 17, 5) == (3, 2)
    with pytest.raises(ZeroDivisionError):  # the work's own exception, raised here
        await offload.run(divmod, 1, 0)


async def test_a_worker_started_before_a_setting_changed_uses_the_callers_settings(example, settings_env):
    await warmed()  # the workers exist, with the environment they were started in
    settings_env(docs_max_bytes=2048)
    example["app"]["docs"]["segment_markdown"] += "\nMore text for the page.\n" * 200
    results = await lint_documentation(parse_submission(example))
    readable = next(r for r in results if r.check == "DOC-002")
    assert readable.outcome == "fail" and "2,048" in readable.message


async def test_a_dead_worker_is_replaced_and_the_call_fails_after_one_retry():
    await warmed()
    before = offload.executor()
    with pytest.raises(offload.OffloadFailed, match="died twice"):
        await offload.run(os._exit, 3)  # the worker dies without a word, on both tries
    assert offload.executor() is not before
    assert await offload.run(os.getpid) != os.getpid()  # a fresh pool serves the next call


async def test_a_worker_killed_while_idle_does_not_stop_the_next_review():
    await warmed()
    pool = offload.executor()
    for process in list(pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not pool._broken and time.monotonic() < deadline:  # the pool notices the death in its own thread
        await asyncio.sleep(0.05)
    assert pool._broken
    await asyncio.gather(*(asyncio.wrap_future(f) for f in offload.warm()))  # as run_checks starts
    assert offload.executor() is not pool and await offload.run(divmod, 7, 2) == (3, 1)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie has ended: only its exit status is left to collect)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_workers_end_when_the_review_process_is_killed():
    code = (
        "import asyncio, time\n"
        "from partner_review.tasks import offload\n"
        "async def main():\n"
        "    await asyncio.gather(*(asyncio.wrap_future(f) for f in offload.warm()))\n"
        "    print(*[p.pid for p in offload.executor()._processes.values()], flush=True)\n"
        "    time.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    review = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in review.stdout.readline().split()]
        assert workers and all(alive(pid) for pid in workers)
    finally:
        review.send_signal(signal.SIGKILL)  # no atexit, no shutdown: as when the machine runs out of memory
        review.wait(10)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)], "worker processes outlived the killed review"


def bad(i: int) -> dict:
    """An event breaking some rules, differently by position (so chunks must merge in order)."""
    event = {"type": "track", "event": "Report Viewed", "messageId": f"m-{i}", "timestamp": "2026-11-20T10:00:00Z"}
    event["context"] = {"integration": {"name": "acme-analytics", "version": "1.0.0"}}
    if i % 7:
        event["userId"] = f"u-{i}"
    if i % 5 == 0:
        event["type"] = "tracks"
    return event


async def test_spec_validation_in_chunks_gives_what_one_pass_gives(example, settings_env):
    settings_env(spec_max_events=CHUNK * 2 + 37, spec_examples_per_rule=100)  # examples from several chunks
    settings = get_settings()
    events = [bad(i) for i in range(CHUNK * 3)]
    source_dict = next(c for c in example["components"] if c["type"] == "source")
    source_dict["sample_events"] = events
    source = parse_submission(example).sources[0]

    chunked = await check_source(source, "acme-analytics", offline=True, settings=settings)
    items = [Item(f"sample_events[{i}]", e) for i, e in enumerate(events)]
    whole = rule_results(items, slug="acme-analytics", component=source.name, settings=settings)

    assert [r.model_dump() for r in chunked[:-1]] == [r.model_dump() for r in whole]
    assert any(r.outcome == "fail" for r in whole) and chunked[-1].check == "SPEC-018"
    assert {r.evidence["events_not_checked"] for r in whole} == {CHUNK - 37}
    assert sources.CHUNK < len(events)
