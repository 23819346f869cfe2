"""The Kafka loader's pieces that need no broker: settings, client options, positions."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from beaconhouse.config import ConfigError, KafkaSettings, load_settings
from beaconhouse.ingest.kafka_client import consumer_config
from beaconhouse.ingest.kafka_offsets import BatchRange, OffsetStore, UncommittedBatch
from beaconhouse.ingest.kafka_pipeline import _event_days

pytestmark = pytest.mark.unit


def test_consumer_config_passes_security_through_and_keeps_the_loader_in_charge():
    kafka = KafkaSettings(
        bootstrap_servers="b-1:9096",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="loader",
        sasl_password="secret",
        ssl_ca_location="/etc/ca.pem",
        ssl_certificate_location="/etc/client.pem",
        ssl_key_location="/etc/client.key",
        consumer_options={"fetch.max.bytes": 1 << 20, "client.rack": "use1-az1"},
    )
    config = consumer_config(kafka, "loaders", "beaconhouse-host:1")
    assert config["bootstrap.servers"] == "b-1:9096"
    assert (config["security.protocol"], config["sasl.mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (config["sasl.username"], config["sasl.password"]) == ("loader", "secret")
    assert config["ssl.certificate.location"] == "/etc/client.pem"
    assert (config["fetch.max.bytes"], config["client.rack"]) == (1 << 20, "use1-az1")
    assert config["group.id"] == "loaders"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["auto.offset.reset"] == "error"
    assert config["partition.assignment.strategy"] == "range"
    assert "ssl.key.password" not in config  # unset settings are left to librdkafka


@pytest.mark.parametrize("option", ["enable.auto.commit", "auto.offset.reset", "group.id"])
def test_consumer_options_may_not_override_what_exactly_once_depends_on(option, tmp_path):
    config = tmp_path / "beaconhouse.toml"
    config.write_text(f'[kafka]\nconsumer_options = {{ "{option}" = "true" }}\n')
    with pytest.raises(ConfigError, match=f"kafka.consumer_options: {option}: set by the loader"):
        load_settings(config, environ={})


def test_heartbeat_must_be_shorter_than_the_session(tmp_path):
    config = tmp_path / "beaconhouse.toml"
    config.write_text("[kafka]\nsession_timeout_ms = 1000\nheartbeat_interval_ms = 1000\n")
    with pytest.raises(ConfigError, match="heartbeat_interval_ms must be below session_timeout_ms"):
        load_settings(config, environ={})


def test_secrets_stay_out_of_the_settings_repr():
    kafka = KafkaSettings(sasl_password="hunter2", ssl_key_password="swordfish")
    assert "hunter2" not in repr(kafka)
    assert "swordfish" not in repr(kafka)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-batch", "0"], "invalid batch size 0: must be 1-1000000"),
        (["--max-batch", "lots"], "invalid batch size 'lots': not a whole number"),
        (["--reset-offsets", "sideways"], "invalid choice: 'sideways'"),
        (["--idle-seconds", "-1"], "invalid idle time -1.0: must be above 0"),
    ],
)
def test_bad_arguments_get_one_line(args, expected):
    result = subprocess.run(
        [sys.executable, "-m", "beaconhouse", "ingest", "kafka", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_event_days_are_the_utc_days_of_client_ts():
    ms = [
        int(dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.UTC).timestamp() * 1000),
        int(dt.datetime(2026, 3, 2, 0, 1, tzinfo=dt.UTC).timestamp() * 1000),
        int(dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC).timestamp() * 1000),
    ]
    events = pa.table({"client_ts": pa.array(ms, pa.timestamp("ms", tz="UTC"))})
    assert _event_days(events) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
    assert _event_days(events.slice(0, 0)) == []


class _Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class _RecordingClient:
    """Answers the store's one query with canned rows; records inserts and commands."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.inserts: list[tuple[str, list[list[Any]], list[str]]] = []
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.contexts_made = 0

    def query(self, sql: str, parameters: Any = None, settings: Any = None) -> _Rows:
        return _Rows(self.rows)

    def create_insert_context(self, table: str, column_names: list[str], settings: Any = None) -> Any:
        self.contexts_made += 1
        return SimpleNamespace(table=table, column_names=column_names)

    def insert(self, data: list[list[Any]], context: Any) -> None:
        self.inserts.append((context.table, data, context.column_names))

    def command(self, sql: str, parameters: dict[str, Any], settings: Any = None) -> None:
        self.commands.append((sql, parameters))


DAY = dt.date(2026, 3, 1)


def test_a_loading_row_newer_than_the_commit_is_an_uncommitted_batch():
    store = OffsetStore(
        _RecordingClient(
            [
                # partition, state, seq, next_offset, start_offset, batch id, days, topic id
                (0, "committed", 4, 400, 300, "b4", [], "T"),
                (0, "loading", 5, 500, 400, "b5", [DAY], "T"),
                (1, "committed", 7, 70, 60, "b7", [], "T"),
                (1, "loading", 7, 70, 60, "b7", [DAY], "T"),
                (2, "loading", 1, 10, 0, "b1", [DAY], "T"),
            ]
        ),
        "raw",
        "g",
        "t",
    )
    records = store.read([0, 1, 2, 3])
    assert (records[0].position, records[0].last_seq) == (400, 5)
    assert records[0].uncommitted == UncommittedBatch("b5", 5, 400, 500, (DAY,))
    assert (records[1].position, records[1].uncommitted, records[1].topic_id) == (70, None, "T")
    # never committed: no position, and its first batch is to be cleaned up
    assert records[2].position is None
    assert records[2].uncommitted is not None
    assert records[2].uncommitted.ingest_batch_id == "b1"
    assert (records[3].position, records[3].uncommitted, records[3].last_seq) == (None, None, 0)


def test_commits_go_in_one_insert_and_cleanups_reach_every_raw_table():
    client = _RecordingClient([])
    store = OffsetStore(client, "raw", "g", "t")
    store.commit([BatchRange(0, 3, 10, 20), BatchRange(2, 8, 5, 9)], "b3", "T")
    [(table, rows, columns)] = client.inserts
    assert table == "`raw`.kafka_offsets"
    assert [dict(zip(columns, row, strict=True))["next_offset"] for row in rows] == [20, 9]
    assert {dict(zip(columns, row, strict=True))["state"] for row in rows} == {"committed"}

    store.mark_loading([BatchRange(0, 4, 20, 30)], "b4", [DAY], "T")
    assert len(client.inserts) == 2
    assert client.contexts_made == 1  # the table's columns are looked up once

    store.remove_uncommitted(2, UncommittedBatch("b9", 9, 9, 30, (DAY,)))
    tables = [sql.split()[2] for sql, _ in client.commands]
    assert tables == ["`raw`.events", "`raw`.events_quarantine", "`raw`.ingest_counters"]
    assert all(parameters["batch"] == "b9" for _, parameters in client.commands)
    assert client.commands[0][1]["partition"] == 2

    on_cluster = _RecordingClient([])
    OffsetStore(on_cluster, "raw", "g", "t", cluster="c1").remove_uncommitted(
        0, UncommittedBatch("b1", 1, 0, 5, ())
    )
    # no events: no delete on raw.events; on a cluster the *_local tables, on every node
    assert [sql.split()[2:5] for sql, _ in on_cluster.commands] == [
        ["`raw`.events_quarantine_local", "ON", "CLUSTER"],
        ["`raw`.ingest_counters_local", "ON", "CLUSTER"],
    ]
