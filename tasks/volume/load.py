"""The high-data-volume test: an open-loop load generator aimed at a partner's destination.

Requests leave on a fixed schedule (a constant arrival rate), whatever the endpoint does, and each
request's latency is measured from the time it was *meant* to leave. A slow endpoint therefore
cannot hide its queueing by slowing the generator down (no coordinated omission): when every
connection is busy, the requests that wait are late, and the lateness is counted.

The endpoint's address is vetted once by the outbound guard (`tasks.http`) and every connection
goes to that address; the Host header and the TLS server name stay the partner's host name.
The engine is aiohttp, not the project's httpx client, for speed alone (docs/volume.md has the
measurements). Where one process cannot hold the target rate, the schedule is interleaved across
several processes and their histograms are merged.

No Prefect here: the review flow wraps `load_test` in a task and turns `on_progress` into a
Prefect progress artifact; `run_cli` shows the same progress as a rich progress bar.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import json
import math
import multiprocessing
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from partner_review.models.checks import Result, register, skip_all
from partner_review.models.settings import Settings, get_settings
from partner_review.models.submission import Destination, Submission
from partner_review.tasks.volume.histogram import Histogram

Progress = Callable[[int, int, dict[str, Any]], "Awaitable[None] | None"]

RATE = register(
    "VOL-001",
    "Endpoint sustains the target request rate",
    stage="volume",
    severity="blocker",
    network=True,
    remedy="Serve the target rate without queueing: add capacity, answer before processing "
    "(queue the work), and do not throttle below Segment's recommended 1,000 requests/s.",
)
LATENCY = register(
    "VOL-002",
    "p99 latency under load stays under the limit",
    stage="volume",
    severity="blocker",
    network=True,
    remedy="Answer every event within 5 s under load: acknowledge with 200/202 first and process asynchronously.",
)
ERRORS = register(
    "VOL-003",
    "Error share under load stays under the limit",
    stage="volume",
    severity="blocker",
    network=True,
    remedy="Accept valid events under load with 200/202; reserve 5xx for real outages and do not drop connections.",
)
THROTTLING = register(
    "VOL-004",
    "Rate limiting answers 429 with Retry-After",
    stage="volume",
    severity="warning",
    network=True,
    remedy="When throttling, answer 429 with a Retry-After header (seconds or an HTTP date) so "
    "Segment can back off for the right time.",
)

DEFAULT_BACKOFF_SECONDS = 1.0  # a 429 without a usable Retry-After: pause briefly rather than not at all
MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of any answer; a load test only needs the status
PROGRESS_INTERVAL = 0.25
START_GRACE = 0.05  # the schedule starts this long after setup so the first slots are not already late


class VolumeRefused(ValueError):
    """A load test that must not run as asked (rate, duration or batch size out of range)."""


class LoadProcessFailed(RuntimeError):
    """One of several load processes did not start, failed, or did not finish in time."""


# The plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Everything one load process needs; plain data so it can be sent to another process."""

    url: str
    host: str
    address: str  # the vetted IP every connection goes to
    headers: dict[str, str]
    bodies: tuple[tuple[bytes, ...], ...]  # request bodies split where the sequence number goes
    events_per_body: tuple[int, ...]
    rate: float  # requests/s, all processes together
    duration: float
    timeout: float
    connections: int  # per process
    processes: int = 1

    def body(self, seq: int) -> tuple[bytes, int]:
        """The body of the request with sequence number `seq`, and how many events it carries."""
        which = seq % len(self.bodies)
        return str(seq).encode().join(self.bodies[which]), self.events_per_body[which]

    def slots(self, index: int) -> int:
        """How many requests process `index` of `processes` sends (it takes every n-th slot)."""
        total = math.ceil(self.rate * self.duration - 1e-9)
        return len(range(index, total, self.processes))


