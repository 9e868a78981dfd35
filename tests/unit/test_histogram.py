"""The log-bucket latency histogram: precision, merging, bounded memory."""

import json
import random

import pytest

from partner_review.tasks.volume.histogram import BUCKETS, HIGHEST, Histogram, bucket_bounds, bucket_of


def exact(values: list[int], p: float) -> int:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def test_buckets_tile_the_range_without_gaps():
    for index in range(BUCKETS - 1):
        assert bucket_bounds(index)[1] == bucket_bounds(index + 1)[0]
    for value in [0, 1, 255, 256, 257, 511, 512, 10**6, 2**31 - 1, HIGHEST]:
        low, high = bucket_bounds(bucket_of(value))
        assert low <= value < high


def test_small_values_are_exact():
    h = Histogram()
    for v in [3, 1, 2, 200, 7]:
        h.record(v)
    assert (h.percentile(50), h.percentile(100), h.min, h.max, h.count) == (3, 200, 1, 200, 5)


@pytest.mark.parametrize("p", [50, 90, 95, 99, 99.9])
def test_percentiles_are_within_one_bucket_and_never_understate(p):
    rng = random.Random(42)
    values = [int(rng.lognormvariate(10, 1.5)) for _ in range(50_000)]  # microseconds, long tail
    h = Histogram()
    for v in values:
        h.record(v)
    truth = exact(values, p)
    got = h.percentile(p)
    assert truth <= got <= truth * (1 + 1 / 128) + 1


def test_merge_equals_recording_everything_in_one():
    rng = random.Random(7)
    a_values = [rng.randrange(0, 5_000_000) for _ in range(3_000)]
    b_values = [rng.randrange(0, 50_000) for _ in range(3_000)]
    a, b, both = Histogram(), Histogram(), Histogram()
    for v in a_values:
        a.record(v)
        both.record(v)
    for v in b_values:
        b.record(v)
        both.record(v)
    merged = a.merge(b)
    assert merged.counts == both.counts
    assert (merged.count, merged.min, merged.max, merged.total) == (both.count, both.min, both.max, both.total)
    assert merged.percentile(99) == both.percentile(99)


def test_merging_into_an_empty_histogram_keeps_the_minimum():
    a = Histogram()
    b = Histogram()
    b.record(500)
    b.record(900)
    assert a.merge(b).min == 500
    assert Histogram().merge(Histogram()).count == 0


def test_memory_does_not_grow_with_samples():
    h = Histogram()
    for v in range(0, 200_000_000, 997):  # 200,000 samples across 200 s
        h.record(v)
    assert len(h.counts) == BUCKETS < 4_000
    assert len(json.dumps(h.to_dict())) < 60_000
    assert h.count == len(range(0, 200_000_000, 997))


def test_values_past_the_highest_are_clamped_and_counted():
    h = Histogram()
    h.record(HIGHEST * 10)
    h.record(-5)
    assert h.clamped == 1 and h.max == HIGHEST and h.min == 0


def test_round_trip_through_a_dict_and_json():
    h = Histogram()
    for v in [1, 10, 100, 1_000, 10_000, 5_000_000]:
        h.record(v)
    back = Histogram.from_dict(json.loads(json.dumps(h.to_dict())))
    assert back.counts == h.counts and back.count == h.count and back.percentile(95) == h.percentile(95)


def test_a_dict_whose_buckets_do_not_add_up_is_refused():
    data = Histogram().to_dict()
    data["count"] = 3
    with pytest.raises(ValueError, match="do not add up"):
        Histogram.from_dict(data)


def test_empty_histogram_and_bad_percentiles():
    h = Histogram()
    assert h.percentile(99) == 0 and h.summary_seconds()["count"] == 0
    with pytest.raises(ValueError):
        h.percentile(101)


def test_summary_is_in_seconds():
    h = Histogram()
    h.record_seconds(0.25)
    h.record_seconds(1.5)
    s = h.summary_seconds()
    assert s["max"] == 1.5 and 0.25 <= s["p50"] <= 0.252
