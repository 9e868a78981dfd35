"""A heavy but legal submission: the largest logo, doc page and sample events the limits accept.

    heavy_logo()          an inline SVG logo just under `svg_max_bytes` (1 MiB) of visible shapes
    heavy_page(markdown)  the example's doc page grown to just under `docs_max_bytes` (128 KiB)
                          with the bodies of Segment's real partner pages (../shared/corpus)
    heavy_events(slug)    10,000 Spec-valid sample events from that app (the most a source may carry)
    make_heavy(example)   the example submission (a dict) with all three
    await loaded(submission, heavy=True, rate=, duration=)
                          one load test; with `heavy`, the catalog, spec and docs stages run
                          while it does (started once it is under way): a `Run` with its figures

Used by tests/e2e/test_heavy_review.py and bench/offload.py.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from partner_review.models.checks import Result
from partner_review.models.events import EventFactory
from partner_review.models.settings import get_settings
from partner_review.models.submission import Submission
from partner_review.tasks import pipeline
from partner_review.tasks.docs.lint import lint_documentation
from partner_review.tasks.spec.sources import check_sources
from partner_review.tasks.volume.load import load_test

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "segment-docs"
MAX_SAMPLE_EVENTS = 10_000  # models.submission.Source.sample_events


def heavy_logo() -> str:
    """A 240×60 logo of thousands of small squares in two colours, one path each."""
    limit = get_settings().svg_max_bytes - 64
    head = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 60"><title>Acme Analytics</title>'
    parts, size, i = [head], len(head), 0
    while True:
        colour = "#1a73e8" if (i // 240 + i) % 3 else "#0b3d91"
        part = f'<path d="M{i % 240} {i // 240 % 60}h1v1h-1z" fill="{colour}"/>'
        if size + len(part) + len("</svg>") > limit:
            break
        parts.append(part)
        size += len(part)
        i += 1
    return "".join(parts) + "</svg>"


def heavy_page(markdown: str) -> str:
    """`markdown` (a whole page) followed by real partner pages' bodies, up to the size limit."""
    limit = get_settings().docs_max_bytes - 256
    pages = sorted((CORPUS / "destinations").glob("*.md"))
    if not pages:
        raise FileNotFoundError(f"no corpus pages under {CORPUS} (../shared is needed)")
    parts, size = [markdown.rstrip("\n")], len(markdown.encode())
    for page in pages:
        body = page.read_text(encoding="utf-8").split("---", 2)[-1].strip("\n")  # without front matter
        if size + len(body.encode()) + 2 > limit:
            continue
        parts.append(body)
        size += len(body.encode()) + 2
    return "\n\n".join(parts) + "\n"


def heavy_events(slug: str) -> list[dict[str, Any]]:
    factory = EventFactory(seed=7, source=(slug, "1.0.0"))
    return [factory.track() if i % 3 else factory.identify() for i in range(MAX_SAMPLE_EVENTS)]


def make_heavy(example: dict[str, Any]) -> dict[str, Any]:
    heavy = copy.deepcopy(example)
    heavy["app"]["logo_svg"] = heavy_logo()
    heavy["app"]["docs"]["segment_markdown"] = heavy_page(heavy["app"]["docs"]["segment_markdown"])
    source = next(c for c in heavy["components"] if c["type"] == "source")
    source["sample_events"] = heavy_events(heavy["app"]["slug"])
    source.pop("events_url", None)
    return heavy


@dataclass
class Run:
    """One load test: its latency figures, its progress, and when the heavy work ran against it."""

    latency: dict[str, Any] = field(default_factory=dict)  # VOL-002's latency_seconds
    results: list[Result] = field(default_factory=list)
    progress: list[tuple[float, int, int]] = field(default_factory=list)  # (monotonic time, done, total)
    started: float = 0.0  # the heavy work, monotonic
    ended: float = 0.0
    stages: list[list[Result]] = field(default_factory=list)  # catalog, spec, docs
    loop_gap: float = 0.0  # the longest the event loop went without running a 5 ms ticker

    def done_at(self, moment: float) -> int:
        return max((done for at, done, _ in self.progress if at <= moment), default=0)

    @property
    def first_sent(self) -> float:
        return self.progress[0][0]

    @property
    def total(self) -> int:
        return self.progress[-1][2]

    def overlap(self, duration: float) -> float:
        """Seconds the heavy work ran while the load's schedule did (its end estimated from the first tick)."""
        return min(self.ended, self.first_sent + duration - 0.5) - self.started


async def loaded(submission: Submission, *, heavy: bool, rate: float, duration: float, start_after: float = 0.5) -> Run:
    """One load test of `submission`; with `heavy`, its catalog, spec and docs stages are called as
    `run_checks` calls them, `start_after` s after the first request left."""
    run = Run()
    sending = asyncio.Event()

    async def on_progress(done: int, total: int, snapshot: dict[str, Any]) -> None:
        run.progress.append((time.monotonic(), done, total))
        if snapshot["sent"]:
            sending.set()

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            run.loop_gap = max(run.loop_gap, time.monotonic() - before - 0.005)

    load = asyncio.ensure_future(load_test(submission, rate=rate, duration=duration, on_progress=on_progress))
    ticking = asyncio.ensure_future(ticker())
    try:
        if heavy:
            await asyncio.wait_for(sending.wait(), 30)
            await asyncio.sleep(start_after)
            run.started = time.monotonic()
            run.stages = list(
                await asyncio.gather(  # docs as run_checks calls it after e2e found no call to compare with
                    pipeline.verify_catalog(submission, offline=False),
                    check_sources(submission, offline=False),
                    lint_documentation(submission, accepted_calls=None, offline=False),
                )
            )
            run.ended = time.monotonic()
        run.results = await load
    finally:
        ticking.cancel()
        load.cancel()
    run.latency = next(r for r in run.results if r.check == "VOL-002").evidence["latency_seconds"]
    return run
