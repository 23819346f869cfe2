"""bench/warehouse: the embedded HTTP server against chDB used directly.

1. A 1M-row aggregate: clickhouse-connect over HTTP vs the same query in-process.
   Goal: HTTP time ≤ 1.3 × direct time.
2. Inserting 1M rows: clickhouse-connect (Arrow and Native bodies) vs a direct chDB
   insert from a Parquet file. Goal: HTTP speed ≥ 0.7 × direct speed.
3. Small-query round trips (``SELECT 1``), informative: what every dbt, dlt and dedup
   metadata query pays on top of the engine. Nagle's algorithm once made it ~45 ms.

The direct baseline runs in this process; the server runs in its own, as in use.
Rounds alternate between the two sides so that machine noise hits both alike; the
ratio of medians is reported.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import lz4.frame
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import requests

ROWS = 1_000_000
TABLE_DDL = (
    "CREATE TABLE {name} (event_id UUID, website_id UInt32, visitor_id String, "
    "client_ts DateTime64(3, 'UTC'), "
    "page_path String, device_type LowCardinality(String), revenue Float64) "
    "ENGINE = MergeTree PARTITION BY toDate(client_ts) ORDER BY (website_id, visitor_id, client_ts)"
)
AGGREGATE = (
    "SELECT website_id, toDate(client_ts) AS day, count() AS pageviews, uniqExact(visitor_id) AS visitors, "
    "sum(revenue) AS revenue, quantile(0.9)(length(page_path)) AS p90_path "
    "FROM {name} GROUP BY website_id, day ORDER BY website_id, day"
)


def make_events(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-01T00:00:00", "ms").astype(np.int64)
    ts = start + rng.integers(0, 7 * 86_400_000, rows)
    ids = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), rows, [None, pa.py_buffer(rng.bytes(16 * rows))]
    )
    visitors = rng.integers(0, 50_000, rows)
    paths = rng.zipf(1.3, rows) % 500
    devices = np.array(["desktop", "mobile", "tablet"])[rng.integers(0, 3, rows)]
    return pa.table(
        {
            "event_id": ids,
            "website_id": pa.array(rng.integers(1, 4, rows).astype(np.uint32)),
            "visitor_id": pa.array([f"v{v}" for v in visitors]),
            "client_ts": pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
            "page_path": pa.array([f"/page/{p}" for p in paths]),
            "device_type": pa.array(devices),
            "revenue": pa.array(np.round(rng.random(rows) * (rng.random(rows) < 0.02) * 200, 2)),
        }
    )


def _arrow_file_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(quick: bool = False) -> dict[str, Any]:
    import chdb  # the benchmark's in-process baseline; the server runs in its own process
    import clickhouse_connect

    from beaconhouse.warehouse.process import EmbeddedWarehouse

    rounds = 3 if quick else 7
    rows = 200_000 if quick else ROWS
    work = Path(tempfile.mkdtemp(prefix="bh-bench-wh-"))
    try:
        events = make_events(rows)
        parquet = work / "events.parquet"
        pq.write_table(events, parquet)
        direct = chdb.connect(f"file:{work / 'direct'}")
        with EmbeddedWarehouse(work / "served" / "data") as server:
            client = clickhouse_connect.get_client(host="127.0.0.1", port=server.port)
            direct.query(TABLE_DDL.format(name="events_src"))
            direct.query(f"INSERT INTO events_src SELECT * FROM file('{parquet}', Parquet)")
            client.command(TABLE_DDL.format(name="events_src"))
            client.insert_arrow("events_src", events)

            # -- 1. aggregate ------------------------------------------------------
            agg_direct, agg_http = [], []
            sql = AGGREGATE.format(name="events_src")
            check = "SELECT count(), sum(pageviews), sum(visitors) FROM ({sql})"
            expected = direct.query(check.format(sql=sql), "CSV").bytes().decode().strip()
            for _ in range(rounds):
                agg_direct.append(_timed(lambda: direct.query(sql, "Native")))
                agg_http.append(_timed(lambda: client.query(sql)))
            served = ",".join(str(v) for v in client.query(check.format(sql=sql)).result_rows[0])
            assert served == expected, (served, expected)  # both sides computed the same answer

            # -- 3. small queries ---------------------------------------------------
            small_direct, small_http = [], []
            for _ in range(20 if quick else 100):
                small_direct.append(_timed(lambda: direct.query("SELECT 1", "Native")))
                small_http.append(_timed(lambda: client.query("SELECT 1")))

            # -- 2. inserts --------------------------------------------------------
            ins_direct, ins_arrow, ins_native, ins_body = [], [], [], []
            # The same rows as one pre-serialised, lz4-compressed Arrow body: the
            # server's share of an insert, without the client's serialisation.
            arrow_body = lz4.frame.compress(_arrow_file_bytes(events))
            http = requests.Session()
            columns = events.column_names
            native_rows = events.to_pandas()
            for i in range(rounds):
                # Background merges of one side's fresh parts would otherwise run
                # during the other side's timed insert; stop them alike on both.
                direct.query(TABLE_DDL.format(name=f"d{i}"))
                direct.query(f"SYSTEM STOP MERGES d{i}")
                for prefix in ("a", "n", "b"):
                    client.command(TABLE_DDL.format(name=f"{prefix}{i}"))
                    client.command(f"SYSTEM STOP MERGES {prefix}{i}")
                ins_direct.append(
                    _timed(
                        lambda i=i: direct.query(f"INSERT INTO d{i} SELECT * FROM file('{parquet}', Parquet)")
                    )
                )
                ins_arrow.append(_timed(lambda i=i: client.insert_arrow(f"a{i}", events)))
                ins_native.append(
                    _timed(lambda i=i: client.insert_df(f"n{i}", native_rows, column_names=columns))
                )
                ins_body.append(
                    _timed(
                        lambda i=i: http.post(
                            server.url,
                            params={"query": f"INSERT INTO b{i} FORMAT Arrow"},
                            data=arrow_body,
                            headers={"Content-Encoding": "lz4"},
                            timeout=600,
                        ).raise_for_status()
                    )
                )
            counts = {
                "direct": int(direct.query(f"SELECT count() FROM d{rounds - 1}", "CSV").bytes()),
                "arrow": client.query(f"SELECT count() FROM a{rounds - 1}").result_rows[0][0],
                "native": client.query(f"SELECT count() FROM n{rounds - 1}").result_rows[0][0],
            }
            assert set(counts.values()) == {rows}, counts
        direct.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    aggregate_ratio = med(agg_http) / med(agg_direct)
    arrow_speed = med(ins_direct) / med(ins_arrow)
    native_speed = med(ins_direct) / med(ins_native)
    return {
        "benchmark": "warehouse",
        "rows": rows,
        "rounds": rounds,
        "notes": "ratios of medians over alternating rounds; "
        "merges stopped on the insert targets of both sides",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "aggregate_seconds": {
            "direct_chdb": med(agg_direct),
            "http_clickhouse_connect": med(agg_http),
            "all_direct": agg_direct,
            "all_http": agg_http,
        },
        "insert_seconds": {
            "direct_chdb_parquet_file": med(ins_direct),
            "http_clickhouse_connect_arrow": med(ins_arrow),
            "http_clickhouse_connect_native_df": med(ins_native),
            "http_prebuilt_arrow_body_lz4": med(ins_body),
        },
        "small_query_milliseconds": {
            "direct_chdb": med(small_direct) * 1000,
            "http_clickhouse_connect": med(small_http) * 1000,
        },
        "insert_rows_per_second": {
            "direct": rows / med(ins_direct),
            "http_arrow": rows / med(ins_arrow),
            "http_native_df": rows / med(ins_native),
        },
        "goals": [
            {
                "name": "aggregate_http_over_direct_time",
                "value": aggregate_ratio,
                "goal": "<= 1.3",
                "met": aggregate_ratio <= 1.3,
            },
            {
                "name": "insert_http_arrow_speed_vs_direct",
                "value": arrow_speed,
                "goal": ">= 0.7",
                "met": arrow_speed >= 0.7,
            },
            {
                "name": "insert_server_share_speed_vs_direct",
                "value": med(ins_direct) / med(ins_body),
                "goal": ">= 0.7 (informative: excludes client-side serialisation)",
                "met": med(ins_direct) / med(ins_body) >= 0.7,
            },
            {
                "name": "insert_http_native_speed_vs_direct",
                "value": native_speed,
                "goal": ">= 0.7 (informative)",
                "met": native_speed >= 0.7,
            },
        ],
    }
