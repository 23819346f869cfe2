"""The single-node DDL against a real ClickHouse engine (chDB, in-process).

chDB allows one database path per process, so the whole module shares one connection,
opened and closed by the module-scoped fixture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from beaconhouse.warehouse.migrations import (
    MigrationReport,
    SchemaContext,
    apply_migrations,
    discover_migrations,
    migration_checksum,
    render_migration,
)

chdb = pytest.importorskip("chdb")

pytestmark = pytest.mark.unit

CTX = SchemaContext()
MIGRATIONS = discover_migrations()


class ChdbClient:
    """Just enough of clickhouse_connect's client, over a chDB connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def command(self, cmd: str, parameters: dict[str, Any] | None = None, /) -> str:
        return str(self.conn.query(cmd, "TabSeparated", params=parameters or {}))

    def query(self, query: str, parameters: dict[str, Any] | None = None, /) -> SimpleNamespace:
        out = str(self.conn.query(query, "JSONCompact", params=parameters or {}))
        return SimpleNamespace(result_rows=json.loads(out)["data"] if out.strip() else [])

    def rows(self, sql: str) -> list[dict[str, Any]]:
        # 64-bit integers as JSON numbers, whatever the engine version's default.
        sql += " SETTINGS output_format_json_quote_64bit_integers = 0"
        out = str(self.conn.query(sql, "JSONEachRow"))
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def chdb_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChdbClient, MigrationReport]]:
    path: Path = tmp_path_factory.mktemp("chdb")
    conn = chdb.connect(f"file:{path}")
    try:
        client = ChdbClient(conn)
        yield client, apply_migrations(client, CTX)
    finally:
        conn.close()


def test_every_migration_applies_on_a_real_engine(
    chdb_warehouse: tuple[ChdbClient, MigrationReport],
) -> None:
    client, report = chdb_warehouse
    assert report.applied == MIGRATIONS
    tables = {
        row["name"]: row
        for row in client.rows(
            "SELECT name, engine, partition_key, sorting_key FROM system.tables "
            "WHERE database = 'raw' ORDER BY name"
        )
    }
    assert tables == {
        "archive_manifest": {
            "name": "archive_manifest",
            "engine": "MergeTree",
            "partition_key": "",
            "sorting_key": "website_id, day, seq",
        },
        "events": {
            "name": "events",
            "engine": "ReplacingMergeTree",
            "partition_key": "toDate(client_ts)",
            "sorting_key": "website_id, visitor_id, client_ts, event_id",
        },
        "events_quarantine": {
            "name": "events_quarantine",
            "engine": "MergeTree",
            "partition_key": "toDate(received_at)",
            "sorting_key": "reason, received_at",
        },
        "ingest_counters": {
            "name": "ingest_counters",
            "engine": "SummingMergeTree",
            "partition_key": "toYYYYMM(minute)",
            "sorting_key": "website_id, minute, source_kind, ingest_batch_id",
        },
        "kafka_offsets": {
            "name": "kafka_offsets",
            "engine": "ReplacingMergeTree",
            "partition_key": "",
            "sorting_key": "consumer_group, topic, partition, state",
        },
    }


def test_applied_versions_are_recorded_with_checksums(
    chdb_warehouse: tuple[ChdbClient, MigrationReport],
) -> None:
    client, _ = chdb_warehouse
    rows = client.rows(
        "SELECT version, name, checksum, statements FROM beaconhouse.schema_migrations ORDER BY version"
    )
    expected = []
    for migration in MIGRATIONS:
        statements = render_migration(migration, CTX)
        expected.append(
            {
                "version": migration.version,
                "name": migration.name,
                "checksum": migration_checksum(statements),
                "statements": len(statements),
            }
        )
    assert rows == expected


def test_second_run_applies_nothing(chdb_warehouse: tuple[ChdbClient, MigrationReport]) -> None:
    client, _ = chdb_warehouse
    report = apply_migrations(client, CTX)
    assert report.applied == []
    assert report.changed == []
    assert report.skipped == MIGRATIONS
    count = client.rows("SELECT count() AS n FROM beaconhouse.schema_migrations")
    assert count == [{"n": len(MIGRATIONS)}]


