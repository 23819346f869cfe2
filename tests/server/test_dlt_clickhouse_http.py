"""dlt loads into ClickHouse over HTTP only: beaconhouse.ingest.dlt_clickhouse_http.

Real dlt pipelines against the embedded server; every count and value is read back
through clickhouse-connect.
"""

from __future__ import annotations

import datetime as dt
import inspect
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pytest
from dlt.destinations.impl.clickhouse.clickhouse import ClickHouseClient
from dlt.destinations.impl.clickhouse.configuration import (
    ClickHouseClientConfiguration,
    ClickHouseCredentials,
)
from dlt.destinations.impl.clickhouse.factory import clickhouse
from dlt.destinations.impl.clickhouse.sql_client import ClickHouseSqlClient
from dlt.pipeline.exceptions import PipelineStepFailed

from beaconhouse.ingest import dlt_clickhouse_http as chttp
from beaconhouse.ingest.dlt_clickhouse_http import FrozenTableError, clickhouse_http
from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations

pytestmark = pytest.mark.server

DLT_TABLES = {"_dlt_loads", "_dlt_pipeline_state", "_dlt_version", "_dlt_sentinel"}


@pytest.fixture(autouse=True)
def _no_dlt_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture
def database(warehouse: Any) -> Any:
    """A fresh database for one test, dropped afterwards."""
    name = f"dlt_http_{uuid.uuid4().hex[:10]}"
    client = warehouse.client()
    client.command(f"CREATE DATABASE {name}")
    yield name
    client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def pipeline(warehouse: Any, database: str, pipelines_dir: Path, name: str, **destination: Any) -> Any:
    return dlt.pipeline(
        pipeline_name=name,
        destination=clickhouse_http(warehouse.url, database=database, **destination),
        pipelines_dir=str(pipelines_dir),
    )


def table_names(client: Any, database: str) -> set[str]:
    rows = client.query("SELECT name FROM system.tables WHERE database = {db:String}", {"db": database})
    return {name for (name,) in rows.result_rows}


def create_statement(client: Any, database: str, table: str) -> str:
    return str(client.command(f"SHOW CREATE TABLE {database}.{table}"))


# -- 1. a table dlt creates: appends, schema evolution, _dlt_loads, state ----------


def test_fresh_table_appends_evolves_and_restores_state(warehouse, database, tmp_path):
    client = warehouse.client()
    seen_runs: list[int] = []

    @dlt.resource(name="page_views")
    def page_views(batch: pa.Table) -> Any:
        state = dlt.current.resource_state()
        seen_runs.append(state.get("runs", 0))
        state["runs"] = state.get("runs", 0) + 1
        yield batch

    first = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "path": ["/", "/a", "/b"]})
    second = pa.table({"id": pa.array([4, 5], pa.int64()), "path": ["/c", "/d"], "duration_ms": [12.5, None]})
    p = pipeline(warehouse, database, tmp_path / "pipelines", "fresh")
    load_ids = [*p.run(page_views(first)).loads_ids, *p.run(page_views(second)).loads_ids]

    assert client.query(f"SELECT count(), count(duration_ms) FROM {database}.page_views").result_rows == [
        (5, 1)
    ]
    columns = dict(
        client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'page_views'",
            {"db": database},
        ).result_rows
    )
    assert columns == {
        "id": "Nullable(Int64)",
        "path": "Nullable(String)",
        "duration_ms": "Nullable(Float64)",
    }
    assert table_names(client, database) == {"page_views"} | DLT_TABLES
    loads = client.query(f"SELECT load_id, status FROM {database}._dlt_loads ORDER BY load_id").result_rows
    assert loads == [(load_id, 0) for load_id in sorted(load_ids)]
    assert "MergeTree" in create_statement(client, database, "page_views")

    # A new machine: no local pipeline folder. dlt restores the state from _dlt_pipeline_state.
    shutil.rmtree(tmp_path / "pipelines")
    restored = pipeline(warehouse, database, tmp_path / "pipelines", "fresh")
    restored.run(page_views(pa.table({"id": pa.array([6], pa.int64()), "path": ["/e"]})))
    assert seen_runs == [0, 1, 2]
    assert client.query(f"SELECT count() FROM {database}.page_views").result_rows == [(6,)]


