"""Payloads handed from the Kafka loader to its parse worker through a spool file
(beaconhouse/ingest/spool.py): every byte and position comes back, in order."""

from __future__ import annotations

import os

import pytest

from beaconhouse.ingest.spool import spooled_payloads, unspooled_payloads

pytestmark = pytest.mark.unit


def test_payloads_come_back_byte_for_byte_in_order_and_the_file_is_gone():
    runs = [
        ([b'{"a": 1}', b"", b"\x00\xff\n\r binary", "é".encode() * 1000], [5, 6, 7, 2**40]),
        ([], []),
        ([b"\n"], [0]),
    ]
    spool = spooled_payloads(runs, loader_pid=os.getpid())
    path = spool["path"][0].as_py()
    assert os.path.exists(path)
    values, positions = unspooled_payloads(spool)
    assert values == [b'{"a": 1}', b"", b"\x00\xff\n\r binary", "é".encode() * 1000, b"\n"]
    assert positions == [5, 6, 7, 2**40, 0]
    assert not os.path.exists(path)


def test_an_empty_batch_round_trips():
    values, positions = unspooled_payloads(spooled_payloads([], loader_pid=os.getpid()))
    assert values == []
    assert positions == []
