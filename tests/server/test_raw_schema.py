"""The versioned raw layer, applied over HTTP and round-tripped through clickhouse-connect."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest

pytestmark = pytest.mark.server


def cli(warehouse, *args):
    env = {**os.environ, "BEACONHOUSE_WAREHOUSE__URL": warehouse.url}
    return subprocess.run(
        [sys.executable, "-m", "beaconhouse", *args], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def migrated(warehouse):
    first = cli(warehouse, "warehouse", "migrate")
    assert first.returncode == 0, first.stderr
    return first


def test_migrate_applies_then_is_idempotent(warehouse, migrated):
    assert "applied  V0001__raw_events" in migrated.stdout
    second = cli(warehouse, "warehouse", "migrate")
    assert second.returncode == 0, second.stderr
    assert "0 applied" in second.stdout
    assert "current  V0001__raw_events" in second.stdout
    client = warehouse.client()
    recorded = client.query("SELECT version FROM beaconhouse.schema_migrations ORDER BY version").result_rows
    assert [v for (v,) in recorded] == [1, 2, 3, 4, 5, 6, 7, 8]
    tables = {name for (name,) in client.query("SHOW TABLES FROM raw").result_rows}
    assert {"events", "events_quarantine", "ingest_counters", "archive_manifest"} <= tables


def test_raw_events_is_partitioned_by_day(warehouse, migrated):
    row = (
        warehouse.client()
        .query(
            "SELECT partition_key, sorting_key, engine FROM system.tables "
            "WHERE database = 'raw' AND name = 'events'"
        )
        .result_rows[0]
    )
    assert row[0] == "toDate(client_ts)"
    assert row[1].startswith("website_id")
    assert row[2] == "ReplacingMergeTree"


def test_every_raw_events_column_type_round_trips(warehouse, migrated):
    client = warehouse.client()
    columns = client.query(
        "SELECT name, type, default_kind FROM system.columns WHERE database = 'raw' AND table = 'events' "
        "ORDER BY position"
    ).result_rows
    insertable = [(name, type_) for name, type_, kind in columns if kind not in ("ALIAS", "MATERIALIZED")]
    types = {type_ for _, type_ in insertable}
    # The column families the issue names are all present.
    for needle in ("Map(", "LowCardinality(", "Nullable(", "DateTime64(3, 'UTC')", "UUID", "IPv6"):
        assert any(needle in t for t in types), needle

    event_id = uuid.uuid4()
    values = {name: sample_value(type_, name) for name, type_ in insertable}
    values["event_id"] = event_id
    values["ip"] = ipaddress.IPv6Address("::ffff:203.0.113.0")
    client.insert("raw.events", [list(values.values())], column_names=list(values))
    back = client.query(
        "SELECT * FROM raw.events WHERE event_id = {id:UUID}", parameters={"id": event_id}
    ).named_results()
    row = next(iter(back))
    for name, expected in values.items():
        got = row[name]
        if isinstance(expected, dt.datetime):
            assert got == expected.replace(tzinfo=dt.UTC) or got.replace(tzinfo=None) == expected, name
        elif isinstance(got, ipaddress.IPv4Address):
            assert got == expected.ipv4_mapped, name
        else:
            assert got == expected, (name, got, expected)
    # Nullables take NULL too.
    nullable = [name for name, type_ in insertable if type_.startswith("Nullable(")]
    second = {**values, "event_id": uuid.uuid4(), **dict.fromkeys(nullable)}
    client.insert("raw.events", [list(second.values())], column_names=list(second))
    nulls = client.query(
        "SELECT "
        + ", ".join(f"isNull({n})" for n in nullable)
        + " FROM raw.events WHERE event_id = {id:UUID}",
        parameters={"id": second["event_id"]},
    ).result_rows[0]
    assert all(nulls)
    # IPv4 in its own type (quarantine/other tables) and via an expression.
    assert client.query("SELECT toIPv4('198.51.100.7')").result_rows[0][0] == ipaddress.IPv4Address(
        "198.51.100.7"
    )


def sample_value(type_: str, name: str):
    inner = type_
    if inner.startswith("Nullable("):
        inner = inner[len("Nullable(") : -1]
    if inner.startswith("LowCardinality("):
        inner = inner[len("LowCardinality(") : -1]
        if inner.startswith("Nullable("):
            inner = inner[len("Nullable(") : -1]
    if inner.startswith("Map("):
        return {"k1": 1.5, "k2": -2.25} if "Float64" in inner else {"k1": "v1", "ключ": "значение"}
    if inner == "String":
        return f"{name}-✓"
    if inner == "UUID":
        return uuid.uuid4()
    if inner.startswith("DateTime64"):
        return dt.datetime(2026, 3, 29, 1, 30, 15, 123000)
    if inner in ("UInt8", "UInt16", "UInt32", "UInt64"):
        return 7
    if inner in ("Int32", "Int64"):
        return -7
    if inner == "Float64":
        return 3.25
    if inner == "Bool":
        return True
    if inner.startswith("Decimal"):
        return Decimal("1234.5678")
    if inner == "IPv6":
        return ipaddress.IPv6Address("2001:db8::1")
    if inner == "IPv4":
        return ipaddress.IPv4Address("192.0.2.1")
    if inner == "Date":
        return dt.date(2026, 3, 29)
    raise AssertionError(f"no sample for {type_}")


def test_quarantine_and_counters_accept_rows(warehouse, migrated):
    client = warehouse.client()
    columns = [
        name
        for name, kind in client.query(
            "SELECT name, default_kind FROM system.columns WHERE database='raw' AND table='events_quarantine'"
        ).result_rows
        if kind in ("", "DEFAULT")
    ]
    assert {"raw_payload", "reason", "received_at"} <= set(columns)
    client.command(
        "INSERT INTO raw.ingest_counters "
        "(website_id, minute, source_kind, received, loaded, quarantined, duplicate) VALUES "
        "(1, '2026-01-01 00:00:00', 'file', 10, 8, 1, 1), (1, '2026-01-01 00:00:00', 'file', 5, 5, 0, 0)"
    )
    totals = client.query(
        "SELECT sum(received), sum(loaded), sum(quarantined), sum(duplicate) FROM raw.ingest_counters"
    ).result_rows[0]
    assert totals == (15, 13, 1, 1)


def test_warehouse_query_prints_a_table(warehouse, migrated):
    result = cli(warehouse, "warehouse", "query", "SELECT 1 AS one, 'x' AS letter")
    assert result.returncode == 0, result.stderr
    assert "one" in result.stdout
    assert "letter" in result.stdout
    assert "1 row" in result.stdout
    bad = cli(warehouse, "warehouse", "query", "SELECT * FROM raw.nope")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ")
    assert "UNKNOWN_TABLE" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