def test_jsonl_merge_and_replace_over_http(warehouse, database, tmp_path):
    """Dict rows go as gzipped JSONL; merge uses a staging table, replace truncates."""
    client = warehouse.client()

    @dlt.resource(primary_key="id", write_disposition="merge")
    def users(rows: list[dict[str, Any]]) -> Any:
        yield rows

    @dlt.resource(write_disposition="replace")
    def snapshot(rows: list[dict[str, Any]]) -> Any:
        yield rows

    p = pipeline(warehouse, database, tmp_path / "pipelines", "jsonl")
    p.run([users([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]), snapshot([{"k": 1}, {"k": 2}])])
    p.run([users([{"id": 2, "name": "B"}, {"id": 3, "name": "50% off; ok"}]), snapshot([{"k": 9}])])

    assert client.query(f"SELECT id, name FROM {database}.users ORDER BY id").result_rows == [
        (1, "a"),
        (2, "B"),
        (3, "50% off; ok"),
    ]
    assert client.query(f"SELECT k FROM {database}.snapshot").result_rows == [(9,)]
    completed = list((tmp_path / "pipelines" / "jsonl" / "load" / "loaded").glob("*/completed_jobs/users.*"))
    assert any(path.name.endswith(".jsonl.gz") for path in completed)


# -- 2. a pre-created table with ClickHouse types, and frozen tables -----------------

EVENTS_DDL = """
CREATE TABLE {db}.events
(
    event_id        UUID,
    website_id      UInt32,
    tracking_id     LowCardinality(String),
    visitor_id      String,
    client_ts       DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    loaded_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    event_date      Date ALIAS toDate(client_ts),
    ip              IPv6,
    click_ids       Map(LowCardinality(String), String),
    properties      Map(String, String),
    revenue         Nullable(Decimal(18, 4)),
    is_bot          Bool,
    user_id         Nullable(String),
    ingest_batch_id LowCardinality(String)
)
ENGINE = ReplacingMergeTree(loaded_at)
PARTITION BY toDate(client_ts)
ORDER BY (website_id, visitor_id, client_ts, event_id)
"""

MAP = pa.map_(pa.string(), pa.string())
CLIENT_TS = dt.datetime(2026, 11, 20, 12, 30, 15, 123000, tzinfo=dt.UTC)