def test_context_change_is_reported_as_changed_after_apply(
    chdb_warehouse: tuple[ChdbClient, MigrationReport],
) -> None:
    client, _ = chdb_warehouse
    report = apply_migrations(client, SchemaContext(ttl_days=30))
    # ttl_days feeds raw.events and raw.ingest_counters, not the quarantine.
    assert [c.migration.version for c in report.changed] == [1, 3]
    assert [m.version for m in report.skipped] == [2, 4, 5, 6, 7, 8]
    assert report.applied == []
    [engine_full] = client.rows(
        "SELECT engine_full FROM system.tables WHERE database = 'raw' AND name = 'events'"
    )
    assert "toIntervalDay(800)" in engine_full["engine_full"]  # not re-applied


FULL_EVENT: dict[str, Any] = {
    "event_id": "0190a5d2-7c1e-7a3b-9f00-000000000001",
    "website_id": 42,
    "tracking_id": "BH-42",
    "visitor_id": "v-1",
    "visitor_id_kind": "client",
    "session_id": "s-1",
    "user_id": "user-9",
    "event_type": "transaction",
    "event_category": "checkout",
    "event_action": "purchase",
    "event_label": "spring sale",
    "event_value": 1.5,
    "client_ts": "2026-03-01 10:00:00.123",
    "server_ts": "2026-03-01 10:00:00.456",
    "loaded_at": "2026-03-01 10:05:00.000",
    "page_url": "https://shop.example/checkout?step=3",
    "page_host": "shop.example",
    "page_path": "/checkout",
    "page_query": "step=3",
    "page_title": "Checkout",
    "referrer_url": "https://www.google.com/",
    "referrer_host": "www.google.com",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0",
    "device_type": "desktop",
    "browser_name": "Firefox",
    "browser_version": "125.0",
    "os_name": "Linux",
    "os_version": "",
    "screen_width": 1920,
    "screen_height": 1080,
    "language": "en-GB",
    "ip": "203.0.113.0",
    "country_code": "GB",
    "region": "England",
    "city": "London",
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "spring",
    "utm_term": "shoes",
    "utm_content": "ad-1",
    "traffic_source": "google",
    "traffic_medium": "cpc",
    "traffic_campaign": "spring",
    "traffic_channel": "Paid Search",
    "click_ids": {"gclid": "Cj0KCQ", "msclkid": "abc"},
    "transaction_id": "T-1000",
    "revenue": 99.99,
    "tax": 16.67,
    "shipping": 4.5,
    "currency": "GBP",
    "items_count": 2,
    "items_quantity": 3,
    "product_sku": "",
    "product_name": "",
    "product_category": "",
    "product_price": None,
    "product_quantity": 0,
    "custom_dimensions": {"plan": "pro"},
    "custom_metrics": {"cart_items": 3},
    "properties": {"ab_test": "b"},
    "is_bot": False,
    "bot_name": "",
    "is_duplicate": False,
    "source_kind": "kafka",
    "kafka_topic": "beacon-events",
    "kafka_partition": 3,
    "kafka_offset": 123456789012,
    "source_file": "",
    "source_line": None,
    "ingest_batch_id": "1772359500.123456",
}


def test_an_event_with_every_column_round_trips(
    chdb_warehouse: tuple[ChdbClient, MigrationReport],
) -> None:
    client, _ = chdb_warehouse
    client.command(f"INSERT INTO raw.events FORMAT JSONEachRow {json.dumps(FULL_EVENT)}")
    [row] = client.rows(
        "SELECT *, event_date FROM raw.events FINAL WHERE event_id = '0190a5d2-7c1e-7a3b-9f00-000000000001'"
    )
    expected = dict(FULL_EVENT, ip="::ffff:203.0.113.0", event_date="2026-03-01")
    assert row == expected


