"""``beaconhouse ingest kafka``: a Kafka topic → raw.events, exactly once, through dlt over HTTP.

Per batch of messages (up to ``--max-batch``):

1. consume; keep each partition's messages from its position on;
2. validate and build columns exactly as the file loader does (the same
   :class:`EventBatch`), quarantining what breaks the contract; enrich;
3. drop duplicates exactly (within the batch, against batches still loading, and
   against raw.events);
4. on the load thread, while the next batch is consumed and parsed: record the batch as
   loading in raw.kafka_offsets, load events, quarantine rows and counters in one dlt
   run, then commit the batch's positions in raw.kafka_offsets in one INSERT. The
   consumer group's offsets in Kafka follow, for monitoring.

Positions live in the warehouse, not in Kafka: on every assignment the loader reads
them there, deletes whatever a batch that never committed may have landed, and seeks
to them. docs/kafka.md gives the whole argument, and the failure cases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.config import Settings
from beaconhouse.ingest.batch_landing import LoadQueue, PreparedBatch, prepare_batch
from beaconhouse.ingest.chunk_parser import cyclic_gc_paused
from beaconhouse.ingest.errors import IngestError
from beaconhouse.ingest.kafka_client import (
    OFFSET_UNKNOWN,
    TopicInfo,
    confirmed_log_end,
    consumer_config,
    describe_topic,
)
from beaconhouse.ingest.kafka_offsets import BatchRange, OffsetStore, PartitionRecord, consumer_name
from beaconhouse.ingest.loading import RawLoader
from beaconhouse.ingest.message_parser import Accepted, MessageParser, ParsedMessages
from beaconhouse.ingest.parse_workers import start_loader
from beaconhouse.ingest.spool import process_alive

logger = logging.getLogger(__name__)

#: messages asked of librdkafka per consume() call while a batch fills: few enough that
#: the batch's byte bound is checked often, enough that the calls cost next to nothing
CONSUME_SLICE = 10_000

PIPELINE_NAME = "beaconhouse_kafka"
SOURCE_NAME = "kafka"
ResetTo = Literal["earliest", "latest"]


class OffsetsOutOfRangeError(IngestError):
    """A recorded position does not fit the broker's log (a new or reset broker or topic)."""


@dataclass
class PartitionLag:
    """Where the loader stands in one partition."""

    position: int
    log_end: int

    @property
    def lag(self) -> int:
        return max(0, self.log_end - self.position)


@dataclass
class KafkaReport:
    """What a run did, for the CLI, Dagster metadata and tests."""

    topic: str
    group: str
    batches: int = 0
    messages: int = 0
    events_loaded: int = 0
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    #: partition assignments received from the group (the first one included)
    assignments: int = 0
    #: batches found loading but never committed, whose rows were deleted before replay
    cleaned_up: list[str] = field(default_factory=list)
    #: positions moved by --reset-offsets
    resets: list[str] = field(default_factory=list)
    #: group offset commits to Kafka that failed (the warehouse's positions still hold)
    kafka_commit_failures: int = 0
    lag: dict[int, PartitionLag] = field(default_factory=dict)
    seconds: float = 0.0
    #: from the consume() that returned the first message to the last batch committed
    active_seconds: float = 0.0
    #: seconds per phase: consume, parse and enrich (in the parse worker, if there is
    #: one), wait_parse (the loader waiting for the worker), dedup, load (waiting for it)
    phase_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def total_lag(self) -> int:
        return sum(p.lag for p in self.lag.values())


def ingest_kafka(
    settings: Settings,
    *,
    topic: str | None = None,
    group: str | None = None,
    max_batch: int | None = None,
    until_idle: bool = False,
    idle_seconds: float = 2.0,
    reset_offsets: ResetTo | None = None,
    pipelines_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    parse_worker: bool | None = None,
) -> KafkaReport:
    """Consume ``topic`` as a member of ``group`` and land it in the raw layer.

    Runs until ``stop`` is set, or with ``until_idle`` until every assigned partition
    has been read to its end and nothing arrived for ``idle_seconds``. ``reset_offsets``
    says where to restart a partition whose recorded position the broker's log does not
    have (a new or reset broker or topic); without it that is an error.

    ``parse_worker`` parses each batch in a worker process while the loader lands the
    batch before it (default: ``[kafka] parse_worker``, and if that is unset, where there
    are two cores or more).
    """
    start_loader("ingest_kafka")
    if not settings.sites:
        raise IngestError(
            "no sites are configured ([[sites]] in beaconhouse.toml): every event would be "
            "quarantined as unknown_website"
        )
    kafka = settings.kafka
    run = _KafkaRun(
        settings,
        topic=topic or kafka.topic,
        group=group or kafka.group_id,
        max_batch=max_batch or kafka.max_batch_messages,
        max_batch_bytes=kafka.max_batch_bytes,
        reset_offsets=reset_offsets,
        say=progress or (lambda _line: None),
        parse_worker=_parse_worker(parse_worker if parse_worker is not None else kafka.parse_worker),
    )
    with _dlt_folder(pipelines_dir) as folder:
        return run.run(folder, until_idle=until_idle, idle_seconds=idle_seconds, stop=stop)