def event_batch(ids: list[uuid.UUID], website_id: int) -> pa.Table:
    """Arrow columns as the loaders build them: ids and IPs as strings, maps, decimals."""
    n = len(ids)
    return pa.table(
        {
            "event_id": pa.array([str(i) for i in ids]),
            "website_id": pa.array([website_id] * n, pa.uint32()),
            "tracking_id": [f"site-{website_id}"] * n,
            "visitor_id": [f"v{i}" for i in range(n)],
            "client_ts": pa.array(
                [CLIENT_TS + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("ms", "UTC")
            ),
            "ip": pa.array(["::ffff:203.0.113.0", "2001:db8::1"][:n]),
            "click_ids": pa.array([[("gclid", "g1")], []][:n], MAP),
            "properties": pa.array([[("a", "1"), ("b", "x")], [("c", "")]][:n], MAP),
            "revenue": pa.array([Decimal("12.3400"), None][:n], pa.decimal128(18, 4)),
            "is_bot": [False, True][:n],
            "user_id": ["u1", None][:n],
            # The load id is known while extracting: it is the row's lineage in raw.events.
            "ingest_batch_id": [dlt.current.load_package_state()["load_id"]] * n,
        }
    )


@dlt.resource(name="events", schema_contract={"columns": "freeze", "data_type": "freeze"})
def events_resource(ids: list[uuid.UUID], website_id: int) -> Any:
    yield event_batch(ids, website_id)


def test_arrow_into_existing_clickhouse_typed_table(warehouse, database, tmp_path):
    client = warehouse.client()
    client.command(EVENTS_DDL.format(db=database))
    before = create_statement(client, database, "events")
    first_ids, second_ids = [uuid.uuid4(), uuid.uuid4()], [uuid.uuid4()]

    p = pipeline(warehouse, database, tmp_path / "pipelines", "typed", frozen_tables=["events"])
    load_ids = [
        *p.run(events_resource(first_ids, 1)).loads_ids,
        *p.run(events_resource(second_ids, 2)).loads_ids,
    ]

    rows = client.query(
        f"SELECT event_id, website_id, tracking_id, toString(client_ts), ip, click_ids, properties,"
        f" revenue, is_bot, user_id, ingest_batch_id, loaded_at > now64(3) - INTERVAL 1 HOUR"
        f" FROM {database}.events ORDER BY website_id, client_ts"
    ).result_rows
    v4_mapped, v6 = ipaddress.IPv6Address("::ffff:203.0.113.0"), ipaddress.IPv6Address("2001:db8::1")
    ts0, ts1 = "2026-11-20 12:30:15.123", "2026-11-20 12:30:16.123"
    first_load, second_load = sorted(load_ids)
    assert rows == [
        (first_ids[0], 1, "site-1", ts0, v4_mapped, {"gclid": "g1"}, {"a": "1", "b": "x"},
         Decimal("12.3400"), False, "u1", first_load, True),
        (first_ids[1], 1, "site-1", ts1, v6, {}, {"c": ""}, None, True, None, first_load, True),
        (second_ids[0], 2, "site-2", ts0, v4_mapped, {"gclid": "g1"}, {"a": "1", "b": "x"},
         Decimal("12.3400"), False, "u1", second_load, True),
    ]  # fmt: skip
    # dlt changed nothing: same columns, codecs, ALIAS, DEFAULT, engine, keys.
    assert create_statement(client, database, "events") == before
    engine = client.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'events'",
        {"db": database},
    ).result_rows[0][0]
    assert engine.startswith("ReplacingMergeTree(loaded_at) PARTITION BY toDate(client_ts)")
    assert table_names(client, database) == {"events"} | DLT_TABLES


def test_insert_settings_reach_the_server_with_every_load_file(warehouse, database, tmp_path):
    """``insert_settings`` go with the file inserts. The loaders send
    ``optimize_on_insert=0``: a ReplacingMergeTree then keeps an inserted block's
    rows with equal keys until a merge, where by default the insert collapses them."""
    client = warehouse.client()
    client.command(f"CREATE TABLE {database}.kv (k UInt8, v UInt8) ENGINE = ReplacingMergeTree ORDER BY k")
    same_keys = pa.table({"k": pa.array([1, 1, 2, 2], pa.uint8()), "v": pa.array([1, 2, 1, 2], pa.uint8())})

    @dlt.resource(name="kv")
    def rows() -> Any:
        yield same_keys

    def count() -> int:
        return int(client.query(f"SELECT count() FROM {database}.kv").result_rows[0][0])

    plain = pipeline(warehouse, database, tmp_path / "plain", "plain", frozen_tables=["kv"])
    plain.run(rows()).raise_on_failed_jobs()
    assert count() == 2  # collapsed as the block was inserted
    client.command(f"TRUNCATE TABLE {database}.kv")
    unoptimised = pipeline(
        warehouse,
        database,
        tmp_path / "raw",
        "raw",
        frozen_tables=["kv"],
        insert_settings={"optimize_on_insert": 0},
    )
    unoptimised.run(rows()).raise_on_failed_jobs()
    assert count() == 4


