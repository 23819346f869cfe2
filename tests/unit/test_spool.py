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


def test_many_payloads_and_short_writes_come_back_whole(monkeypatch):
    """More payloads than one writev() takes, and a kernel that writes only part of
    what it is given (a signal, a full disk): the file still holds every byte."""
    from beaconhouse.ingest import spool

    real_writev = os.writev
    calls = []

    def partial_writev(handle, buffers):
        calls.append(len(buffers))
        # write the first buffer and half of the second, as a short write may
        head = list(buffers[:1]) + ([bytes(buffers[1][: len(buffers[1]) // 2])] if len(buffers) > 1 else [])
        return real_writev(handle, head)

    monkeypatch.setattr(spool, "_IOV_MAX", 7)
    monkeypatch.setattr(spool.os, "writev", partial_writev)
    payloads = [f"payload {i} ".encode() * (i % 5) for i in range(50)]
    values, positions = unspooled_payloads(
        spooled_payloads(
            [(payloads[:20], list(range(20))), (payloads[20:], list(range(20, 50)))], os.getpid()
        )
    )
    assert values == payloads
    assert positions == list(range(50))
    assert max(calls) == 7
    assert len(calls) == 1 + 8  # the header, then the values in groups of 7