def _parse_worker(chosen: bool | None) -> bool:
    # One core would run the worker and the loader by turns: no gain, more memory.
    return (os.cpu_count() or 1) >= 2 if chosen is None else chosen


@contextlib.contextmanager
def _dlt_folder(given: Path | None) -> Iterator[Path]:
    """dlt's working folder: the caller's, or a fresh one per run, removed afterwards.

    Nothing in it needs to survive: positions and state live in the warehouse, and an
    unfinished load package is never resumed (its batch is replayed instead). Folders
    that killed runs left behind are removed when the next run starts.
    """
    if given is not None:
        yield given
        return
    base = Path(tempfile.gettempdir()) / f"beaconhouse-kafka-{os.getuid()}"
    base.mkdir(exist_ok=True)
    for stale in base.glob("pid-*"):
        pid = stale.name.removeprefix("pid-").split("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"pid-{os.getpid()}-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _KafkaRun:
    """One run of the loader: the consumer, its callbacks and the load thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        topic: str,
        group: str,
        max_batch: int,
        max_batch_bytes: int,
        reset_offsets: ResetTo | None,
        say: Callable[[str], None],
        parse_worker: bool = False,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.group = group
        self.max_batch = max_batch
        self.max_batch_bytes = max_batch_bytes
        self.reset_offsets = reset_offsets
        self.say = say
        self.parse_worker = parse_worker
        self.report = KafkaReport(topic=topic, group=group)
        #: next offset to read, per assigned partition (what has been consumed)
        self.positions: dict[int, int] = {}
        #: seq of the partition's latest row in raw.kafka_offsets
        self.seqs: dict[int, int] = {}
        #: positions committed in the warehouse and not yet to the Kafka group
        self._landed: dict[int, int] = {}
        self._landed_lock = threading.Lock()
        #: the batch being parsed: what gives it back parsed, its ranges, when it came
        self._parsing: tuple[Callable[[], ParsedMessages], list[BatchRange], int, int] | None = None
        self._assigned_once = False
        self._lost = False
        self._failed = False
        self._first_batch_at: float | None = None
        self._last_landed_at: float | None = None
        self.topic_info: TopicInfo | None = None

    # -- the run --------------------------------------------------------------------------
    def run(
        self, pipelines_dir: Path, *, until_idle: bool, idle_seconds: float, stop: threading.Event | None
    ) -> KafkaReport:
        from confluent_kafka import Consumer

        from beaconhouse.warehouse.client import connect

        started = time.monotonic()
        settings = self.settings
        warehouse = settings.warehouse
        self.store = OffsetStore(
            connect(warehouse, autogenerate_session_id=False),
            warehouse.raw_database,
            self.group,
            self.topic,
            warehouse.cluster,
        )
        if not self.store.exists():
            raise IngestError(
                f"{warehouse.raw_database}.kafka_offsets does not exist: apply the migrations "
                "(beaconhouse warehouse migrate)"
            )
        self.topic_info = describe_topic(settings.kafka, self.topic)
        self.loader = RawLoader(
            settings, pipeline_name=PIPELINE_NAME, source_name=SOURCE_NAME, pipelines_dir=pipelines_dir
        )
        self.loader.state()  # restores dlt's schema from the warehouse into the fresh folder
        self.consumer = Consumer(
            consumer_config(settings.kafka, self.group, f"beaconhouse-{consumer_name()}")
        )
        # One load at a time: a batch is submitted only after the one before it landed
        # and committed, so a failed load can never be followed by a later commit.
        self.loads = LoadQueue(max_waiting=0)
        self.parser = MessageParser(settings, self.topic, worker=self.parse_worker)
        self.consumer.subscribe(
            [self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        finished = False
        try:
            self._consume(until_idle, idle_seconds, stop)
            finished = True
        finally:
            self._shut_down(finished)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _consume(self, until_idle: bool, idle_seconds: float, stop: threading.Event | None) -> None:
        phases = self.report.phase_seconds
        idle_since: float | None = None
        # A group answers within a few session timeouts, or something is wrong with it.
        assign_wait = max(30.0, 3 * self.settings.kafka.session_timeout_ms / 1000)
        assign_by = time.monotonic() + assign_wait
        while stop is None or not stop.is_set():
            tick = time.monotonic()
            messages = self._next_messages()
            phases["consume"] += time.monotonic() - tick
            if self._lost:
                raise IngestError(
                    f"this consumer lost its partitions of {self.topic} (it was out of the group "
                    "longer than session.timeout.ms or max.poll.interval.ms); stopping"
                )
            self._commit_to_kafka()
            received_ms = int(time.time() * 1000)
            accepted = self._accept(messages)
            del messages
            if accepted:
                idle_since = None
                if self._first_batch_at is None:
                    self._first_batch_at = tick
                self._parse_next(accepted, received_ms)
                # Its payloads are in the worker's file now (or parsed): free them before
                # the next consume() brings as many again (0.1 GB at 100k messages).
                del accepted
                continue
            # nothing new: the batch still being parsed goes on to land
            self._land_parsed()
            if not until_idle:
                continue
            now = time.monotonic()
            if not self._assigned_once and now > assign_by:
                raise IngestError(
                    f"kafka: the group {self.group} assigned no partitions of {self.topic} "
                    f"within {assign_wait:.0f} s"
                )
            if not self._caught_up():
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= idle_seconds:
                return

    def _next_messages(self) -> list[Any]:
        """The next batch: ``max_batch`` messages or ``max_batch_bytes`` of values,
        whichever comes first, or what arrives within a second.

        It fills in slices, so that the byte bound holds (give or take a slice) whatever
        the messages' size. Rebalance callbacks may run between slices: messages of
        partitions revoked meanwhile are dropped by :meth:`_accept`, as within one
        consume() call.
        """
        deadline = time.monotonic() + 1.0
        messages: list[Any] = []
        size = 0
        # A batch is up to 100,000 message objects, which the cyclic collector would
        # traverse again and again as they pile up, with the rest of the loader's heap;
        # they hold no cycles. Consuming 186,044 messages in batches like these, beside
        # a heap of 200,000 objects, took 1.2-1.8 µs a message with the collector
        # paused and 2.3-2.9 with it running (docs/kafka.md).
        with cyclic_gc_paused():
            while True:
                wanted = min(CONSUME_SLICE, self.max_batch - len(messages))
                remaining = max(0.0, deadline - time.monotonic())
                more = self.consumer.consume(num_messages=wanted, timeout=remaining)
                messages += more
                size += sum(map(len, more))  # len(message): its value's bytes
                # fewer than asked for: consume() returned what came within its time, as
                # the one call per batch did before the slices
                full = len(messages) >= self.max_batch or size >= self.max_batch_bytes
                if len(more) < wanted or full or self._lost or time.monotonic() >= deadline:
                    return messages

    def _accept(self, messages: list[Any]) -> Accepted:
        """Each partition's messages from its position on, as (values, offsets)."""
        by_partition: Accepted = {}
        positions = self.positions
        for message in messages:
            if message.error() is not None:
                self._message_error(message)
                continue
            partition = message.partition()
            offset = message.offset()
            position = positions.get(partition)
            # A partition no longer ours, or a message before the position (fetched before
            # a rebalance moved the position back): not ours to load.
            if position is None or offset < position:
                continue
            positions[partition] = offset + 1
            entry = by_partition.get(partition)
            if entry is None:
                entry = by_partition[partition] = ([], [])
            # A message without a value (a tombstone) is a payload too: quarantined as empty.
            entry[0].append(message.value() or b"")
            entry[1].append(offset)
        return by_partition

    def _message_error(self, message: Any) -> None:
        from confluent_kafka import KafkaError

        error = message.error()
        if error.code() == KafkaError._AUTO_OFFSET_RESET:
            raise OffsetsOutOfRangeError(
                f"kafka: {self.topic}[{message.partition()}]: the broker does not have the recorded "
                f"offset ({error.str()}); rerun with --reset-offsets earliest|latest"
            )
        if error.fatal():
            raise IngestError(f"kafka: {error.str()}")
        logger.warning("kafka: %s", error.str())

    def _parse_next(self, accepted: Accepted, received_ms: int) -> None:
        """Start parsing this batch, and land the one parsed before it: while the worker
        parses, or first, when this thread parses itself (so that it never holds two
        parsed batches)."""
        if not self.parser.worker:
            self._land_parsed()
        ranges = []
        for partition, (_, offsets) in accepted.items():
            seq = self.seqs[partition] = self.seqs.get(partition, 0) + 1
            ranges.append(BatchRange(partition, seq, offsets[0], offsets[-1] + 1))
        messages = sum(len(offsets) for _, offsets in accepted.values())
        parsing = (self.parser.submit(accepted, received_ms), ranges, received_ms, messages)
        self._land_parsed()
        self._parsing = parsing

    def _land_parsed(self) -> None:
        """Take the batch being parsed back: dedup it and hand it to the load thread."""
        if self._parsing is None:
            return
        (result, ranges, received_ms, messages), self._parsing = self._parsing, None
        report = self.report
        phases = report.phase_seconds
        tick = time.monotonic()
        parsed = result()
        phases["wait_parse"] += time.monotonic() - tick
        for name, seconds in parsed.phase_seconds.items():
            phases[name] += seconds
        tick = time.monotonic()
        prepared = prepare_batch(
            self.loader.client,
            self.settings.warehouse.raw_database,
            parsed.events,
            parsed.rejections,
            received_ms,
            source_kind="kafka",
            cluster=self.settings.warehouse.cluster,
            loading_ids=self.loads.loading_ids(),
        )
        phases["dedup"] += time.monotonic() - tick
        waited = self.loads.waited
        self.loads.submit(prepared.events["event_id"], self._land, prepared=prepared, ranges=ranges)
        phases["load"] += self.loads.waited - waited
        report.batches += 1
        report.messages += messages
        report.events_loaded += prepared.events.num_rows
        report.duplicates += prepared.duplicates.num_rows
        report.quarantined.update(r.reason.value for r in parsed.rejections)
        lag = sum(p.lag for p in self._lags().values())
        self.say(
            f"batch {report.batches}: {messages} messages, {prepared.events.num_rows} events, "
            f"{prepared.duplicates.num_rows} duplicates, {len(parsed.rejections)} quarantined; lag {lag}"
        )

    def _land(self, prepared: PreparedBatch, ranges: list[BatchRange]) -> None:
        """On the load thread: record the batch as loading, load it, commit it."""
        topic_id = self.topic_info.topic_id if self.topic_info else ""
        days = _event_days(prepared.events)
        batch_ids: list[str] = []

        def mark_loading(load_id: str) -> None:
            batch_ids.append(load_id)
            self.store.mark_loading(ranges, load_id, days, topic_id)

        info = self.loader.load(
            events=prepared.events,
            quarantine=prepared.quarantine,
            counters=prepared.counters,
            state_updates={},
            before_load=mark_loading,
        )
        self.store.commit(ranges, batch_ids[0], topic_id)
        with self._landed_lock:
            self._landed.update({r.partition: r.next_offset for r in ranges})
            self._last_landed_at = time.monotonic()
        # dlt keeps loaded packages in its folder; a long run would fill the disk.
        for package in info.load_packages:
            shutil.rmtree(package.package_path, ignore_errors=True)

    def _commit_to_kafka(self) -> None:
        """Commit the group's offsets in Kafka to what the warehouse has, so that lag
        shows in Kafka's own tooling. The warehouse's positions are the ones that count."""
        from confluent_kafka import KafkaException, TopicPartition

        with self._landed_lock:
            landed, self._landed = self._landed, {}
        if not landed:
            return
        offsets = [TopicPartition(self.topic, p, offset) for p, offset in sorted(landed.items())]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            self.report.kafka_commit_failures += 1
            logger.info("kafka: group offsets not committed (%s); the warehouse has them", exc)

    def _caught_up(self) -> bool:
        """Every assigned partition read to its log end, and every batch landed."""
        if not self._assigned_once or self._parsing is not None or len(self.loads.loading_ids()):
            return False
        return all(lag.lag == 0 for lag in self._lags().values())

    def _lags(self) -> dict[int, PartitionLag]:
        from confluent_kafka import TopicPartition

        lags = {}
        for partition, position in sorted(self.positions.items()):
            tp = TopicPartition(self.topic, partition)
            # A fetch answer's high watermark (cached by librdkafka); ListOffsets if none yet.
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high == OFFSET_UNKNOWN or high < 0:
                _, high = self.consumer.get_watermark_offsets(tp, timeout=10)
            lags[partition] = PartitionLag(position, int(high))
        return lags

    def _shut_down(self, finished: bool) -> None:
        if finished:
            self._land_parsed()
            self.loads.drain()
            if self._first_batch_at is not None and self._last_landed_at is not None:
                self.report.active_seconds = self._last_landed_at - self._first_batch_at
            self._commit_to_kafka()
            self.report.lag = self._lags()
        else:
            # Failing: let a running load finish, start no other, and leave the group
            # without committing anything more (the next owner cleans up after us).
            self._failed = True
            self.loads.close()
        try:
            self.consumer.close()
        finally:
            self.parser.close()
            self.loads.close()

    # -- the group's callbacks (called inside consume(), on this thread) --------------------
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self.report.assignments += 1
        self._assigned_once = True
        if not partitions:
            return
        numbers = [tp.partition for tp in partitions]
        records = self.store.read(numbers)
        for tp in partitions:
            record = records[tp.partition]
            if record.uncommitted is not None:
                batch = record.uncommitted
                self.store.remove_uncommitted(tp.partition, batch)
                self.report.cleaned_up.append(
                    f"{self.topic}[{tp.partition}] batch {batch.ingest_batch_id} "
                    f"(offsets {batch.start_offset}-{batch.next_offset - 1})"
                )
                self.say(f"{self.topic}[{tp.partition}]: removed uncommitted batch {batch.ingest_batch_id}")
            tp.offset = self._start_position(consumer, record)
            self.positions[tp.partition] = tp.offset
            self.seqs[tp.partition] = max(record.last_seq, self.seqs.get(tp.partition, 0))
        consumer.assign(partitions)
        self.say(
            "assigned "
            + ", ".join(f"{self.topic}[{tp.partition}]@{tp.offset}" for tp in sorted(partitions, key=_number))
        )

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        if not self._failed:
            # Whatever this consumer read of these partitions lands and commits before
            # they go: the next owner starts where the warehouse says.
            self._land_parsed()
            self.loads.drain()
            self._commit_to_kafka()
        for tp in partitions:
            self.positions.pop(tp.partition, None)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._lost = True
        for tp in partitions:
            self.positions.pop(tp.partition, None)

    def _start_position(self, consumer: Any, record: PartitionRecord) -> int:
        """Where to start reading a partition: its recorded position, checked against the log."""
        from confluent_kafka import TopicPartition

        partition = record.partition
        low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, partition), timeout=10)
        position = record.position
        if position is None:
            # Never loaded (a new group, or a partition added to the topic): from the start.
            return int(low)
        topic_id = self.topic_info.topic_id if self.topic_info else ""
        recreated = bool(record.topic_id and topic_id and record.topic_id != topic_id)
        if position > high or recreated:
            # Before calling a position invalid, ask a fetch for the log end (see
            # confirmed_log_end): ListOffsets may under-report it.
            high = max(high, confirmed_log_end(self.settings.kafka, self.topic, partition, int(low)))
        if recreated:
            problem = f"the topic was recreated (topic id {topic_id}, recorded {record.topic_id})"
        elif position > high:
            problem = "a new or reset broker or topic?"
        elif position < low:
            problem = f"offsets {position}-{low - 1} were deleted unread"
        else:
            return position
        where = (
            f"kafka: {self.topic}[{partition}]: the warehouse's position is {position}, "
            f"the broker's log is offsets {low}-{high} ({problem})"
        )
        if self.reset_offsets is None:
            raise OffsetsOutOfRangeError(
                f"{where}; nothing was read. Rerun with --reset-offsets earliest (read the whole log) "
                "or --reset-offsets latest (skip to its end)"
            )
        new_position = int(low if self.reset_offsets == "earliest" else high)
        seq = self.seqs[partition] = max(record.last_seq, self.seqs.get(partition, 0)) + 1
        note = f"reset to {self.reset_offsets}: {problem}"
        self.store.record_reset(BatchRange(partition, seq, position, new_position), topic_id, note)
        self.report.resets.append(
            f"{self.topic}[{partition}] {position} -> {new_position} ({self.reset_offsets})"
        )
        self.say(f"{where}; reset to {self.reset_offsets} offset {new_position}")
        return new_position


def _number(tp: Any) -> int:
    return int(tp.partition)


def _event_days(events: pa.Table) -> list[dt.date]:
    """The days (toDate(client_ts)) the batch's events fall on."""
    if not events.num_rows:
        return []
    days = pc.unique(pc.cast(pc.cast(events["client_ts"], pa.timestamp("ms", tz="UTC")), pa.date32()))
    return sorted(days.to_pylist())
