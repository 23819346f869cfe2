"""The three clients beaconhouse relies on work unchanged against the embedded server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

pytestmark = pytest.mark.server
REPO = Path(__file__).resolve().parents[2]


def test_clickhouse_connect_million_row_insert_read_back(warehouse):
    client = warehouse.client()  # default settings: compression on, a session
    client.command("DROP TABLE IF EXISTS million")
    client.command(
        "CREATE TABLE million (id UInt64, site UInt32, path String, value Float64) "
        "ENGINE = MergeTree ORDER BY id"
    )
    rows = 1_000_000
    ids = np.arange(rows, dtype=np.uint64)
    table = pa.table(
        {
            "id": ids,
            "site": (ids % 7).astype(np.uint32),
            "path": pa.array([f"/p/{i % 1000}" for i in range(rows)]),
            "value": ids.astype(np.float64) / 3.0,
        }
    )
    summary = client.insert_arrow("million", table)
    assert summary.written_rows == rows
    back = client.query_arrow("SELECT id, site, path, value FROM million ORDER BY id")
    assert back.num_rows == rows
    assert back.column("id").to_numpy().tolist() == ids.tolist()
    assert back.column("path").to_pylist() == table.column("path").to_pylist()
    assert np.allclose(back.column("value").to_numpy(), table.column("value").to_numpy())
    per_site = dict(client.query("SELECT site, count() FROM million GROUP BY site").result_rows)
    assert per_site == {s: int((ids % 7 == s).sum()) for s in range(7)}


def test_clickhouse_connect_without_compression(warehouse):
    client = warehouse.client(compress=False)
    client.command("CREATE TABLE IF NOT EXISTS nocomp (n UInt32) ENGINE = MergeTree ORDER BY n")
    client.insert("nocomp", [[n] for n in range(1000)], column_names=["n"])
    assert client.query("SELECT sum(n) FROM nocomp").result_rows == [(sum(range(1000)),)]


def test_sqlalchemy_clickhousedb_dialect_as_superset_uses_it(warehouse):
    import sqlalchemy as sa

    engine = sa.create_engine(f"clickhousedb://default:@127.0.0.1:{warehouse.port}/default")
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE IF NOT EXISTS sa_marts"))
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS sa_marts.daily (day Date, website_id UInt32, pageviews UInt64) "
                "ENGINE = MergeTree ORDER BY (website_id, day)"
            )
        )
        conn.execute(sa.text("TRUNCATE TABLE sa_marts.daily"))
        conn.execute(
            sa.text(
                "INSERT INTO sa_marts.daily VALUES ('2026-01-01', 1, 10), ('2026-01-02', 1, 20), "
                "('2026-01-01', 2, 5)"
            )
        )
    inspector = sa.inspect(engine)
    assert "sa_marts" in inspector.get_schema_names()
    assert inspector.get_table_names(schema="sa_marts") == ["daily"]
    columns = {c["name"]: str(c["type"]) for c in inspector.get_columns("daily", schema="sa_marts")}
    assert columns == {"day": "Date", "website_id": "UInt32", "pageviews": "UInt64"}
    daily = sa.Table("daily", sa.MetaData(), autoload_with=engine, schema="sa_marts")
    query = (
        sa.select(daily.c.website_id, sa.func.sum(daily.c.pageviews).label("pv"))
        .group_by(daily.c.website_id)
        .order_by(daily.c.website_id)
    )
    with engine.connect() as conn:
        assert conn.execute(query).fetchall() == [(1, 30), (2, 5)]


def test_dbt_debug_with_dbt_clickhouse_http_driver(warehouse):
    env = {
        **os.environ,
        "BEACONHOUSE_WAREHOUSE__URL": warehouse.url,
        "DBT_PROFILES_DIR": str(REPO / "dbt_project"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "debug", "--project-dir", str(REPO / "dbt_project")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Connection test: [OK connection ok]" in result.stdout.replace("\x1b[32m", "").replace(
        "\x1b[0m", ""
    )
    assert "driver: http" in result.stdout


def test_clickhouse_connect_round_trips_each_column_type(warehouse):
    import datetime as dt
    import ipaddress
    import uuid
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    client = warehouse.client()
    client.command("DROP TABLE IF EXISTS every_type")
    client.command(
        "CREATE TABLE every_type (id UUID, lc LowCardinality(String), lcn LowCardinality(Nullable(String)), "
        "n Nullable(Int64), m Map(LowCardinality(String), Float64), ms Map(String, String), "
        "ts DateTime64(3, 'Europe/Berlin'), tsu DateTime64(6, 'UTC'), d Date, ip4 IPv4, ip6 IPv6, "
        "dec Decimal(18, 4), b Bool, arr Array(String), u8 UInt8, f Float32) ENGINE = MergeTree ORDER BY id"
    )
    berlin = ZoneInfo("Europe/Berlin")
    row = [
        uuid.uuid4(),
        "desktop",
        None,
        None,
        {"a": 1.5},
        {"ключ": "значение"},
        dt.datetime(2026, 3, 29, 3, 30, 0, 123000, tzinfo=berlin),  # the hour after the DST switch
        dt.datetime(2026, 1, 1, 0, 0, 0, 654321, tzinfo=dt.UTC),
        dt.date(2026, 2, 28),
        ipaddress.IPv4Address("203.0.113.9"),
        ipaddress.IPv6Address("2001:db8::42"),
        Decimal("-12.3456"),
        True,
        ["x", ""],
        255,
        0.5,
    ]
    names = ["id", "lc", "lcn", "n", "m", "ms", "ts", "tsu", "d", "ip4", "ip6", "dec", "b", "arr", "u8", "f"]
    client.insert("every_type", [row], column_names=names)
    back = client.query("SELECT * FROM every_type").result_rows[0]
    for name, sent, got in zip(names, row, back, strict=True):
        if isinstance(sent, dt.datetime):
            if got.tzinfo is None:  # clickhouse-connect gives UTC columns as naive UTC
                got = got.replace(tzinfo=dt.UTC)
            assert got == sent, name  # same instant
            assert got.utcoffset() == sent.utcoffset(), name  # in the column's zone
        else:
            assert got == sent, (name, got, sent)
