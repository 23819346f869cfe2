"""Turn a batch of Kafka messages into enriched events and rejections, one batch ahead.

Parsing (decode, validate, build columns, enrich) is the CPU-bound part of the Kafka
loader. With a worker process, batch N is parsed there while the loader's own thread
consumes batch N+1 and dedupes and lands batch N-1, so that both cores work. Without
one (one core, or ``parse_worker=False``), it runs in the loader, as before.

The loader submits batch N before it takes batch N-1 back, and takes them back in
order; so at most two are in flight, and the worker never waits for work.

Payloads travel to the worker as a plain file, and events back as an Arrow file, in
shared memory (:mod:`beaconhouse.ingest.spool`), not through the pool's pipe: that
is cheaper, and a worker that dies can never leave the pool's feeder thread blocked
on a half-sent batch (the loader would then hang on exit instead of failing).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import pyarrow as pa

from beaconhouse.config import Settings
from beaconhouse.ingest.chunk_parser import cyclic_gc_paused, enrich_events, new_event_batch
from beaconhouse.ingest.events_builder import Lineage
from beaconhouse.ingest.parse_workers import loader_pid, parse_pool, worker_died, worker_result
from beaconhouse.ingest.quarantine import Rejection
from beaconhouse.ingest.spool import (
    remove_spool,
    spooled,
    spooled_payloads,
    unspooled,
    unspooled_payloads,
)

#: each partition's accepted messages, as (values, offsets)
Accepted = dict[int, tuple[list[bytes], list[int]]]


@dataclass
class ParsedMessages:
    events: pa.Table
    rejections: list[Rejection]
    phase_seconds: dict[str, float] = field(default_factory=dict)


def parse_messages(settings: Settings, topic: str, accepted: Accepted, received_ms: int) -> ParsedMessages:
    """Validate and enrich one batch, as the file loader does its chunks."""
    tick = time.monotonic()
    batch = new_event_batch(settings)
    with cyclic_gc_paused():
        for partition, (values, offsets) in accepted.items():
            # One lineage object per partition: the batch tells lineages apart by identity.
            lineage = Lineage(source_kind="kafka", kafka_topic=topic, kafka_partition=partition)
            batch.add_payloads(values, offsets, lineage, received_ms)
        events = batch.to_arrow()
        rejections = batch.rejections
    parsed = time.monotonic()
    events = enrich_events(settings, events)
    phases = {"parse": parsed - tick, "enrich": time.monotonic() - parsed}
    return ParsedMessages(events, rejections, phases)


def _spooled_messages(accepted: Accepted) -> tuple[pa.Table, list[tuple[int, int]]]:
    """The batch's payloads in one spool file, and its (partition, rows) runs."""
    runs = [(partition, len(offsets)) for partition, (_, offsets) in accepted.items()]
    return spooled_payloads(list(accepted.values()), loader_pid=os.getpid()), runs


def _parse_spooled_messages(
    settings: Settings, topic: str, spool: pa.Table, runs: list[tuple[int, int]], received_ms: int
) -> ParsedMessages:
    """In the worker: read the batch from its file, parse it, spool the events back."""
    values, offsets = unspooled_payloads(spool)
    accepted: Accepted = {}
    start = 0
    for partition, rows in runs:
        accepted[partition] = (values[start : start + rows], offsets[start : start + rows])
        start += rows
    parsed = parse_messages(settings, topic, accepted, received_ms)
    parsed.events = spooled(parsed.events, loader_pid=loader_pid())
    return parsed


class MessageParser:
    """Parses the loader's batches: in one worker process, or in the caller."""

    def __init__(self, settings: Settings, topic: str, *, worker: bool) -> None:
        self.settings = settings
        self.topic = topic
        self.worker = worker
        self._pool: ProcessPoolExecutor | None = None
        #: batches submitted and not taken back, with the path of their payloads' file
        self._in_flight: dict[Future[ParsedMessages], str] = {}

    def submit(self, accepted: Accepted, received_ms: int) -> Callable[[], ParsedMessages]:
        """Start parsing a batch; call what this returns to have it parsed."""
        if not self.worker:
            parsed = parse_messages(self.settings, self.topic, accepted, received_ms)
            return lambda: parsed
        if self._pool is None:
            self._pool = parse_pool(1)
        spool, runs = _spooled_messages(accepted)
        try:
            future = self._pool.submit(
                _parse_spooled_messages, self.settings, self.topic, spool, runs, received_ms
            )
        except BrokenProcessPool as exc:
            remove_spool(spool)
            raise worker_died(exc, "Kafka", "ingest_kafka") from exc
        self._in_flight[future] = spool["path"][0].as_py()

        def result() -> ParsedMessages:
            self._in_flight.pop(future, None)
            try:
                parsed = worker_result(future, "Kafka", "ingest_kafka")
            finally:
                remove_spool(spool)  # the worker removes it once read; not if it died first
            parsed.events = unspooled(parsed.events)
            return parsed

        return result

    def close(self) -> None:
        """Stop the worker. Batches still in flight are dropped, their files removed."""
        in_flight, self._in_flight = self._in_flight, {}
        for future in in_flight:
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for future, payloads in in_flight.items():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(payloads)  # the worker never read them
            if not future.cancelled() and future.exception() is None:
                remove_spool(future.result().events)