@pytest.fixture
def idle_clients(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A pool of idle clients of the test's own: earlier tests' clients cannot be taken,
    and what the test leaves is closed."""
    idle = chttp.IdleClients()
    monkeypatch.setattr(chttp, "IDLE_CLIENTS", idle)
    yield idle
    idle.close_all()


def test_closed_clients_are_reused_by_the_next_load_of_the_same_destination(
    warehouse, database, tmp_path, monkeypatch, idle_clients
):
    """dlt opens an SQL client per load step; each new clickhouse-connect client costs
    three server queries (version, system.settings, a protocol probe). A second load
    reuses every client, the one that uploaded the load file included, and a
    destination with another database never gets the first one's clients."""
    import clickhouse_connect

    client = warehouse.client()  # before counting: only dlt's clients are counted
    opened: list[Any] = []
    real_get_client = clickhouse_connect.get_client

    def counting_get_client(*args: Any, **kwargs: Any) -> Any:
        opened.append(new := real_get_client(*args, **kwargs))
        return new

    monkeypatch.setattr(clickhouse_connect, "get_client", counting_get_client)

    @dlt.resource(name="numbers")
    def numbers(start: int) -> Any:
        yield pa.table({"n": pa.array(range(start, start + 3), pa.int64())})

    loads = pipeline(warehouse, database, tmp_path / "reuse", "reuse")
    loads.run(numbers(0)).raise_on_failed_jobs()
    first_load = len(opened)
    assert first_load >= 1
    loads.run(numbers(3)).raise_on_failed_jobs()
    assert len(opened) == first_load  # every client reused
    second_load = len(opened)

    other = f"{database}_other"
    client.command(f"CREATE DATABASE {other}")
    try:
        elsewhere = pipeline(warehouse, other, tmp_path / "other", "other")
        elsewhere.run(numbers(0)).raise_on_failed_jobs()
        assert len(opened) > second_load
        assert {c.database for c in opened[second_load:]} == {other}
        assert client.query(f"SELECT count() FROM {other}.numbers").result_rows[0][0] == 3
    finally:
        client.command(f"DROP DATABASE IF EXISTS {other} SYNC")
    assert client.query(f"SELECT sum(n) FROM {database}.numbers").result_rows[0][0] == sum(range(6))


def test_idle_clients_keep_a_few_per_key_and_close_the_rest():
    closed: list[str] = []

    class FakeClient:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    idle = chttp.IdleClients(per_key=2)
    a, b, c = FakeClient("a"), FakeClient("b"), FakeClient("c")
    for client in (a, b, c):
        idle.give_back("key", client)  # type: ignore[arg-type]
    assert closed == ["c"]
    assert idle.take("other") is None
    assert {idle.take("key"), idle.take("key")} == {a, b}
    assert idle.take("key") is None
    idle.give_back("key", a)  # type: ignore[arg-type]
    idle.close_all()
    assert closed == ["c", "a"]
    assert idle.take("key") is None


def test_frozen_table_refuses_alter_create_and_drop(warehouse, database, tmp_path):
    client = warehouse.client()
    client.command(EVENTS_DDL.format(db=database))
    before = create_statement(client, database, "events")
    p = pipeline(warehouse, database, tmp_path / "pipelines", "frozen", frozen_tables=["events", "counters"])
    p.run(events_resource([uuid.uuid4()], 1))

    # First run of a new pipeline with a column raw.events lacks: dlt's column contract
    # does not apply to a table new to its schema, so only the frozen table stops the ALTER.
    @dlt.resource(name="events")
    def with_extra_column() -> Any:
        yield event_batch([uuid.uuid4()], 1).append_column("utm_typo", pa.array(["x"]))

    other = pipeline(warehouse, database, tmp_path / "other", "frozen_other", frozen_tables=["events"])
    with pytest.raises(PipelineStepFailed, match=r"tried to ALTER `dlt_http_\w+`.`events`.*`utm_typo`"):
        other.run(with_extra_column())

    @dlt.resource(name="counters")
    def counters() -> Any:
        yield pa.table({"n": [1]})

    with pytest.raises(PipelineStepFailed, match=r"tried to CREATE .*`counters`.*apply the migrations"):
        p.run(counters())
    p.abort_packages()

    with pytest.raises(PipelineStepFailed) as failed:
        p.run(events_resource([uuid.uuid4()], 1), refresh="drop_resources")
    assert isinstance(failed.value.__cause__, FrozenTableError)
    assert "tried to DROP" in str(failed.value.__cause__)

    assert create_statement(client, database, "events") == before
    assert client.query(f"SELECT count() FROM {database}.events").result_rows == [(1,)]
    assert "counters" not in table_names(client, database)


def test_recipe_against_the_migrated_raw_layer(warehouse, tmp_path):
    """The naming recipe on the real migrations: a resource `events` lands in <raw>.events."""
    client = warehouse.client()
    suffix = uuid.uuid4().hex[:8]
    ctx = SchemaContext(raw_db=f"raw_{suffix}", meta_db=f"meta_{suffix}", marts_db=f"marts_{suffix}")
    apply_migrations(client, ctx)
    raw_tables = ("events", "events_quarantine", "ingest_counters")
    before = {t: create_statement(client, ctx.raw_db, t) for t in raw_tables}
    migrated = table_names(client, ctx.raw_db)
    assert set(raw_tables) <= migrated
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    @dlt.resource(name="events_quarantine")
    def quarantine() -> Any:
        yield pa.table(
            {
                "website_id": pa.array([None], pa.uint32()),
                "reason": ["malformed_json"],
                "reason_detail": ["line 1: unexpected end"],
                "raw_payload": ["{"],
                "source_kind": ["file"],
                "source_file": ["s3://landing/2026/11/20.jsonl"],
                "source_line": pa.array([7], pa.uint64()),
                "ingest_batch_id": [dlt.current.load_package_state()["load_id"]],
            }
        )

    @dlt.resource(name="ingest_counters")
    def ingest_counters() -> Any:
        yield pa.table(
            {
                "website_id": pa.array([1], pa.uint32()),
                "minute": pa.array([now.replace(second=0)], pa.timestamp("s", "UTC")),
                "source_kind": ["file"],
                "received": pa.array([3], pa.uint64()),
                "loaded": pa.array([2], pa.uint64()),
                "quarantined": pa.array([1], pa.uint64()),
                "duplicate": pa.array([0], pa.uint64()),
            }
        )

    @dlt.resource(name="events")
    def events() -> Any:
        batch = event_batch([uuid.uuid4(), uuid.uuid4()], 1)
        yield (
            batch.set_column(
                batch.schema.get_field_index("client_ts"),
                "client_ts",
                pa.array([now, now], pa.timestamp("ms", "UTC")),
            )
            .append_column("server_ts", pa.array([now, now], pa.timestamp("ms", "UTC")))
            .append_column("screen_width", pa.array([1920, 0], pa.uint16()))
        )

    @dlt.source(name="landing", max_table_nesting=0, schema_contract={"columns": "freeze"})
    def landing() -> Any:
        return events(), quarantine(), ingest_counters()

    p = pipeline(warehouse, ctx.raw_db, tmp_path / "pipelines", "raw", frozen_tables=raw_tables)
    p.run(landing()).raise_on_failed_jobs()

    counts = {t: client.query(f"SELECT count() FROM {ctx.raw_db}.{t}").result_rows[0][0] for t in raw_tables}
    assert counts == {"events": 2, "events_quarantine": 1, "ingest_counters": 1}
    assert client.query(
        f"SELECT screen_width, server_ts = client_ts, visitor_id_kind, loaded_at > now64(3) - INTERVAL 1 HOUR"
        f" FROM {ctx.raw_db}.events ORDER BY visitor_id"
    ).result_rows == [(1920, True, "", True), (0, True, "", True)]
    assert client.query(
        f"SELECT sum(received), sum(loaded), toString(minute) FROM {ctx.raw_db}.ingest_counters"
        " GROUP BY minute"
    ).result_rows == [(3, 2, now.strftime("%Y-%m-%d %H:%M:00"))]
    assert {t: create_statement(client, ctx.raw_db, t) for t in raw_tables} == before
    # dlt added its own tables and nothing else
    assert table_names(client, ctx.raw_db) == migrated | DLT_TABLES
    for db in (ctx.raw_db, ctx.meta_db, ctx.marts_db):
        client.command(f"DROP DATABASE IF EXISTS {db} SYNC")


# -- 3. pinned to dlt 1.31.0 ------------------------------------------------------

# Parameter lists of the dlt methods the module overrides or relies on, as in dlt 1.31.0.
PINNED_SIGNATURES = {
    "ClickHouseSqlClient.open_connection": "function(self)",
    "ClickHouseSqlClient.close_connection": "function(self)",
    "ClickHouseSqlClient.native_connection": "property",
    "ClickHouseSqlClient.commit_transaction": "function(self)",
    "ClickHouseSqlClient.rollback_transaction": "function(self)",
    "ClickHouseSqlClient.execute_query": "function(self, query, *args, **kwargs)",
    "ClickHouseSqlClient.insert_file": "function(self, file_path, table_name, file_format, compression)",
    "ClickHouseSqlClient._make_database_exception": "classmethod(ex)",
    "ClickHouseSqlClient.is_dbapi_exception": "staticmethod(ex)",
    "ClickHouseSqlClient.__init__": (
        "function(self, dataset_name, staging_dataset_name, known_table_names, credentials,"
        " capabilities, config)"
    ),
    "ClickHouseSqlClient.begin_transaction": "function(self)",
    "ClickHouseSqlClient.execute_sql": "function(self, sql, *args, **kwargs)",
    "ClickHouseSqlClient.make_qualified_table_name": "function(self, table_name, quote=True, casefold=True)",
    "ClickHouseSqlClient.make_qualified_table_name_path": (
        "function(self, table_name, quote=True, casefold=True, dataset_name=None, catalog=None)"
    ),
    "ClickHouseSqlClient._ensure_native_conn": "function(self)",
    "ClickHouseSqlClient._sanitise_dbargs": "staticmethod(db_args)",
    "ClickHouseClient.__init__": "function(self, schema, config, capabilities)",
    "clickhouse.client_class": "property",
    "clickhouse.spec": "class ClickHouseClientConfiguration",
    "clickhouse.__init__": (
        "function(self, credentials=None, destination_name=None, environment=None,"
        " select_sequential_consistency=None, **kwargs)"
    ),
    "DBApiCursorImpl.__init__": "function(self, curr)",
}
CREDENTIAL_FIELDS = {
    "host", "port", "http_port", "username", "password", "database", "secure",
    "connect_timeout", "send_receive_timeout", "session_timezone",
}  # fmt: skip
CONFIG_FIELDS = {"credentials", "select_sequential_consistency", "dataset_sentinel_table_name"}
UPGRADE_HELP = "see docs/dlt-clickhouse-http.md, 'Upgrading dlt'"


def shape(cls: type, name: str) -> str:
    """What kind of attribute ``cls.name`` is, and its parameters (names, kinds, defaults)."""
    static = inspect.getattr_static(cls, name)
    if isinstance(static, property):
        return "property"
    if isinstance(static, type):
        return f"class {static.__name__}"
    kind = {classmethod: "classmethod", staticmethod: "staticmethod"}.get(type(static), "function")
    params = []
    for p in inspect.signature(getattr(cls, name)).parameters.values():
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        default = "" if p.default is p.empty else f"={p.default!r}"
        params.append(f"{prefix}{p.name}{default}")
    return f"{kind}({', '.join(params)})"


@pytest.mark.unit
def test_pinned_dlt_version():
    assert chttp.PINNED_DLT_VERSION == "1.31.0"
    assert dlt.__version__ == chttp.PINNED_DLT_VERSION, (
        f"dlt is {dlt.__version__}, but beaconhouse/ingest/dlt_clickhouse_http.py extends the"
        f" ClickHouse destination of dlt {chttp.PINNED_DLT_VERSION}. Re-read dlt's"
        " destinations/impl/clickhouse/ and destinations/sql_client.py, update the overrides and"
        f" PINNED_SIGNATURES, then PINNED_DLT_VERSION; {UPGRADE_HELP}."
    )


@pytest.mark.unit
def test_overridden_and_used_dlt_methods_keep_their_signatures():
    listed = {
        f"{cls.__name__}.{name}"
        for table in (chttp.OVERRIDES, chttp.RELIES_ON)
        for cls, names in table.items()
        for name in names
    }
    assert listed == set(PINNED_SIGNATURES), "record every overridden or used dlt method here"
    changed = []
    for table in (chttp.OVERRIDES, chttp.RELIES_ON):
        for cls, names in table.items():
            for name in names:
                key = f"{cls.__name__}.{name}"
                if not hasattr(cls, name):
                    changed.append(f"{key} no longer exists")
                elif (now := shape(cls, name)) != PINNED_SIGNATURES[key]:
                    changed.append(f"{key} is now {now}, was {PINNED_SIGNATURES[key]}")
    assert not changed, (
        f"dlt {dlt.__version__} changed what the HTTP destination relies on: {changed}; {UPGRADE_HELP}"
    )
    missing = CREDENTIAL_FIELDS - set(ClickHouseCredentials.get_resolvable_fields())
    missing |= CONFIG_FIELDS - set(ClickHouseClientConfiguration.get_resolvable_fields())
    assert not missing, f"dlt's ClickHouse configuration lost the fields {missing}; {UPGRADE_HELP}"


@pytest.mark.unit
def test_overrides_match_the_dlt_methods_they_replace():
    ours = {
        ClickHouseSqlClient: chttp.ClickHouseHttpSqlClient,
        ClickHouseClient: chttp.ClickHouseHttpClient,
        clickhouse: chttp.ClickHouseHttp,
    }
    for base, names in chttp.OVERRIDES.items():
        for name in names:
            assert name in vars(ours[base]), f"{ours[base].__name__} does not override {name}"
            if not isinstance(inspect.getattr_static(base, name), type):
                assert shape(ours[base], name) == shape(base, name), f"{ours[base].__name__}.{name}"
    # ... and nothing else of dlt's is overridden without being listed (and pinned).
    for base, cls in ours.items():
        overridden = {
            name
            for name, value in vars(cls).items()
            if hasattr(base, name)
            and (callable(value) or isinstance(value, property | type))
            and (name == "__init__" or not name.startswith("__"))
        }
        assert overridden <= set(chttp.OVERRIDES[base]), f"unlisted overrides in {cls.__name__}"
    assert issubclass(chttp.ClickHouseHttp.spec, ClickHouseClientConfiguration)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("url", "host", "port", "secure"),
    [
        ("https://abc.eu-west-1.aws.clickhouse.cloud", "abc.eu-west-1.aws.clickhouse.cloud", 8443, True),
        ("https://warehouse.internal:9443", "warehouse.internal", 9443, True),
        ("http://127.0.0.1:8123", "127.0.0.1", 8123, False),
        ("http://localhost", "localhost", 8123, False),
    ],
)
def test_url_decides_host_port_and_tls(monkeypatch, url, host, port, secure):
    seen: dict[str, Any] = {}
    monkeypatch.setattr(chttp.clickhouse_connect, "get_client", lambda **kwargs: seen.update(kwargs))
    destination = clickhouse_http(url, "loader", "s3cret", database="raw", frozen_tables=["events"])
    job_client = destination.client(dlt.Schema("landing"))
    sql_client = job_client.sql_client
    assert isinstance(sql_client, chttp.ClickHouseHttpSqlClient)
    assert sql_client.frozen_tables == {"`raw`.`events`"}
    sql_client.open_connection()
    assert (seen["host"], seen["port"], seen["secure"]) == (host, port, secure)
    assert (seen["username"], seen["password"], seen["database"]) == ("loader", "s3cret", "raw")


