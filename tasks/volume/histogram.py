"""A latency histogram with log-sized buckets (HDR style): bounded memory, mergeable.

Values are recorded in whole microseconds. Below 2**SUB_BITS microseconds every value has its own
bucket; above, each power of two is split into 2**(SUB_BITS-1) equal buckets, so a reported
percentile is within 1/2**(SUB_BITS-1) (under 0.8 %) of the true value. Values above `HIGHEST`
are clamped into the last bucket (and counted in `clamped`). Memory is a fixed array of about
3,300 counters whatever the number of samples; two histograms merge by adding their counters,
which is how samples from several load processes are combined.
"""

from __future__ import annotations

from typing import Any

SUB_BITS = 8
SUB_COUNT = 1 << SUB_BITS  # values below this have one bucket each
HALF = SUB_COUNT >> 1
HIGHEST = 3_600 * 1_000_000  # one hour in microseconds


def bucket_of(value: int) -> int:
    """The bucket index of a non-negative integer value."""
    if value < SUB_COUNT:
        return value
    shift = value.bit_length() - SUB_BITS
    return HALF * shift + (value >> shift)


def bucket_bounds(index: int) -> tuple[int, int]:
    """The values [low, high) that fall in bucket `index`."""
    if index < SUB_COUNT:
        return index, index + 1
    shift = index // HALF - 1
    mantissa = index - HALF * shift
    return mantissa << shift, (mantissa + 1) << shift


BUCKETS = bucket_of(HIGHEST) + 1


class Histogram:
    """Counts of microsecond values in log-sized buckets, with exact count, min, max and sum."""

    __slots__ = ("counts", "count", "min", "max", "total", "clamped")

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS
        self.count = 0
        self.min = 0
        self.max = 0
        self.total = 0
        self.clamped = 0

    def record(self, value: int) -> None:
        """Add one sample (microseconds; negative values count as 0)."""
        if value < 0:
            value = 0
        elif value > HIGHEST:
            value = HIGHEST
            self.clamped += 1
        self.counts[bucket_of(value)] += 1
        if self.count == 0 or value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self.count += 1
        self.total += value

    def record_seconds(self, seconds: float) -> None:
        self.record(int(seconds * 1_000_000))

    def merge(self, other: Histogram) -> Histogram:
        """Add `other`'s samples to this histogram (in place) and return it."""
        if other.count == 0:
            return self
        counts = self.counts
        for index, n in enumerate(other.counts):
            if n:
                counts[index] += n
        self.min = other.min if self.count == 0 else min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.count += other.count
        self.total += other.total
        self.clamped += other.clamped
        return self

    def percentile(self, p: float) -> int:
        """The value at or below which `p` percent of samples fall (0 with no samples).

        Reports the upper end of the bucket that holds the rank, never more than the exact
        maximum, so a percentile may overstate a sample by one bucket width but never hide one.
        """
        if not 0 <= p <= 100:
            raise ValueError(f"percentile must be between 0 and 100, got {p}")
        if self.count == 0:
            return 0
        if p >= 100:
            return self.max
        rank = max(1, -(-self.count * p // 100))  # ceil, at least the first sample
        seen = 0
        for index, n in enumerate(self.counts):
            if n:
                seen += n
                if seen >= rank:
                    _, high = bucket_bounds(index)
                    return max(self.min, min(high - 1, self.max))
        return self.max

    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def summary_seconds(self) -> dict[str, float | int]:
        """Count and p50/p95/p99/max/mean in seconds, rounded to the microsecond."""
        return {
            "count": self.count,
            "p50": self.percentile(50) / 1e6,
            "p95": self.percentile(95) / 1e6,
            "p99": self.percentile(99) / 1e6,
            "max": self.max / 1e6,
            "mean": round(self.mean() / 1e6, 6),
        }

    def to_dict(self) -> dict[str, Any]:
        """A compact, JSON- and pickle-friendly form (non-zero buckets only)."""
        return {
            "buckets": {i: n for i, n in enumerate(self.counts) if n},
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "total": self.total,
            "clamped": self.clamped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        histogram = cls()
        for index, n in data["buckets"].items():
            histogram.counts[int(index)] = int(n)
        histogram.count = int(data["count"])
        histogram.min = int(data["min"])
        histogram.max = int(data["max"])
        histogram.total = int(data["total"])
        histogram.clamped = int(data.get("clamped", 0))
        if sum(histogram.counts) != histogram.count:
            raise ValueError("histogram buckets do not add up to its count")
        return histogram

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, p50={self.percentile(50)}us, max={self.max}us)"