def test_redelivered_event_collapses_to_the_latest_load(
    chdb_warehouse: tuple[ChdbClient, MigrationReport],
) -> None:
    client, _ = chdb_warehouse
    event = {
        "event_id": "0190a5d2-7c1e-7a3b-9f00-000000000002",
        "website_id": 7,
        "visitor_id": "v-2",
        "client_ts": "2026-03-02 08:00:00.000",
        "server_ts": "2026-03-02 08:00:01.000",
    }
    first = dict(event, loaded_at="2026-03-02 09:00:00.000", ingest_batch_id="first")
    second = dict(event, loaded_at="2026-03-02 10:00:00.000", ingest_batch_id="second")
    client.command(f"INSERT INTO raw.events FORMAT JSONEachRow {json.dumps(first)}")
    client.command(f"INSERT INTO raw.events FORMAT JSONEachRow {json.dumps(second)}")
    rows = client.rows(
        "SELECT ingest_batch_id FROM raw.events FINAL WHERE event_id = '0190a5d2-7c1e-7a3b-9f00-000000000002'"
    )
    assert rows == [{"ingest_batch_id": "second"}]


def test_event_date_filters_prune_partitions(chdb_warehouse: tuple[ChdbClient, MigrationReport]) -> None:
    client, _ = chdb_warehouse
    for day in ("2026-04-01", "2026-04-02", "2026-04-03"):
        row = {
            "event_id": f"0190a5d2-7c1e-7a3b-9f00-{day[-2:]:0>12}",
            "website_id": 9,
            "client_ts": f"{day} 12:00:00",
        }
        client.command(f"INSERT INTO raw.events FORMAT JSONEachRow {json.dumps(row)}")
    plan = client.command(
        "EXPLAIN indexes = 1 SELECT event_id FROM raw.events "
        "WHERE website_id = 9 AND event_date = '2026-04-02'"
    )
    # The Min-Max index on client_ts selects one part out of at least these three days'.
    selected = re.search(r"Min-Max[\s\S]*?Parts: (\d+)/(\d+)", plan)
    assert selected is not None, plan
    assert int(selected[1]) == 1
    assert int(selected[2]) >= 3


def test_quarantine_fills_its_own_defaults(chdb_warehouse: tuple[ChdbClient, MigrationReport]) -> None:
    client, _ = chdb_warehouse
    row = {
        "website_id": None,
        "reason": "malformed_json",
        "reason_detail": "Expecting ',' at line 1 column 12",
        "raw_payload": '{"event_id": "x"',
        "source_kind": "file",
        "source_file": "landing/2026/03/01/events-0001.jsonl.gz",
        "source_line": 17,
        "ingest_batch_id": "1772359500.123456",
    }
    client.command(f"INSERT INTO raw.events_quarantine FORMAT JSONEachRow {json.dumps(row)}")
    [stored] = client.rows(
        "SELECT toString(quarantine_id) != '00000000-0000-0000-0000-000000000000' AS has_id, "
        "received_at > now64(3) - INTERVAL 1 HOUR AS recent, website_id, event_id, reason "
        "FROM raw.events_quarantine"
    )
    assert stored == {
        "has_id": True,
        "recent": True,
        "website_id": None,
        "event_id": None,
        "reason": "malformed_json",
    }


def test_ingest_counters_sum_per_site_and_minute(
    chdb_warehouse: tuple[ChdbClient, MigrationReport],
) -> None:
    client, _ = chdb_warehouse
    base = {"website_id": 42, "minute": "2026-03-01 10:00:00", "source_kind": "kafka"}
    for counts in (
        {"received": 10, "loaded": 8, "quarantined": 1, "duplicate": 1},
        {"received": 5, "loaded": 5, "quarantined": 0, "duplicate": 0},
    ):
        client.command(f"INSERT INTO raw.ingest_counters FORMAT JSONEachRow {json.dumps(base | counts)}")
    query = (
        "SELECT sum(received) AS received, sum(loaded) AS loaded, sum(quarantined) AS quarantined, "
        "sum(duplicate) AS duplicate FROM raw.ingest_counters WHERE website_id = 42"
    )
    totals = {"received": 15, "loaded": 13, "quarantined": 1, "duplicate": 1}
    assert client.rows(query) == [totals]
    client.command("OPTIMIZE TABLE raw.ingest_counters FINAL")
    assert client.rows("SELECT count() AS n FROM raw.ingest_counters") == [{"n": 1}]
    assert client.rows(query) == [totals]
