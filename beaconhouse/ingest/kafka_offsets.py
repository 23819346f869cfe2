"""The Kafka loader's positions, kept in the warehouse beside the data: raw.kafka_offsets.

Per consumer group, topic and partition the table holds two kinds of rows (see
``sql/migrations/V0006__kafka_offsets.sql`` and docs/kafka.md):

- ``loading``: written before a batch's rows are sent. It names the batch (its dlt load
  id, which every row of the batch carries as ``ingest_batch_id``) and its offsets.
- ``committed``: written, for all partitions of the batch in one INSERT, after every
  row of the batch has landed. The partition's position is the ``next_offset`` of its
  latest committed row.

A ``loading`` row with a higher ``seq`` than the partition's latest ``committed`` row is
a batch that may have landed in part and never committed (the loader was killed, or a
load failed). Before anyone reads the partition on, :meth:`OffsetStore.remove_uncommitted`
deletes that batch's rows from raw.events, raw.events_quarantine and raw.ingest_counters,
so that replaying it from the committed position counts every message once.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

LOADING = "loading"
COMMITTED = "committed"
_COLUMNS = [
    "consumer_group",
    "topic",
    "partition",
    "state",
    "seq",
    "start_offset",
    "next_offset",
    "ingest_batch_id",
    "event_days",
    "topic_id",
    "note",
    "consumer",
]


@dataclass(frozen=True)
class BatchRange:
    """One partition's share of a batch: offsets ``start_offset`` up to ``next_offset``."""

    partition: int
    seq: int
    start_offset: int
    next_offset: int


@dataclass(frozen=True)
class UncommittedBatch:
    """A batch recorded as loading that never committed."""

    ingest_batch_id: str
    seq: int
    start_offset: int
    next_offset: int
    event_days: tuple[dt.date, ...]


@dataclass(frozen=True)
class PartitionRecord:
    """What the warehouse knows about one partition."""

    partition: int
    #: the committed position (the next offset to read); None if nothing committed yet
    position: int | None
    #: the topic id the position belongs to ("" if unknown)
    topic_id: str
    #: the highest seq of any row: the next batch or reset takes seq + 1
    last_seq: int
    uncommitted: UncommittedBatch | None


def consumer_name() -> str:
    """Who writes a row: host and process id, for people reading the table."""
    return f"{socket.gethostname()}:{os.getpid()}"


