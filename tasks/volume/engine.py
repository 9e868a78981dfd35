"""The engine: one process's share of a constant-arrival-rate schedule, sent with aiohttp.

Requests leave on a fixed schedule, whatever the endpoint does, and each request's latency is
measured from the time it was *meant* to leave (no coordinated omission). Every connection goes
to the address the outbound guard vetted; the Host header and TLS server name stay the partner's.
aiohttp rather than the project's httpx client, for speed alone (docs/volume.md has the figures).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from partner_review.tasks.net.retry_after import retry_after_seconds
from partner_review.tasks.volume.plan import (
    DEFAULT_BACKOFF_SECONDS,
    MAX_RESPONSE_BYTES,
    PROGRESS_INTERVAL,
    START_GRACE,
    Measurement,
    Plan,
)

if TYPE_CHECKING:
    from aiohttp.abc import AbstractResolver

# The order of the shared progress counters, when this run is one of several processes.
SHARED = ("done", "sent", "responses", "errors", "timeouts", "rate_limited")


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


class Run:
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
            resolver=cast("AbstractResolver", _Pinned(plan.host, plan.address)),  # duck-typed resolver
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
            base = self.index * len(SHARED)
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
