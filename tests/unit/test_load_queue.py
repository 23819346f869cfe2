"""LoadQueue: loads run one after another, and their ids count as loaded until they land."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from beaconhouse.ingest.batch_landing import LoadQueue

pytestmark = pytest.mark.unit


def test_ids_of_unfinished_loads_are_known_until_they_land():
    release = threading.Event()
    landed: list[str] = []

    def load(name: str) -> None:
        release.wait(timeout=10)
        landed.append(name)

    queue = LoadQueue(max_waiting=1)
    try:
        queue.submit(pa.chunked_array([["a", "b"]]), load, name="first")
        queue.submit(pa.chunked_array([["c"]]), load, name="second")
        assert sorted(queue.loading_ids().to_pylist()) == ["a", "b", "c"]
        release.set()
        queue.drain()
        assert landed == ["first", "second"]  # in order, on one thread
        assert queue.loading_ids().to_pylist() == []
    finally:
        queue.close()


def test_a_failed_load_raises_from_the_next_call():
    def fail() -> None:
        raise RuntimeError("warehouse said no")

    queue = LoadQueue()
    try:
        queue.submit(pa.chunked_array([["a"]]), fail)
        with pytest.raises(RuntimeError, match="warehouse said no"):
            queue.drain()
    finally:
        queue.close()


def test_submit_waits_while_too_many_loads_are_queued():
    started = threading.Event()
    release = threading.Event()

    def slow() -> None:
        started.set()
        release.wait(timeout=10)

    queue = LoadQueue(max_waiting=0)
    try:
        queue.submit(pa.chunked_array([["a"]]), slow)
        assert started.wait(timeout=10)
        timer = threading.Timer(0.2, release.set)
        timer.start()
        queue.submit(pa.chunked_array([["b"]]), lambda: None)  # returns once "a" landed
        assert release.is_set()
        queue.drain()
    finally:
        queue.close()