class OffsetStore:
    """Reads and writes one consumer group's positions for one topic.

    ``client`` is a clickhouse-connect client of its own: the store is used from the
    consumer's thread (on partition assignment) and from the load thread (per batch),
    never at once, and a lock makes sure of it.
    """

    def __init__(
        self, client: Any, raw_database: str, group: str, topic: str, cluster: str | None = None
    ) -> None:
        self.client = client
        self.raw_database = raw_database
        self.group = group
        self.topic = topic
        self.cluster = cluster
        self.consumer = consumer_name()
        self._lock = threading.Lock()
        # On a cluster the table is replicated to every node: write to a quorum and read
        # only what a quorum has, so a position written through one node is what the
        # next owner of the partition reads through another.
        self._write_settings = {"insert_quorum": "auto"} if cluster else {}
        self._read_settings = {"select_sequential_consistency": 1} if cluster else {}
        #: clickhouse-connect's insert context for the table, made on the first insert
        self._insert_context: Any = None

    @property
    def table(self) -> str:
        return f"`{self.raw_database}`.kafka_offsets"

    def exists(self) -> bool:
        """Whether raw.kafka_offsets exists (the migrations create it)."""
        with self._lock:
            rows = self.client.query(
                "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'kafka_offsets'",
                parameters={"db": self.raw_database},
            ).result_rows
        return bool(rows[0][0])

    def read(self, partitions: Iterable[int]) -> dict[int, PartitionRecord]:
        """The record of every partition in ``partitions`` (absent ones start empty)."""
        wanted = sorted(set(partitions))
        with self._lock:
            rows = self.client.query(
                "SELECT partition, state, max(seq), argMax(next_offset, seq), argMax(start_offset, seq), "
                "argMax(ingest_batch_id, seq), argMax(event_days, seq), argMax(topic_id, seq) "
                f"FROM {self.table} "
                "WHERE consumer_group = {group:String} AND topic = {topic:String} "
                "AND partition IN {partitions:Array(Int32)} "
                "GROUP BY partition, state",
                parameters={"group": self.group, "topic": self.topic, "partitions": wanted},
                settings=self._read_settings,
            ).result_rows
        latest: dict[tuple[int, str], tuple[Any, ...]] = {(row[0], row[1]): row[2:] for row in rows}
        records = {}
        for partition in wanted:
            committed = latest.get((partition, COMMITTED))
            loading = latest.get((partition, LOADING))
            committed_seq = committed[0] if committed else -1
            uncommitted = None
            if loading is not None and loading[0] > committed_seq:
                seq, next_offset, start_offset, batch_id, days, _ = loading
                uncommitted = UncommittedBatch(batch_id, seq, start_offset, next_offset, tuple(days))
            records[partition] = PartitionRecord(
                partition=partition,
                position=committed[1] if committed else None,
                topic_id=committed[5] if committed else "",
                last_seq=max(committed_seq, loading[0] if loading else -1, 0),
                uncommitted=uncommitted,
            )
        return records

    def mark_loading(
        self, ranges: Sequence[BatchRange], batch_id: str, event_days: Sequence[dt.date], topic_id: str
    ) -> None:
        """Record that batch ``batch_id`` is about to land (before any of its rows is sent)."""
        self._insert(ranges, LOADING, batch_id, event_days, topic_id, "")

    def commit(self, ranges: Sequence[BatchRange], batch_id: str, topic_id: str) -> None:
        """Record, in one INSERT, that every row of batch ``batch_id`` has landed."""
        self._insert(ranges, COMMITTED, batch_id, (), topic_id, "")

    def record_reset(self, reset: BatchRange, topic_id: str, note: str) -> None:
        """Move a partition's position without a batch (``--reset-offsets``)."""
        self._insert([reset], COMMITTED, "", (), topic_id, note)

    def _insert(
        self,
        ranges: Sequence[BatchRange],
        state: str,
        batch_id: str,
        event_days: Sequence[dt.date],
        topic_id: str,
        note: str,
    ) -> None:
        rows = [
            [
                self.group,
                self.topic,
                r.partition,
                state,
                r.seq,
                r.start_offset,
                r.next_offset,
                batch_id,
                list(event_days),
                topic_id,
                note,
                self.consumer,
            ]
            for r in ranges
        ]
        with self._lock:
            if self._insert_context is None:
                # Asks the server for the column types once: an insert without a
                # context sends a DESCRIBE first, two requests more per batch.
                self._insert_context = self.client.create_insert_context(
                    self.table, column_names=_COLUMNS, settings=self._write_settings or None
                )
            self.client.insert(data=rows, context=self._insert_context)

    def remove_uncommitted(self, partition: int, batch: UncommittedBatch) -> None:
        """Delete every row an uncommitted batch may have landed for ``partition``.

        Deleting an id that landed nowhere is harmless, and so is deleting twice: a
        clean-up cut short by another crash is simply done again by the next owner.
        Counters carry no partition: a batch's counter rows go with any of its partitions.
        """
        # On a cluster, rows are deleted where they live: the *_local tables, on every node.
        on_cluster = f" ON CLUSTER '{self.cluster}'" if self.cluster else ""

        def table(name: str) -> str:
            return f"`{self.raw_database}`.{name}_local" if self.cluster else f"`{self.raw_database}`.{name}"

        where_kafka = (
            "ingest_batch_id = {batch:String} AND kafka_topic = {topic:String} "
            "AND kafka_partition = {partition:Int32}"
        )
        parameters = {"batch": batch.ingest_batch_id, "topic": self.topic, "partition": partition}
        statements = []
        if batch.event_days:
            statements.append(
                (
                    f"DELETE FROM {table('events')}{on_cluster} "
                    f"WHERE toDate(client_ts) IN {{days:Array(Date)}} AND {where_kafka}",
                    {**parameters, "days": list(batch.event_days)},
                )
            )
        statements.append(
            (f"DELETE FROM {table('events_quarantine')}{on_cluster} WHERE {where_kafka}", parameters)
        )
        statements.append(
            (
                f"DELETE FROM {table('ingest_counters')}{on_cluster} "
                "WHERE ingest_batch_id = {batch:String} AND source_kind = 'kafka'",
                {"batch": batch.ingest_batch_id},
            )
        )
        with self._lock:
            for sql, bound in statements:
                # Lightweight deletes hide the rows when the statement returns
                # (lightweight_deletes_sync=2), before the replay's dedup lookup runs.
                self.client.command(sql, parameters=bound, settings={"lightweight_deletes_sync": 2})