@dataclass
class Measurement:
    """Counters and the latency histogram of one load run (one process, or several merged)."""

    scheduled: int = 0
    sent: int = 0
    events_sent: int = 0
    responses: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    transport_errors: dict[str, int] = field(default_factory=dict)
    transport_samples: dict[str, str] = field(default_factory=dict)
    timeouts: int = 0
    unsent: int = 0  # scheduled but still waiting for a free connection when the test ended
    rate_limited: int = 0
    retry_after_missing: int = 0
    retry_after_max: float = 0.0
    skipped_in_backoff: int = 0
    sends_during_backoff: int = 0
    backoff_seconds: float = 0.0
    latency: Histogram = field(default_factory=Histogram)

    @property
    def done(self) -> int:
        answered = self.responses + self.timeouts + sum(self.transport_errors.values())
        return answered + self.skipped_in_backoff + self.unsent

    @property
    def errors_by_status(self) -> dict[int, int]:
        return {s: n for s, n in self.status_counts.items() if is_error_status(s)}

    @property
    def errors(self) -> int:
        return sum(self.errors_by_status.values()) + sum(self.transport_errors.values()) + self.timeouts

    def merge(self, other: Measurement) -> Measurement:
        for name in (
            "scheduled",
            "sent",
            "events_sent",
            "responses",
            "timeouts",
            "unsent",
            "rate_limited",
            "retry_after_missing",
            "skipped_in_backoff",
            "sends_during_backoff",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status, n in other.status_counts.items():
            self.status_counts[status] = self.status_counts.get(status, 0) + n
        for kind, n in other.transport_errors.items():
            self.transport_errors[kind] = self.transport_errors.get(kind, 0) + n
        for kind, sample in other.transport_samples.items():
            self.transport_samples.setdefault(kind, sample)
        # Processes back off side by side: the wall time spent backing off is the longest one.
        self.backoff_seconds = max(self.backoff_seconds, other.backoff_seconds)
        self.retry_after_max = max(self.retry_after_max, other.retry_after_max)
        self.latency.merge(other.latency)
        return self

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "latency"}
        data["latency"] = self.latency.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        data = dict(data)
        latency = Histogram.from_dict(data.pop("latency"))
        return cls(**data, latency=latency)


def is_error_status(status: int) -> bool:
    """Errors under load: 4xx and 5xx, except 429 (throttling, judged on its own) and 501 (a call
    type the destination does not support: accepted by the rules)."""
    return status >= 400 and status not in (429, 501)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# The engine ------------------------------------------------------------------------------------


