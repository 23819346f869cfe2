"""``beaconhouse ingest kafka`` against a real broker (Tansu) and the embedded warehouse.

Every test compares what landed with a truth it did not compute from the loader: the
generator's truth files, the messages the test produced itself, or a run of the same
topic into a second raw layer that nothing interrupted.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from beaconhouse.config import Settings
from beaconhouse.generate.cli import GenerateOptions
from beaconhouse.generate.cli import run as generate
from beaconhouse.ingest.errors import IngestError
from beaconhouse.ingest.event_columns import Lineage, derived_event_id
from beaconhouse.ingest.kafka_offsets import OffsetStore
from beaconhouse.ingest.kafka_pipeline import OffsetsOutOfRangeError, ingest_kafka
from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations
from tests.kafka_broker import TansuBroker

pytestmark = pytest.mark.server
REPO = Path(__file__).resolve().parents[2]
#: consumer-group timings for tests: a group forms in about half a session timeout
FAST_GROUP = {"session_timeout_ms": 1000, "heartbeat_interval_ms": 100, "metadata_refresh_interval_ms": 1000}
SITES = [
    {"website_id": 1, "domain": "shop.example", "timezone": "Europe/Berlin"},
    {"website_id": 2, "domain": "news.example", "timezone": "America/New_York"},
]


@pytest.fixture(scope="module")
def broker():
    with TansuBroker() as running:
        yield running


def topic_name() -> str:
    return f"events-{uuid.uuid4().hex[:8]}"


def raw_layer(warehouse: Any, broker: TansuBroker, sites: list[dict[str, Any]]) -> Settings:
    """Settings for a raw layer of the test's own, freshly migrated."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings.model_validate(
        {
            "warehouse": {
                "url": warehouse.url,
                "raw_database": f"raw_{suffix}",
                "meta_database": f"meta_{suffix}",
            },
            "kafka": {"bootstrap_servers": broker.bootstrap_servers, **FAST_GROUP},
            "sites": sites,
        }
    )
    apply_migrations(warehouse.client(), SchemaContext(raw_db=f"raw_{suffix}", meta_db=f"meta_{suffix}"))
    return settings


REPORT_FIELDS = ("truth_dir", "payload_lines", "malformed_payloads", "duplicate_deliveries", "events")


def generated(
    broker: TansuBroker, tmp_path: Path, partitions: int, seed: int, visitors: int = 250, topic: str = ""
) -> Any:
    """A topic holding generated traffic (with malformed payloads), and its report.

    With ``topic``, the traffic goes to that existing topic."""
    if not topic:
        topic = topic_name()
        broker.create_topic(topic, partitions=partitions)
    report = generate(
        Settings(),
        GenerateOptions(
            to=f"kafka://{broker.bootstrap_servers}/{topic}",
            sites=2,
            days=2,
            start=dt.date(2026, 3, 1),
            visitors=visitors,
            seed=seed,
            malformed_share=0.01,
            truth=tmp_path / f"truth-{topic}-{seed}",
        ),
    )
    sites = tomllib.loads((report.truth_dir / "sites.toml").read_text())["sites"]
    return SimpleNamespace(**{f: getattr(report, f) for f in REPORT_FIELDS}, topic=topic, sites=sites)


def rows(warehouse: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in warehouse.client().query(sql).result_rows]


def assert_matches_truth(warehouse: Any, raw: str, *reports: Any) -> None:
    """raw.events and the quarantine hold exactly what the generators' truths say."""
    expected: Counter[tuple[int, str, str]] = Counter()
    malformed: list[dict[str, str]] = []
    for report in reports:
        for r in csv.DictReader((report.truth_dir / "raw_daily.csv").open()):
            for kind in ("pageview", "event", "transaction"):
                if int(r[kind]):
                    expected[(int(r["website_id"]), r["date"], kind)] += int(r[kind])
        malformed += csv.DictReader((report.truth_dir / "malformed.csv").open())
    loaded = {
        (site, str(day), kind): n
        for site, day, kind, n in rows(
            warehouse,
            f"SELECT website_id, toDate(client_ts), event_type, count() FROM {raw}.events "
            "WHERE event_type != 'transaction_item' GROUP BY ALL",
        )
    }
    assert loaded == dict(expected)
    assert rows(warehouse, f"SELECT count() = uniqExact(event_id) FROM {raw}.events") == [(1,)]
    quarantined = Counter(
        dict(rows(warehouse, f"SELECT reason, count() FROM {raw}.events_quarantine GROUP BY reason"))
    )
    assert quarantined == Counter(row["reason"] for row in malformed)
    assert len(malformed) == sum(report.malformed_payloads for report in reports) > 5


