"""Columns built from decoded events (beaconhouse/ingest/event_columns.py)."""

from __future__ import annotations

import uuid

import pytest

from beaconhouse.ingest.event_columns import _uuid_texts

pytestmark = pytest.mark.unit


def test_event_ids_become_canonical_lower_case_text_and_missing_ones_null():
    ids = [
        uuid.UUID("ABCDEF01-2345-4678-89AB-CDEF01234567"),
        None,
        uuid.UUID(int=0),
        uuid.UUID(int=2**128 - 1),
        None,
        uuid.uuid4(),
    ]
    texts = _uuid_texts(ids)
    texts.validate(full=True)
    assert texts.to_pylist() == [None if u is None else str(u) for u in ids]
    assert texts.to_pylist()[:4] == [
        "abcdef01-2345-4678-89ab-cdef01234567",
        None,
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ]
    assert texts.null_count == 2


def test_a_block_without_ids_or_with_no_rows():
    assert _uuid_texts([]).to_pylist() == []
    assert _uuid_texts([None, None]).to_pylist() == [None, None]
