"""What a load test runs: the target (rate, duration, mode) checked against the limits, the vetted
endpoint, and the plain-data `Plan` and `Measurement` that travel between processes."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from partner_review.models.settings import Settings
from partner_review.tasks.volume.histogram import Histogram

Progress = Callable[[int, int, dict[str, Any]], "Awaitable[None] | None"]

DEFAULT_BACKOFF_SECONDS = 1.0  # a 429 without a usable Retry-After: pause briefly rather than not at all
MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of any answer; a load test only needs the status
PROGRESS_INTERVAL = 0.25
START_GRACE = 0.05  # the schedule starts this long after setup so the first slots are not already late


class VolumeRefused(ValueError):
    """A load test that must not run as asked (rate, duration or batch size out of range)."""


class LoadProcessFailed(RuntimeError):
    """One of several load processes did not start, failed, or did not finish in time."""


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

    guard = outbound.GuardedTransport(
        allowed_networks=outbound.parse_networks(settings.allowed_networks), host_map=settings.resolve_table
    )
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