@pytest.mark.unit
@pytest.mark.parametrize("url", ["clickhouse://127.0.0.1:9000", "tcp://127.0.0.1:9000", "127.0.0.1:8123"])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(ValueError, match="http:// or https://"):
        clickhouse_http(url)


def _load_file_codecs(destination: Any, pipelines_dir: Path) -> set[str]:
    """The codecs of the Parquet load files dlt writes for ``destination`` (no server
    needed: extract and normalize only)."""
    import pyarrow.parquet as pq

    p = dlt.pipeline("codec_probe", destination=destination, pipelines_dir=str(pipelines_dir))
    p.extract(dlt.resource([pa.table({"n": [1, 2, 3], "text": ["a", "b", "c"]})], name="events"))
    p.normalize()
    files = list(pipelines_dir.rglob("events.*.parquet"))
    assert files, "normalize wrote no Parquet load file"
    return {pq.ParquetFile(f).metadata.row_group(0).column(i).compression for f in files for i in range(2)}


@pytest.mark.unit
@pytest.mark.parametrize(("configured", "written"), [("none", "UNCOMPRESSED"), ("zstd", "ZSTD")])
def test_raw_loaders_write_load_files_with_the_configured_compression(tmp_path, configured, written):
    from beaconhouse.config import Settings
    from beaconhouse.ingest.loading import raw_destination

    settings = Settings.model_validate({"warehouse": {"load_file_compression": configured}})
    assert _load_file_codecs(raw_destination(settings), tmp_path) == {written}