class _Pinned:
    """An aiohttp resolver that knows one name: the partner's host, at the address the guard vetted."""

    def __init__(self, host: str, address: str):
        import ipaddress
        import socket

        self.host = host
        self.address = address
        self.family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
        import socket

        if host != self.host:
            raise OSError(f"{host} was not vetted for this load test")
        return [
            {
                "hostname": host,
                "host": self.address,
                "port": port,
                "family": self.family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
        ]

    async def close(self) -> None:
        pass


class _Run:
    """One process's share of the schedule: `connections` workers take slots in order."""

    def __init__(self, plan: Plan, index: int, counters: Any = None):
        self.plan = plan
        self.index = index
        self.total = plan.slots(index)
        self.interval = plan.processes / plan.rate
        self.next_slot = 0
        self.backoff_until = 0.0
        self.m = Measurement(scheduled=self.total)
        self.counters = counters  # shared progress counters when this is one of several processes

    async def run(
        self, start_at: float | None = None, on_tick: Callable[[Measurement], Awaitable[None]] | None = None
    ) -> Measurement:
        import aiohttp

        plan = self.plan
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(
            limit=plan.connections,
            resolver=_Pinned(plan.host, plan.address),
            use_dns_cache=False,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=plan.timeout),
            headers=plan.headers,
            skip_auto_headers=("User-Agent",),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        clock = loop.time
        self.start = (start_at if start_at is not None else clock() + START_GRACE) + self.index / plan.rate
        self.stop = self.start - self.index / plan.rate + plan.duration
        count = min(plan.connections, self.total) or 1
        workers = [asyncio.ensure_future(self._worker(session, clock)) for _ in range(count)]
        ticker = asyncio.ensure_future(self._tick(on_tick)) if on_tick or self.counters is not None else None
        try:
            # Every request has a total timeout, so this bound only matters if something is wrong.
            async with asyncio.timeout(max(self.stop - clock(), 0) + plan.timeout + 5.0):
                await asyncio.gather(*workers)
        except TimeoutError:
            pass
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            m = self.m  # requests cut off by the safety bound above count as timed out
            m.timeouts += m.sent - m.responses - m.timeouts - sum(m.transport_errors.values())
            if ticker is not None:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
            await session.close()
        self._publish()
        if on_tick is not None:
            await on_tick(self.m)
        return self.m

    async def _tick(self, on_tick) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            self._publish()
            if on_tick is not None:
                await on_tick(self.m)

    def _publish(self) -> None:
        if self.counters is not None:
            m = self.m
            base = self.index * len(_SHARED)
            for offset, value in enumerate((m.done, m.sent, m.responses, m.errors, m.timeouts, m.rate_limited)):
                self.counters[base + offset] = value

    async def _worker(self, session, clock) -> None:
        import aiohttp

        plan, m = self.plan, self.m
        step, stride, first = self.interval, plan.processes, self.index
        while True:
            i = self.next_slot
            if i >= self.total:
                return
            self.next_slot = i + 1
            intended = self.start + i * step
            now = clock()
            if now >= self.stop:  # still queued behind busy connections when the time is up
                m.unsent += self.total - i
                self.next_slot = self.total
                return
            if intended > now:
                await asyncio.sleep(intended - now)
            if intended < self.backoff_until:
                m.skipped_in_backoff += 1
                continue
            if clock() < self.backoff_until:  # the invariant `retry_after_honoured` reports
                m.sends_during_backoff += 1
            body, carried = plan.body(first + i * stride)
            m.sent += 1
            m.events_sent += carried
            try:
                async with session.post(plan.url, data=body, allow_redirects=False) as response:
                    if response.content_length is not None and response.content_length <= MAX_RESPONSE_BYTES:
                        await response.read()
                    else:
                        await response.content.read(MAX_RESPONSE_BYTES)
                        response.close()
                    status = response.status
                    retry_after = response.headers.get("Retry-After") if status == 429 else None
            except TimeoutError:
                m.timeouts += 1
                m.latency.record_seconds(clock() - intended)
                continue
            except (aiohttp.ClientError, OSError) as exc:
                kind = type(exc).__name__
                m.transport_errors[kind] = m.transport_errors.get(kind, 0) + 1
                m.transport_samples.setdefault(kind, str(exc)[:300])
                continue
            done = clock()
            m.latency.record_seconds(done - intended)
            m.responses += 1
            m.status_counts[status] = m.status_counts.get(status, 0) + 1
            if status == 429:
                self._back_off(retry_after, done)

    def _back_off(self, header: str | None, now: float) -> None:
        m = self.m
        m.rate_limited += 1
        wait = retry_after_seconds(header)
        if wait is None:
            m.retry_after_missing += 1
            wait = DEFAULT_BACKOFF_SECONDS
        m.retry_after_max = max(m.retry_after_max, wait)
        until = now + wait
        if until > self.backoff_until:
            added = min(until, self.stop) - max(self.backoff_until, now)
            if added > 0:
                m.backoff_seconds += added
            self.backoff_until = until


# Several processes -----------------------------------------------------------------------------

_SHARED = ("done", "sent", "responses", "errors", "timeouts", "rate_limited")


def _child(plan: Plan, index: int, counters: Any, ready: Any, start: Any, results: Any) -> None:
    """One load process: say it is ready, wait for the common start, run its slots, send results."""

    async def main() -> Measurement:
        import aiohttp  # noqa: F401  (import before reporting ready, so the start is not late)

        ready[index] = 1
        while start.value == 0.0:
            await asyncio.sleep(0.002)
        loop = asyncio.get_running_loop()
        start_at = loop.time() + (start.value - time.time())
        return await _Run(plan, index, counters).run(start_at)

    try:
        results.send(("ok", asyncio.run(main()).to_dict()))
    except BaseException as exc:  # the parent must hear about any failure, not wait for a result
        results.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        results.close()


async def _run_split(plan: Plan, on_tick: Callable[[int, dict[str, Any]], Awaitable[None]] | None) -> Measurement:
    ctx = multiprocessing.get_context("spawn")
    n = plan.processes
    counters = ctx.RawArray("q", n * len(_SHARED))
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
                totals = [sum(counters[i * len(_SHARED) + k] for i in range(n)) for k in range(len(_SHARED))]
                await on_tick(totals[0], dict(zip(_SHARED, totals)))
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


async def generate_load(plan: Plan, on_progress: Progress | None = None) -> Measurement:
    """Send `plan.rate` requests/s for `plan.duration` s and measure the answers.

    One process runs in the current event loop; several are started (spawned) and merged.
    Returns when the schedule is over and every request has been answered or timed out: at most
    the duration plus the request timeout (and process start-up) after the call.
    """
    total = math.ceil(plan.rate * plan.duration - 1e-9)
    callback = _guarded(on_progress)

    async def tick_one(m: Measurement) -> None:
        if callback is not None:
            await callback(m.done, total, snapshot(m, plan))

    async def tick_many(done: int, counts: dict[str, Any]) -> None:
        if callback is not None:
            counts.pop("done")
            await callback(done, total, {**counts, "p99_seconds": None, "target_rate": plan.rate})

    if plan.processes <= 1:
        return await _Run(plan, 0).run(on_tick=tick_one if callback else None)
    measurement = await _run_split(plan, tick_many if callback else None)
    if callback is not None:
        await callback(measurement.done, total, snapshot(measurement, plan))
    return measurement


def _guarded(on_progress: Progress | None) -> Callable[..., Awaitable[None]] | None:
    """The progress callback as a coroutine. An async callback is awaited; a plain function runs
    in a worker thread, so a blocking one (a synchronous API call) cannot hold up the requests
    sharing this event loop and show up as partner latency. A failing callback is reported once
    and then left alone, so a progress display cannot stop a load test."""
    if on_progress is None:
        return None
    broken: list[str] = []
    run_in_thread = not inspect.iscoroutinefunction(on_progress)

    async def call(done: int, total: int, data: dict[str, Any]) -> None:
        if broken:
            return
        try:
            if run_in_thread:
                outcome = await asyncio.to_thread(on_progress, done, total, data)
            else:
                outcome = on_progress(done, total, data)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:  # noqa: BLE001
            broken.append(f"{type(exc).__name__}: {exc}")
            import logging

            logging.getLogger(__name__).warning("load test progress callback failed, ignoring it: %s", broken[0])

    return call


def snapshot(m: Measurement, plan: Plan) -> dict[str, Any]:
    """A small progress view: counts so far and the p99 so far (None while several processes run:
    their histograms are merged at the end)."""
    return {
        "sent": m.sent,
        "responses": m.responses,
        "errors": m.errors,
        "timeouts": m.timeouts,
        "rate_limited": m.rate_limited,
        "p99_seconds": m.latency.percentile(99) / 1e6,
        "target_rate": plan.rate,
    }


# Payloads --------------------------------------------------------------------------------------

BODY_VARIANTS = 64  # distinct single-event bodies cycled through (batch mode: 4 distinct batches)


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def build_bodies(
    events: list[dict[str, Any]], *, batch_size: int | None, max_seq: int, settings: Settings
) -> tuple[tuple[tuple[bytes, ...], ...], tuple[int, ...]]:
    """Request bodies, pre-encoded once and split where each request's sequence number goes.

    Every event's messageId becomes `pr-<run>-<seq>` (batch: `pr-<run>-<seq>-<position>`), so each
    event sent is unique (partners de-duplicate by messageId) at the cost of one bytes.join per
    request. Batches stay within the Spec limits (events, bytes per event, bytes per batch),
    counted with the longest sequence number this run will use.
    """
    if not events:
        raise VolumeRefused("no events to send")
    token = f"~{uuid.uuid4().hex}~"
    run = uuid.uuid4().hex[:8]
    grow = len(str(max_seq)) - len(token)  # bytes a token gains (or loses) once replaced
    bodies: list[tuple[bytes, ...]] = []
    counts: list[int] = []
    if batch_size is None:
        for event in events[:BODY_VARIANTS]:
            encoded = _encode({**event, "messageId": f"pr-{run}-{token}"})
            if len(encoded) + grow > settings.volume_event_max_bytes:
                continue
            bodies.append(tuple(encoded.split(token.encode())))
            counts.append(1)
        if not bodies:
            raise VolumeRefused(f"every generated event is over {settings.volume_event_max_bytes} bytes")
        return tuple(bodies), tuple(counts)
    head, tail = b'{"batch":[', b'],"sentAt":"' + _now().encode() + b'"}'
    cursor = 0
    for _ in range(4):
        parts: list[bytes] = []
        size = len(head) + len(tail)
        while len(parts) < batch_size:
            event = events[cursor % len(events)]
            cursor += 1
            encoded = _encode({**event, "messageId": f"pr-{run}-{token}-{len(parts)}"})
            if len(encoded) + grow > settings.volume_event_max_bytes:
                if cursor > len(events) and not parts:
                    raise VolumeRefused(f"every generated event is over {settings.volume_event_max_bytes} bytes")
                continue
            if size + len(encoded) + grow + 1 > settings.volume_batch_max_bytes:
                break
            parts.append(encoded)
            size += len(encoded) + grow + 1
        body = head + b",".join(parts) + tail
        bodies.append(tuple(body.split(token.encode())))
        counts.append(len(parts))
    return tuple(bodies), tuple(counts)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample_events(destination: Destination, count: int) -> list[dict[str, Any]]:
    """`count` Spec-valid events of the call types the destination supports, dated now (a destination
    may refuse old events; stage replay measures that, the load must not trip over it)."""
    from partner_review.models import events

    now = _now()
    return [
        {**e, "timestamp": now, "sentAt": now}
        for e in events.generate(count, types=destination.supported_calls or None)
    ]


# Policy: what may run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    rate: float
    duration: float
    batch: bool
    batch_size: int


def target(settings: Settings, rate: float | None, duration: float | None, batch: bool | None) -> Target:
    """The rate, duration and mode to run, or VolumeRefused saying what is out of range."""
    rate = settings.volume_rate if rate is None else rate
    duration = settings.volume_duration_seconds if duration is None else duration
    batch = settings.volume_batch if batch is None else batch
    if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise VolumeRefused(f"the target rate must be a positive number of requests/s, not {rate!r}")
    if rate > settings.volume_max_rate:
        raise VolumeRefused(
            f"a target of {rate:g} requests/s is refused: it is above the maximum of "
            f"{settings.volume_max_rate:g} requests/s the load test may send (Segment's recommended maximum "
            "per workspace by default; setting PARTNER_REVIEW_VOLUME_MAX_RATE)"
        )
    if not isinstance(duration, (int, float)) or not math.isfinite(duration) or duration <= 0:
        raise VolumeRefused(f"the duration must be a positive number of seconds, not {duration!r}")
    if duration > settings.volume_max_duration_seconds:
        raise VolumeRefused(
            f"a duration of {duration:g} s is refused: the longest load test is "
            f"{settings.volume_max_duration_seconds:g} s (setting PARTNER_REVIEW_VOLUME_MAX_DURATION_SECONDS)"
        )
    if rate * duration < 1:
        raise VolumeRefused(f"{rate:g} requests/s for {duration:g} s is less than one request")
    size = settings.volume_batch_size
    if batch and not 1 <= size <= settings.volume_batch_max_events:
        raise VolumeRefused(
            f"a batch of {size} events is refused: the Spec allows 1 to {settings.volume_batch_max_events}"
        )
    return Target(rate=float(rate), duration=float(duration), batch=bool(batch), batch_size=size)


async def vetted_url(url: str, settings: Settings) -> tuple[str, str, str]:
    """(url to request, host name, vetted address): the outbound guard's answer for `url`.

    Raises the guard's OutboundError (blocked address, bad scheme, unknown host)."""
    import httpx

    from partner_review.tasks.net import client as outbound

    guard = outbound.GuardedTransport(allowed_networks=outbound.parse_networks(settings.allowed_networks))
    try:
        parsed = httpx.URL(url)
        ip = await guard.address_for(parsed)
    finally:
        await guard.aclose()
    host = parsed.host
    if outbound.numeric_host(host) is not None:  # `2130706433`-style spellings: request the address itself
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        url = str(parsed.copy_with(host=str(ip)))
    return url, host.strip("[]"), str(ip)


# The checks ------------------------------------------------------------------------------------


def summary(m: Measurement, plan: Plan, mode: str) -> dict[str, Any]:
    """Everything measured, as evidence."""
    duration = plan.duration
    accepted = m.responses - m.rate_limited
    return {
        "endpoint": plan.url,
        "mode": mode,
        "target_rate": plan.rate,
        "duration_seconds": duration,
        "achieved_rate": round(accepted / duration, 2),
        "send_rate": round(m.sent / duration, 2),
        "scheduled": m.scheduled,
        "sent": m.sent,
        "responses": m.responses,
        "events_sent": m.events_sent,
        "events_per_second": round(m.events_sent / duration, 1),
        "latency_seconds": m.latency.summary_seconds(),
        "status_counts": {str(s): n for s, n in sorted(m.status_counts.items())},
        "errors_by_status": {str(s): n for s, n in sorted(m.errors_by_status.items())},
        "transport_errors": dict(m.transport_errors),
        "transport_error_samples": dict(m.transport_samples),
        "timeouts": m.timeouts,
        "errors": m.errors,
        "error_ratio": round(m.errors / m.sent, 4) if m.sent else None,
        "unsent_at_deadline": m.unsent,
        "rate_limited_429": m.rate_limited,
        "retry_after_missing": m.retry_after_missing,
        "retry_after_max_seconds": m.retry_after_max,
        "retry_after_honoured": m.sends_during_backoff == 0,
        "sends_during_backoff": m.sends_during_backoff,
        "skipped_in_backoff": m.skipped_in_backoff,
        "backoff_seconds": round(m.backoff_seconds, 3),
        "connections": plan.connections * plan.processes,
        "processes": plan.processes,
        "request_timeout_seconds": plan.timeout,
    }


def judge(
    m: Measurement, plan: Plan, mode: str, settings: Settings, *, label: str = "", shown: str | None = None
) -> list[Result]:
    """The four verdicts, against the thresholds in settings."""
    facts = summary(m, plan, mode)
    if shown:
        facts["endpoint"] = shown
    at = f"{label}{shown or plan.url}"
    rate_floor = settings.volume_min_rate_ratio * plan.rate
    results: list[Result] = []

    rate_keys = (
        "endpoint",
        "mode",
        "target_rate",
        "achieved_rate",
        "send_rate",
        "duration_seconds",
        "scheduled",
        "sent",
        "responses",
        "events_sent",
        "events_per_second",
        "unsent_at_deadline",
        "rate_limited_429",
        "skipped_in_backoff",
        "backoff_seconds",
        "timeouts",
        "connections",
        "processes",
    )
    rate_evidence = {k: facts[k] for k in rate_keys} | {"min_rate": round(rate_floor, 2)}
    achieved = facts["achieved_rate"]
    if achieved >= rate_floor:
        results.append(
            RATE.passed(
                f"{at} answered {achieved:g} requests/s of a {plan.rate:g}/s target for {plan.duration:g} s",
                **rate_evidence,
            )
        )
    else:
        causes = []
        if m.skipped_in_backoff:
            causes.append(
                f"it throttled with 429 ({m.rate_limited} times), {m.skipped_in_backoff} requests held back "
                f"over {m.backoff_seconds:.1f} s of backoff"
            )
        if m.unsent:
            causes.append(
                f"{m.unsent} requests were still waiting for one of {plan.connections * plan.processes} "
                "busy connections when the time was up"
            )
        failed = m.timeouts + sum(m.transport_errors.values())
        if failed:
            causes.append(f"{failed} requests got no answer (timeouts or transport failures)")
        because = "; ".join(causes) or "fewer answers than requests sent"
        results.append(
            RATE.failed(
                f"{at} answered {achieved:g} requests/s, below {rate_floor:g} ({settings.volume_min_rate_ratio:.0%} of "
                f"the {plan.rate:g}/s target): {because}",
                **rate_evidence,
            )
        )

    latency = facts["latency_seconds"]
    latency_evidence = {
        "endpoint": facts["endpoint"],
        "mode": mode,
        "latency_seconds": latency,
        "p99_limit_seconds": settings.volume_p99_seconds,
        "timeouts": m.timeouts,
        "request_timeout_seconds": plan.timeout,
        "measured_from": "intended send time",
    }
    timed_out_share = m.timeouts / m.latency.count if m.latency.count else 0.0
    if m.latency.count == 0:
        results.append(LATENCY.errored(f"{at} gave no answer to measure latency on", **latency_evidence))
    elif timed_out_share > 0.01:
        # A timed-out request's latency is unknown beyond the timeout: with more than 1 % of them
        # the p99 is at least the timeout, and nothing shows it under the limit.
        results.append(
            LATENCY.failed(
                f"{at}: {m.timeouts} of {m.latency.count} requests ({timed_out_share:.1%}) got no answer within the "
                f"{plan.timeout:g} s request timeout at {plan.rate:g} requests/s, so the p99 latency is at least "
                f"{plan.timeout:g} s (limit {settings.volume_p99_seconds:g} s)",
                **latency_evidence,
            )
        )
    elif latency["p99"] < settings.volume_p99_seconds:
        results.append(
            LATENCY.passed(
                f"{at}: p99 {latency['p99']:.3f} s (p50 {latency['p50']:.3f} s, max {latency['max']:.3f} s) at "
                f"{plan.rate:g} requests/s",
                **latency_evidence,
            )
        )
    else:
        results.append(
            LATENCY.failed(
                f"{at}: p99 latency {latency['p99']:.2f} s is over the {settings.volume_p99_seconds:g} s limit at "
                f"{plan.rate:g} requests/s (p50 {latency['p50']:.2f} s, {m.timeouts} timeouts; latency counts from "
                "when each request was due, so queueing shows)",
                **latency_evidence,
            )
        )

    error_keys = (
        "endpoint",
        "mode",
        "sent",
        "errors",
        "error_ratio",
        "errors_by_status",
        "status_counts",
        "transport_errors",
        "transport_error_samples",
        "timeouts",
    )
    error_evidence = {k: facts[k] for k in error_keys} | {"max_error_ratio": settings.volume_max_error_ratio}
    if not m.sent:
        results.append(ERRORS.errored(f"{at}: no request was sent", **error_evidence))
    elif m.errors / m.sent < settings.volume_max_error_ratio or m.errors == 0:
        results.append(
            ERRORS.passed(f"{at}: {m.errors} errors in {m.sent} requests ({m.errors / m.sent:.2%})", **error_evidence)
        )
    else:
        parts = [f"{n}× {s}" for s, n in facts["errors_by_status"].items()]
        parts += [f"{n}× {kind}" for kind, n in m.transport_errors.items()]
        if m.timeouts:
            parts.append(f"{m.timeouts}× timeout after {plan.timeout:g} s")
        results.append(
            ERRORS.failed(
                f"{at}: {m.errors} errors in {m.sent} requests ({m.errors / m.sent:.2%}, limit under "
                f"{settings.volume_max_error_ratio:.0%}): {', '.join(parts)}",
                **error_evidence,
            )
        )

    throttle_keys = (
        "endpoint",
        "mode",
        "rate_limited_429",
        "retry_after_missing",
        "retry_after_max_seconds",
        "retry_after_honoured",
        "sends_during_backoff",
        "skipped_in_backoff",
        "backoff_seconds",
    )
    throttle_evidence = {k: facts[k] for k in throttle_keys}
    if not m.rate_limited:
        results.append(
            THROTTLING.skipped(
                f"{at} did not throttle at {plan.rate:g} requests/s, so its 429 answers were not exercised",
                **throttle_evidence,
            )
        )
    elif m.retry_after_missing:
        results.append(
            THROTTLING.failed(
                f"{at}: {m.retry_after_missing} of {m.rate_limited} 429 answers had no usable Retry-After header "
                f"(the test paused {DEFAULT_BACKOFF_SECONDS:g} s for each)",
                **throttle_evidence,
            )
        )
    else:
        results.append(
            THROTTLING.passed(
                f"{at}: {m.rate_limited} 429 answers, each with Retry-After (up to {m.retry_after_max:g} s); honoured: "
                f"{m.backoff_seconds:.1f} s spent backing off, {m.skipped_in_backoff} requests held back",
                **throttle_evidence,
            )
        )
    return results


# Entry points ----------------------------------------------------------------------------------


async def load_test(
    submission: Submission,
    *,
    rate: float | None = None,
    duration: float | None = None,
    batch: bool | None = None,
    on_progress: Progress | None = None,
    offline: bool = False,
) -> list[Result]:
    """Load every destination of the submission at `rate` requests/s for `duration` s and judge it.

    Defaults come from settings. Raises VolumeRefused (before any traffic) for a rate, duration or
    batch size out of range. `on_progress(done, total, snapshot)` is called about four times a
    second (sync or async).
    """
    if offline:
        return skip_all("volume", "skipped offline: the load test sends traffic to the partner's endpoint")
    settings = get_settings()
    chosen = target(settings, rate, duration, batch)
    destinations = submission.destinations
    if not destinations:
        return skip_all("volume", "the submission has no destination component to load-test")
    results: list[Result] = []
    per = math.ceil(chosen.rate * chosen.duration - 1e-9)
    for k, destination in enumerate(destinations):
        label = f"{destination.name}: " if len(destinations) > 1 else ""

        def shifted(done: int, total: int, data: dict[str, Any], k: int = k, name: str = destination.name):
            if on_progress is not None:
                return on_progress(k * per + done, per * len(destinations), {**data, "component": name})

        results += await _test_destination(destination, chosen, settings, shifted if on_progress else None, label)
    return results


async def _test_destination(
    destination: Destination, chosen: Target, settings: Settings, on_progress: Progress | None, label: str
) -> list[Result]:
    import httpx

    from partner_review.tasks.e2e.suite import auth_headers
    from partner_review.tasks.net import client as outbound

    mode = "batch" if chosen.batch else "events"
    url = destination.batch_endpoint if chosen.batch else destination.endpoint
    checks = (RATE, LATENCY, ERRORS, THROTTLING)
    if not url:
        reason = f"{label}batch mode asked for, but the destination declares no batch_endpoint"
        return [c.skipped(reason) for c in checks]
    try:
        target_url, host, address = await vetted_url(url, settings)
    except (outbound.OutboundError, httpx.InvalidURL) as exc:
        return [c.errored(f"{label}the load test did not run: {exc}", endpoint=url) for c in checks]
    processes = max(1, min(math.ceil(chosen.rate / settings.volume_rate_per_process), os.cpu_count() or 1))
    total = math.ceil(chosen.rate * chosen.duration - 1e-9)
    events = sample_events(destination, BODY_VARIANTS if not chosen.batch else min(chosen.batch_size, 500))
    bodies, counts = build_bodies(
        events, batch_size=chosen.batch_size if chosen.batch else None, max_seq=total, settings=settings
    )
    plan = Plan(
        url=target_url,
        host=host,
        address=address,
        headers={"Content-Type": "application/json", "User-Agent": outbound.USER_AGENT}
        | auth_headers(destination.auth),
        bodies=bodies,
        events_per_body=counts,
        rate=chosen.rate,
        duration=chosen.duration,
        timeout=settings.volume_timeout_seconds,
        connections=max(1, math.ceil(settings.volume_connections / processes)),
        processes=processes,
    )
    try:
        measurement = await generate_load(plan, on_progress)
    except LoadProcessFailed as exc:
        return [c.errored(f"{label}the load test could not finish: {exc}", endpoint=url) for c in checks]
    results = judge(measurement, plan, mode, settings, label=label, shown=url)
    if chosen.batch:
        for r in results:
            r.evidence["events_per_batch"] = max(counts)
    return results


def run_cli(submission_path: str, rate: float | None = None, duration: float | None = None) -> int:
    """`partner-review load-test SUBMISSION.json --rate R --duration S`: a progress bar, then the
    results. Exit status 0 when no blocker failed, 1 when one did, 2 for a usage error."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar
    from rich.table import Table
    from rich.text import Text

    from partner_review.models.submission import InvalidSubmission, parse_submission

    err = Console(stderr=True)
    try:
        submission = parse_submission(json.loads(Path(submission_path).read_text(encoding="utf-8")))
        chosen = target(get_settings(), rate, duration, None)
    except OSError as exc:
        err.print(f"cannot read {submission_path}: {exc.strerror or exc}", markup=False)
        return 2
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, InvalidSubmission):
            err.print(f"{submission_path} is not a valid submission:", markup=False)
            for problem in exc.problems:
                err.print(f"  {problem}", markup=False)
        elif isinstance(exc, VolumeRefused):
            err.print(f"load test refused: {exc}", markup=False)
        else:
            err.print(f"{submission_path} is not JSON: {exc}", markup=False)
        return 2

    console = Console()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    with Bar(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"{chosen.rate:g} req/s × {chosen.duration:g} s", total=None, stats="")

        def show(done: int, total: int, snap: dict[str, Any]) -> None:
            p99 = snap.get("p99_seconds")
            stats = (
                f"sent {snap['sent']}  errors {snap['errors']}  timeouts {snap['timeouts']}  "
                f"429 {snap['rate_limited']}" + (f"  p99 {p99:.3f} s" if p99 is not None else "")
            )
            bar.update(task, completed=done, total=total, stats=stats)

        try:
            results = asyncio.run(load_test(submission, rate=chosen.rate, duration=chosen.duration, on_progress=show))
        except VolumeRefused as exc:
            err.print(f"load test refused: {exc}", markup=False)
            return 2

    table = Table("check", "outcome", "message", show_lines=False)
    colours = {"pass": "green", "warn": "yellow", "skip": "dim", "fail": "red", "error": "red"}
    for r in results:
        table.add_row(r.check, Text(r.outcome, style=colours[r.outcome]), Text(r.message))
    console.print(table)
    return 1 if any(r.blocks for r in results) else 0
