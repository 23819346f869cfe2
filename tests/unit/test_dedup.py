"""Exact dedup within a batch: the first delivery of each event_id wins."""

from __future__ import annotations

import pyarrow as pa
import pytest

from beaconhouse.ingest.dedup import first_occurrences

pytestmark = pytest.mark.unit


def test_first_occurrence_of_each_id_is_kept_across_chunks():
    ids = pa.chunked_array([["a", "b", "a"], ["c", "b"], ["a", "d"]])
    assert first_occurrences(ids).tolist() == [True, True, False, True, False, False, True]


def test_no_repeats_keeps_everything_and_empty_is_empty():
    assert first_occurrences(pa.array(["x", "y", "z"])).tolist() == [True, True, True]
    assert first_occurrences(pa.array([], type=pa.string())).tolist() == []
