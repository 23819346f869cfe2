import pyarrow as pa
import pytest

from beaconhouse.enrich.distinct import LruCache, distinct, map_distinct

pytestmark = pytest.mark.unit


class Counting:
    """A per-value function that records every call."""

    def __init__(self):
        self.calls = []

    def __call__(self, *values):
        self.calls.append(values)
        return (f"<{values}>", len(self.calls))


def test_fn_runs_once_per_distinct_value_and_results_follow_row_order():
    fn = Counting()
    values = pa.array(["a", "b", "a", None, "b", "a", None])
    labels, _ = map_distinct(values, fn, [pa.string(), pa.int64()])
    assert sorted(fn.calls, key=str) == sorted([("a",), ("b",), (None,)], key=str)
    assert labels.to_pylist() == [f"<{(v,)}>" for v in values.to_pylist()]


def test_many_rows_few_distinct_values_means_few_calls():
    fn = Counting()
    values = pa.array([f"ua-{i % 37}" for i in range(100_000)])
    (labels, _) = map_distinct(values, fn, [pa.string(), pa.int64()])
    assert len(fn.calls) == 37
    assert len(labels) == 100_000
    assert labels[36_999].as_py() == "<('ua-36',)>"


def test_multi_column_keys_call_once_per_distinct_tuple():
    fn = Counting()
    site = pa.array([1, 1, 2, 1, 2, 1], pa.uint32())
    ua = pa.array(["x", "y", "x", "x", "x", None])
    labels, _ = map_distinct([site, ua], fn, [pa.string(), pa.int64()])
    assert sorted(fn.calls, key=str) == sorted([(1, None), (1, "x"), (1, "y"), (2, "x")], key=str)
    assert labels.to_pylist() == [
        f"<{(s, u)}>" for s, u in zip(site.to_pylist(), ua.to_pylist(), strict=True)
    ]


def test_cache_spans_batches():
    fn = Counting()
    cache = LruCache(100)
    map_distinct(pa.array(["a", "b", "a"]), fn, [pa.string(), pa.int64()], cache=cache)
    (labels, counts) = map_distinct(pa.array(["b", "c", "b"]), fn, [pa.string(), pa.int64()], cache=cache)
    assert [c for (c,) in fn.calls] == ["a", "b", "c"]
    assert labels.to_pylist() == ["<('b',)>", "<('c',)>", "<('b',)>"]
    assert counts.to_pylist() == [2, 3, 2]  # "b" was computed second, in the first batch
    assert (cache.hits, cache.misses) == (1, 3)


def test_lru_cache_is_bounded_and_evicts_least_recently_used():
    cache = LruCache(2)
    cache.get_or_compute("a", lambda: 1)
    cache.get_or_compute("b", lambda: 2)
    cache.get_or_compute("a", lambda: 0)  # touch "a"
    cache.get_or_compute("c", lambda: 3)  # evicts "b"
    assert len(cache) == 2
    assert cache.get_or_compute("a", lambda: 99) == 1
    assert cache.get_or_compute("b", lambda: 22) == 22


def test_empty_and_chunked_inputs():
    fn = Counting()
    (out,) = map_distinct(pa.array([], pa.string()), lambda v: (v,), [pa.string()])
    assert out.to_pylist() == []
    chunked = pa.chunked_array([["a", "b"], ["a"]])
    labels, _ = map_distinct(chunked, fn, [pa.string(), pa.int64()])
    assert labels.to_pylist() == ["<('a',)>", "<('b',)>", "<('a',)>"]
    assert len(fn.calls) == 2


def test_distinct_groups_rows():
    groups = distinct(pa.array([3, 3, 4]), pa.array(["x", "x", "x"]))
    assert len(groups) == 2
    assert sorted(groups.rows()) == [(3, "x"), (4, "x")]
    (back,) = groups.expand([pa.array([f"{a}{b}" for a, b in groups.rows()])])
    assert back.to_pylist() == ["3x", "3x", "4x"]


def test_fn_must_return_one_value_per_output_type():
    with pytest.raises(ValueError, match="expected 2"):
        map_distinct(pa.array(["a"]), lambda v: (v,), [pa.string(), pa.string()])