def counter_totals(warehouse: Any, raw: str) -> dict[int, tuple[int, ...]]:
    return {
        site: tuple(counts)
        for site, *counts in rows(
            warehouse,
            f"SELECT website_id, sum(received), sum(loaded), sum(quarantined), sum(duplicate) "
            f"FROM {raw}.ingest_counters GROUP BY website_id",
        )
    }


def log_ends(broker: TansuBroker, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "test-log-ends"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for p in partitions:
            # A fetch answer's high watermark: Tansu's ListOffsets under-reports (docs/kafka.md).
            consumer.assign([TopicPartition(topic, p, 0)])
            deadline = time.monotonic() + 10
            high = -1
            while high < 0 and time.monotonic() < deadline:
                consumer.consume(num_messages=1, timeout=0.2)
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)
            ends[p] = high
        return ends
    finally:
        consumer.close()


def committed_positions(warehouse: Any, raw: str, group: str, topic: str) -> dict[int, int]:
    return dict(
        rows(
            warehouse,
            f"SELECT partition, argMax(next_offset, seq) FROM {raw}.kafka_offsets "
            f"WHERE consumer_group = '{group}' AND topic = '{topic}' AND state = 'committed' "
            "GROUP BY partition",
        )
    )


def ingest(settings: Settings, topic: str, tmp_path: Path, group: str = "loader", **kwargs: Any) -> Any:
    kwargs.setdefault("until_idle", True)
    kwargs.setdefault("idle_seconds", 0.5)
    return ingest_kafka(
        settings, topic=topic, group=group, pipelines_dir=tmp_path / f"dlt-{uuid.uuid4().hex[:6]}", **kwargs
    )


# --- in-process runs -----------------------------------------------------------------------


@pytest.mark.parametrize("parse_worker", [True, False], ids=["parse worker", "parsed in the loader"])
def test_generated_traffic_lands_exactly_as_the_truth_says(warehouse, broker, tmp_path, parse_worker):
    report = generated(broker, tmp_path, partitions=3, seed=7)
    settings = raw_layer(warehouse, broker, report.sites)
    raw = settings.warehouse.raw_database

    first = ingest(settings, report.topic, tmp_path, max_batch=2000, parse_worker=parse_worker)
    assert first.messages == report.payload_lines
    assert first.batches >= 3
    assert_matches_truth(warehouse, raw, report)
    events, quarantined = rows(
        warehouse, f"SELECT (SELECT count() FROM {raw}.events), (SELECT count() FROM {raw}.events_quarantine)"
    )[0]
    assert (first.events_loaded, first.quarantined_total) == (events, quarantined)
    # Counters: every message counted once, as what it became.
    received, loaded, bad, duplicate = (
        sum(c) for c in zip(*counter_totals(warehouse, raw).values(), strict=True)
    )
    assert (loaded, bad, duplicate) == (events, quarantined, first.duplicates)
    assert received == loaded + bad + duplicate
    assert first.duplicates >= report.duplicate_deliveries > 0
    # Quarantined rows name their message.
    lineage = rows(
        warehouse,
        f"SELECT countIf(kafka_topic = '{report.topic}' AND kafka_offset IS NOT NULL "
        f"AND kafka_partition IS NOT NULL AND source_kind = 'kafka') FROM {raw}.events_quarantine",
    )
    assert lineage == [(quarantined,)]

    # Positions: in the warehouse, in the consumer group, and in the report, all at the end.
    ends = log_ends(broker, report.topic)
    assert committed_positions(warehouse, raw, "loader", report.topic) == ends
    assert {p: lag.position for p, lag in first.lag.items()} == ends
    assert first.total_lag == 0
    assert group_offsets(broker, "loader", report.topic) == ends

    again = ingest(settings, report.topic, tmp_path)
    assert (again.messages, again.batches, again.total_lag) == (0, 0, 0)
    assert_matches_truth(warehouse, raw, report)