@pytest.mark.unit
def test_load_files_keep_dlts_snappy_unless_told(tmp_path):
    assert _load_file_codecs(clickhouse_http("http://127.0.0.1:8123"), tmp_path) == {"SNAPPY"}


# -- 4. no native protocol --------------------------------------------------------

NATIVE_PROBE = r"""
import json, shutil, sys

connects = []
sys.addaudithook(lambda event, args: connects.append(args[1]) if event == "socket.connect" else None)

import clickhouse_driver, clickhouse_driver.connection, clickhouse_driver.dbapi
native = []

def refuse(*args, **kwargs):
    native.append(repr(args)[:80])
    raise RuntimeError("the native protocol was used")

clickhouse_driver.connect = clickhouse_driver.dbapi.connect = refuse
clickhouse_driver.connection.Connection.connect = refuse

import dlt, pyarrow as pa
from beaconhouse.ingest.dlt_clickhouse_http import clickhouse_http

url, database, pipelines_dir = sys.argv[1:4]

seen_state = []

@dlt.resource(name="probe")
def probe(n):
    state = dlt.current.resource_state()
    seen_state.append(state.get("n"))
    state["n"] = n
    yield pa.table({"n": [n]})

def run(n):
    p = dlt.pipeline("native_probe", destination=clickhouse_http(url, database=database),
                     pipelines_dir=pipelines_dir)
    p.run(probe(n)).raise_on_failed_jobs()
    p.run([{"n": n, "via": "jsonl"}], table_name="probe_rows").raise_on_failed_jobs()
    with p.sql_client() as sql:
        return sql.execute_sql("SELECT count() FROM probe")[0][0]

run(1)
shutil.rmtree(pipelines_dir)  # the second run restores its state from the warehouse
count = run(2)
ports = sorted({address[1] for address in connects if isinstance(address, tuple)})
print(json.dumps({"count": count, "ports": ports, "native": native, "seen_state": seen_state}))
"""


def test_no_native_protocol_connection_is_attempted(warehouse, database, tmp_path):
    """Every socket the runs open goes to the HTTP port (none to 9000 or 9440), and
    clickhouse-driver, whose connect is patched to raise, is never asked to connect.

    dlt's own ClickHouse module imports clickhouse_driver at import time, so the module
    is loaded; this checks that nothing uses it: DDL, Parquet and JSONL uploads, state
    restore and a query through ``pipeline.sql_client()``.
    """
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    done = subprocess.run(
        [sys.executable, "-c", NATIVE_PROBE, warehouse.url, database, str(tmp_path / "pipelines")],
        capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["native"] == []
    assert report["ports"] == [warehouse.port]
    assert report["count"] == 2
    assert report["seen_state"] == [None, 1]