def group_offsets(broker: TansuBroker, group: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return {tp.partition: tp.offset for tp in committed}
    finally:
        consumer.close()


def event_json(n: int, **changes: Any) -> bytes:
    ts = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
    body: dict[str, Any] = {
        "type": "pageview",
        "event_id": str(uuid.UUID(int=n + 1)),
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "received_at": (ts + dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
        "tracking_id": "BH-1",
        "visitor_id": f"visitor-{n % 3}",
        "page": {"url": f"https://shop.example/p/{n}"},
        "context": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
    }
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


#: (message value, the quarantine reason it must get; None: it must load)
POISON = [
    (b"<html>502 Bad Gateway</html>", "malformed_json"),
    (b'{"type": "pageview", "ts": "2026-03-01T09:00:00Z"', "malformed_json"),
    (b"\xff\xfe not utf-8", "invalid_utf8"),
    (b'{"v": 1, "type": "pageview", "ts": "\xc3\x28"}', "invalid_utf8"),
    (b"", "empty_payload"),
    (None, "empty_payload"),  # a tombstone
    (b"42", "not_an_object"),
    (b"[]", "empty_batch"),
    (b"[" + b",".join([event_json(900)] * 21) + b"]", "batch_too_large"),
    (event_json(901, userAgent="curl"), "unknown_field"),
    (event_json(902, visitor_id=12), "wrong_type"),
    (event_json(903, type=None), "missing_field"),
    (event_json(904, tracking_id="BH-999"), "unknown_website"),
    (event_json(905, properties={"dom": "x" * 70_000}), "payload_too_large"),
    (event_json(906, page={"url": "ftp://shop.example/"}), "invalid_url"),
]


def test_poison_messages_are_quarantined_with_their_offsets(warehouse, broker, tmp_path):
    from confluent_kafka import Producer

    topic = topic_name()
    broker.create_topic(topic, partitions=2)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    expected_bad: dict[tuple[int, int], str] = {}
    good = 0
    without_id: list[tuple[int, int, int]] = []  # (partition, offset, events in the payload)
    offsets = {0: 0, 1: 0}
    for n in range(60):
        partition = n % 2
        if n % 4 == 1:
            value, reason = POISON[(n // 4) % len(POISON)]
        elif n % 4 == 3:
            # No event_id: derived from topic, partition and offset (an array: per index too).
            value, reason = (
                b"[" + event_json(n, event_id=None) + b"," + event_json(n + 1000, event_id=None) + b"]",
                None,
            )
            without_id.append((partition, offsets[partition], 2))
        else:
            value, reason = event_json(n), None
        producer.produce(topic, value=value, partition=partition)
        producer.flush()  # one message per request: offsets known in order
        if reason is None:
            good += 2 if n % 4 == 3 else 1
        else:
            expected_bad[(partition, offsets[partition])] = reason
        offsets[partition] += 1
    producer.close()  # a producer left open retries its broker until the process ends
    settings = raw_layer(warehouse, broker, SITES)
    raw = settings.warehouse.raw_database

    report = ingest(settings, topic, tmp_path, max_batch=15)
    assert report.batches >= 4  # the poison was spread over batches, none stalled
    quarantined = {
        (p, o): reason
        for p, o, reason, topic_ in rows(
            warehouse,
            f"SELECT kafka_partition, kafka_offset, reason, kafka_topic FROM {raw}.events_quarantine",
        )
        if topic_ == topic
    }
    assert quarantined == expected_bad
    assert rows(warehouse, f"SELECT count() FROM {raw}.events") == [(good,)]
    # The raw bytes are kept as received (the oversize one too).
    sizes = dict(
        rows(
            warehouse, f"SELECT reason, max(length(raw_payload)) FROM {raw}.events_quarantine GROUP BY reason"
        )
    )
    assert sizes["payload_too_large"] > 65_536
    # Derived ids: a function of where the payload was, so any replay finds the same ones.
    derived = {
        derived_event_id(Lineage("kafka", kafka_topic=topic, kafka_partition=p).key(offset), index)
        for p, offset, count in without_id
        for index in range(count)
    }
    landed = {
        str(r[0])
        for r in rows(
            warehouse,
            f"SELECT event_id FROM {raw}.events WHERE (kafka_partition, kafka_offset) IN "
            f"{tuple((p, o) for p, o, _ in without_id)}",
        )
    }
    assert landed == derived
    # A second group into a second raw layer derives the same ids.
    other = raw_layer(warehouse, broker, SITES)
    ingest(other, topic, tmp_path, group="replay")
    again = {
        str(r[0])
        for r in rows(
            warehouse,
            f"SELECT event_id FROM {other.warehouse.raw_database}.events "
            f"WHERE (kafka_partition, kafka_offset) IN {tuple((p, o) for p, o, _ in without_id)}",
        )
    }
    assert again == derived


def test_a_batch_stops_at_its_byte_bound_whatever_the_message_count(warehouse, broker, tmp_path, monkeypatch):
    """max_batch_bytes bounds a batch however few messages it holds: large messages
    must not make a batch of max_batch_messages (100k of 64 KB would be 6.4 GB)."""
    from confluent_kafka import Producer

    from beaconhouse.ingest import kafka_pipeline

    topic = topic_name()
    broker.create_topic(topic, partitions=1)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    padding = "x" * 900  # about 1.1 KB per message
    values = [event_json(n, properties={"padding": padding}) for n in range(60)]
    for value in values:
        producer.produce(topic, value=value)
    producer.flush()
    producer.close()
    layer = raw_layer(warehouse, broker, SITES)
    settings = layer.model_copy(update={"kafka": layer.kafka.model_copy(update={"max_batch_bytes": 5_000})})
    # slices of two messages: the bound is checked every 2.2 KB
    monkeypatch.setattr(kafka_pipeline, "CONSUME_SLICE", 2)
    lines: list[str] = []

    report = ingest(settings, topic, tmp_path, max_batch=1000, progress=lines.append)

    sizes = [int(line.split(": ")[1].split()[0]) for line in lines if line.startswith("batch ")]
    assert sum(sizes) == len(values) == report.messages
    # the bound is reached after at most three slices of two: 5,000 bytes < 6 messages
    assert max(sizes) <= 6
    assert len(sizes) >= len(values) // 6
    assert max(sizes) * max(map(len, values)) <= settings.kafka.max_batch_bytes + 2 * max(map(len, values))
    raw = settings.warehouse.raw_database
    assert rows(warehouse, f"SELECT count(), uniqExact(event_id) FROM {raw}.events") == [(60, 60)]


def test_a_batch_that_landed_but_never_committed_is_removed_and_replayed(
    warehouse, broker, tmp_path, monkeypatch
):
    report = generated(broker, tmp_path, partitions=2, seed=8, visitors=80)
    settings = raw_layer(warehouse, broker, report.sites)
    raw = settings.warehouse.raw_database
    reference = raw_layer(warehouse, broker, report.sites)
    ingest(reference, report.topic, tmp_path, group="reference", max_batch=500)

    # The worst moment to die: every row of a batch has landed, its commit has not.
    commits = {"n": 0}
    real_commit = OffsetStore.commit

    def commit_twice_then_die(self, ranges, batch_id, topic_id):
        if commits["n"] == 2:
            raise RuntimeError("killed between the load and the commit")
        commits["n"] += 1
        real_commit(self, ranges, batch_id, topic_id)

    monkeypatch.setattr(OffsetStore, "commit", commit_twice_then_die)
    with pytest.raises(RuntimeError, match="killed between"):
        ingest(settings, report.topic, tmp_path, max_batch=500)
    monkeypatch.setattr(OffsetStore, "commit", real_commit)
    landed_uncommitted = rows(
        warehouse,
        f"SELECT count() FROM {raw}.events WHERE ingest_batch_id NOT IN "
        f"(SELECT ingest_batch_id FROM {raw}.kafka_offsets WHERE state = 'committed')",
    )[0][0]
    assert landed_uncommitted > 0

    resumed = ingest(settings, report.topic, tmp_path, max_batch=500)
    assert len(resumed.cleaned_up) >= 1
    assert_matches_truth(warehouse, raw, report)
    assert counter_totals(warehouse, raw) == counter_totals(warehouse, reference.warehouse.raw_database)
    assert committed_positions(warehouse, raw, "loader", report.topic) == log_ends(broker, report.topic)


def test_a_partition_without_a_recorded_position_is_read_from_its_start(warehouse, broker, tmp_path):
    """What a partition added to the topic looks like to the loader. (Tansu 0.6 cannot add
    partitions: CreatePartitions is unsupported. A partition that no batch has touched
    yet takes the same path: no recorded position, so it starts at its log start.)"""
    from confluent_kafka import Producer

    topic = topic_name()
    broker.create_topic(topic, partitions=3)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for n in range(20):
        producer.produce(topic, value=event_json(n), partition=n % 2)
    producer.flush()
    settings = raw_layer(warehouse, broker, SITES)
    raw = settings.warehouse.raw_database
    ingest(settings, topic, tmp_path)
    assert committed_positions(warehouse, raw, "loader", topic) == {0: 10, 1: 10}

    for n in range(20, 50):
        producer.produce(topic, value=event_json(n), partition=n % 3)
    producer.flush()
    producer.close()
    second = ingest(settings, topic, tmp_path)
    assert second.messages == 30
    assert rows(warehouse, f"SELECT count(), uniqExact(event_id) FROM {raw}.events") == [(50, 50)]
    assert committed_positions(warehouse, raw, "loader", topic) == {0: 20, 1: 20, 2: 10}


# --- the command, in processes of its own ------------------------------------------------------


def write_config(path: Path, settings: Settings) -> Path:
    wh, kafka = settings.warehouse, settings.kafka
    lines = [
        "[warehouse]",
        f'url = "{wh.url}"',
        f'raw_database = "{wh.raw_database}"',
        f'meta_database = "{wh.meta_database}"',
        "[kafka]",
        f'bootstrap_servers = "{kafka.bootstrap_servers}"',
        *(f"{key} = {value}" for key, value in FAST_GROUP.items()),
    ]
    for site in settings.sites:
        lines += ["[[sites]]", f"website_id = {site.website_id}", f'domain = "{site.domain}"']
        lines += [f'tracking_id = "{site.tracking_id}"', f'timezone = "{site.timezone}"']
    path.write_text("\n".join(lines) + "\n")
    return path


class LoaderProcess:
    """``python -m beaconhouse ingest kafka …``, its stderr read line by line as it comes."""

    def __init__(self, config: Path, tmp_path: Path, *args: str) -> None:
        env = {**os.environ, "BEACONHOUSE_CONFIG": str(config), "TMPDIR": str(tmp_path)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "beaconhouse", "ingest", "kafka", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout, False), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr, True), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str], announce: bool) -> None:
        for line in stream:
            into.append(line)
            if announce:
                self.lines.put(line)

    def wait_for(self, prefix: str, count: int = 1, timeout: float = 60.0) -> bool:
        """Wait until ``count`` more stderr lines starting with ``prefix`` came; False if it
        exited or the time ran out first."""
        deadline = time.monotonic() + timeout
        while count > 0:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    return False
                continue
            if line.startswith(prefix):
                count -= 1
        return True

    def finish(self, timeout: float = 120.0) -> tuple[int, str, str]:
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return code, "".join(self.stdout), "".join(self.stderr)


def test_sigkill_at_random_moments_then_resume_lands_everything_once(warehouse, broker, tmp_path):
    report = generated(broker, tmp_path, partitions=3, seed=9, visitors=150)
    settings = raw_layer(warehouse, broker, report.sites)
    raw = settings.warehouse.raw_database
    reference = raw_layer(warehouse, broker, report.sites)
    ingest(reference, report.topic, tmp_path, group="reference", max_batch=1000)
    config = write_config(tmp_path / "beaconhouse.toml", settings)
    args = ["--topic", report.topic, "--group", "killed", "--max-batch", "300"]

    chance = random.Random(20261130)
    for _ in range(3):
        loader = LoaderProcess(config, tmp_path, *args)
        # Let it get going, then kill it somewhere inside the next batches.
        assert loader.wait_for("batch ", chance.randint(1, 2)), "".join(loader.stderr)
        time.sleep(chance.uniform(0.0, 0.5))
        loader.process.send_signal(signal.SIGKILL)
        code, _, stderr = loader.finish()
        assert code == -signal.SIGKILL, stderr

    last = LoaderProcess(config, tmp_path, *args, "--until-idle", "--idle-seconds", "0.5")
    code, stdout, stderr = last.finish()
    assert code == 0, stderr
    assert "lag: 0" in stdout
    assert_matches_truth(warehouse, raw, report)
    assert counter_totals(warehouse, raw) == counter_totals(warehouse, reference.warehouse.raw_database)
    assert rows(warehouse, f"SELECT count() FROM {raw}.events_quarantine") == rows(
        warehouse, f"SELECT count() FROM {reference.warehouse.raw_database}.events_quarantine"
    )
    assert committed_positions(warehouse, raw, "killed", report.topic) == log_ends(broker, report.topic)
    # The killed runs' dlt folders were cleaned up by the runs after them.
    leftovers = list((tmp_path / f"beaconhouse-kafka-{os.getuid()}").glob("pid-*"))
    assert leftovers == []


def test_two_consumers_of_one_group_share_the_topic_across_a_rebalance(warehouse, broker, tmp_path):
    first_half = generated(broker, tmp_path, partitions=4, seed=10, visitors=80)
    topic = first_half.topic
    settings = raw_layer(warehouse, broker, first_half.sites)
    raw = settings.warehouse.raw_database
    config = write_config(tmp_path / "beaconhouse.toml", settings)
    args = ["--topic", topic, "--group", "pair", "--max-batch", "100", "--until-idle"]

    # The first consumer waits long when idle, so that it is still a member when the
    # second one joins, whether or not it has read everything by then.
    first = LoaderProcess(config, tmp_path, *args, "--idle-seconds", "6")
    assert first.wait_for("batch ", 2), "".join(first.stderr)
    second = LoaderProcess(config, tmp_path, *args, "--idle-seconds", "3")
    assert second.wait_for("assigned ", 1), "".join(second.stderr)
    # More traffic once both share the topic: both must load some of it.
    second_half = generated(broker, tmp_path, partitions=4, seed=11, visitors=60, topic=topic)
    results = [first.finish(), second.finish()]
    for code, _, stderr in results:
        assert code == 0, stderr
    # The first consumer gave up partitions to the second: assigned all, then some.
    assert results[0][2].count("assigned ") >= 2
    totals = [summary(stdout) for _, stdout, _ in results]
    assert all(t["messages"] > 0 for t in totals), totals
    assert sum(t["messages"] for t in totals) == first_half.payload_lines + second_half.payload_lines
    assert_matches_truth(warehouse, raw, first_half, second_half)
    # The counters hold what the two processes said they loaded, once.
    received, loaded, bad, duplicate = (
        sum(c) for c in zip(*counter_totals(warehouse, raw).values(), strict=True)
    )
    assert loaded == sum(t["loaded"] for t in totals)
    assert bad == sum(t["quarantined"] for t in totals)
    assert duplicate == sum(t["duplicates"] for t in totals)
    assert received == loaded + bad + duplicate
    assert committed_positions(warehouse, raw, "pair", topic) == log_ends(broker, topic)


def summary(stdout: str) -> dict[str, int]:
    """The totals ``ingest kafka`` printed."""
    lines = {line.split(":")[0]: line.split() for line in stdout.splitlines() if ":" in line}
    return {
        "messages": int(lines["kafka"][1]),
        "loaded": int(lines["events"][1]),
        "duplicates": int(lines["events"][3]),
        "quarantined": int(lines["events"][6]),
    }


def test_a_fresh_broker_behind_the_recorded_positions_is_an_error_until_reset(warehouse, tmp_path):
    with TansuBroker() as old:
        report = generated(old, tmp_path, partitions=2, seed=12, visitors=60)
        settings = raw_layer(warehouse, old, report.sites)
        ingest(settings, report.topic, tmp_path)
        recorded = committed_positions(warehouse, settings.warehouse.raw_database, "loader", report.topic)
    raw = settings.warehouse.raw_database
    before = rows(warehouse, f"SELECT count() FROM {raw}.events")[0][0]

    with TansuBroker() as fresh:
        fresh.create_topic(report.topic, partitions=2)
        moved = settings.model_copy(
            update={"kafka": settings.kafka.model_copy(update={"bootstrap_servers": fresh.bootstrap_servers})}
        )
        config = write_config(tmp_path / "fresh.toml", moved)
        args = ["--topic", report.topic, "--group", "loader", "--until-idle", "--idle-seconds", "0.5"]
        code, stdout, stderr = LoaderProcess(config, tmp_path, *args).finish()
        assert (code, stdout) == (1, "")
        [line] = stderr.strip().splitlines()[-1:]
        assert line.startswith("error: kafka: ")
        assert "Traceback" not in stderr
        partition = int(line.split("[")[1].split("]")[0])
        assert f"position is {recorded[partition]}" in line
        assert "the broker's log is offsets 0-0" in line
        assert "--reset-offsets" in line
        assert rows(warehouse, f"SELECT count() FROM {raw}.events")[0][0] == before

        # More messages on the new broker than the old positions: still caught (new topic id).
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": fresh.bootstrap_servers})
        for n in range(max(recorded.values()) + 5):
            producer.produce(report.topic, value=event_json(5000 + n), partition=n % 2)
        producer.flush()
        producer.close()
        with pytest.raises(OffsetsOutOfRangeError, match="recreated"):
            ingest(moved, report.topic, tmp_path)

        reset = ingest(moved, report.topic, tmp_path, reset_offsets="earliest")
        assert len(reset.resets) == 2
        sent = max(recorded.values()) + 5
        assert rows(warehouse, f"SELECT count() FROM {raw}.events")[0][0] == before + sent
        assert committed_positions(warehouse, raw, "loader", report.topic) == log_ends(fresh, report.topic)


def test_a_missing_topic_or_raw_table_is_one_clear_error(warehouse, broker, tmp_path):
    settings = raw_layer(warehouse, broker, SITES)
    with pytest.raises(IngestError, match="does not exist on"):
        ingest(settings, "no-such-topic", tmp_path)
    unmigrated = settings.model_copy(
        update={"warehouse": settings.warehouse.model_copy(update={"raw_database": "raw_never_migrated"})}
    )
    topic = topic_name()
    broker.create_topic(topic)
    with pytest.raises(IngestError, match="kafka_offsets does not exist"):
        ingest(unmigrated, topic, tmp_path)

    # A load that fails (dlt may not create raw.events_quarantine) is one line from the
    # command too, and commits nothing.
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    producer.produce(topic, value=event_json(1))
    producer.produce(topic, value=b"not json")
    producer.flush()
    producer.close()
    raw = settings.warehouse.raw_database
    warehouse.client().command(f"DROP TABLE {raw}.events_quarantine")
    config = write_config(tmp_path / "beaconhouse.toml", settings)
    code, stdout, stderr = LoaderProcess(config, tmp_path, "--topic", topic, "--until-idle").finish()
    assert (code, stdout) == (1, "")
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: loading into the warehouse failed: ")
    assert "apply the migrations" in last
    assert committed_positions(warehouse, raw, "beaconhouse-loader", topic) == {}
