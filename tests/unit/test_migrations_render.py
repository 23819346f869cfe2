"""Rendering, splitting and bookkeeping of the versioned raw-layer DDL (no warehouse)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest

from beaconhouse.warehouse.migrations import (
    DEFAULT_MIGRATIONS_DIR,
    Migration,
    MigrationError,
    SchemaContext,
    apply_migrations,
    discover_migrations,
    migration_checksum,
    render_bootstrap,
    render_migration,
    split_statements,
    validate_identifier,
)

pytestmark = pytest.mark.unit

MIGRATIONS = discover_migrations()
SINGLE = SchemaContext()
CLUSTER = SchemaContext(cluster="c1")
ENGINE_RE = re.compile(r"^ENGINE = (\w+)\((.*)\)$", re.MULTILINE)


def rendered(ctx: SchemaContext) -> list[str]:
    """Every statement the runner would send for ``ctx``, bootstrap first."""
    statements = render_bootstrap(ctx)
    for migration in MIGRATIONS:
        statements.extend(render_migration(migration, ctx))
    return statements


def statement_creating(statements: list[str], table: str) -> str:
    prefix = re.compile(rf"CREATE TABLE IF NOT EXISTS {re.escape(table)}(\s|$)")
    matches = [s for s in statements if prefix.match(s)]
    assert len(matches) == 1, f"expected one CREATE for {table}, got {len(matches)}"
    return matches[0]


# --- discovery ---------------------------------------------------------------------


def test_discover_finds_the_raw_layer_in_version_order() -> None:
    assert [(m.version, m.name) for m in MIGRATIONS][:3] == [
        (1, "raw_events"),
        (2, "raw_events_quarantine"),
        (3, "ingest_counters"),
    ]
    assert [m.version for m in MIGRATIONS] == sorted(m.version for m in MIGRATIONS)
    assert all(m.path.parent == DEFAULT_MIGRATIONS_DIR for m in MIGRATIONS)
    assert MIGRATIONS[0].label == "V0001__raw_events"


def test_discover_orders_by_number_not_by_name(tmp_path: Path) -> None:
    for name in ("V10000__later.sql", "V0002__second.sql", "V0010__tenth.sql", "README.md"):
        (tmp_path / name).write_text("SELECT 1;\n")
    assert [m.version for m in discover_migrations(tmp_path)] == [2, 10, 10000]


@pytest.mark.parametrize(
    "filename", ["V1__too_short.sql", "V0001_one_underscore.sql", "V0001__Upper.sql", "x.sql"]
)
def test_discover_rejects_misnamed_sql_files(tmp_path: Path, filename: str) -> None:
    (tmp_path / filename).write_text("SELECT 1;\n")
    with pytest.raises(ValueError, match="must be named"):
        discover_migrations(tmp_path)


def test_discover_rejects_duplicate_versions(tmp_path: Path) -> None:
    (tmp_path / "V0001__a.sql").write_text("SELECT 1;\n")
    (tmp_path / "V00001__b.sql").write_text("SELECT 1;\n")
    with pytest.raises(ValueError, match="version 1 is also used"):
        discover_migrations(tmp_path)


def test_discover_rejects_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        discover_migrations(tmp_path / "nope")


# --- rendering -----------------------------------------------------------------------


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda m: m.label)
@pytest.mark.parametrize("ctx", [SINGLE, CLUSTER], ids=["single", "cluster"])
def test_every_migration_renders_idempotent_statements(migration: Migration, ctx: SchemaContext) -> None:
    statements = render_migration(migration, ctx)
    assert statements
    for statement in statements:
        assert not statement.endswith(";")
        assert "{{" not in statement
        assert "{%" not in statement
        if statement.startswith("CREATE"):
            assert re.match(r"CREATE (TABLE|DATABASE) IF NOT EXISTS ", statement), statement


def test_single_node_has_no_cluster_machinery() -> None:
    for statement in rendered(SINGLE):
        assert "ON CLUSTER" not in statement
        assert "Replicated" not in statement
        assert "Distributed" not in statement
        assert "_local" not in statement


def test_cluster_mode_runs_every_create_on_the_cluster() -> None:
    creates = [s for s in rendered(CLUSTER) if s.startswith("CREATE")]
    assert creates
    for statement in creates:
        first_line = statement.splitlines()[0]
        assert first_line.endswith(" ON CLUSTER 'c1'"), first_line


def test_cluster_mode_replicates_every_mergetree_engine() -> None:
    engines = [m.group(1) for s in rendered(CLUSTER) for m in ENGINE_RE.finditer(s)]
    mergetree = [e for e in engines if e.endswith("MergeTree")]
    assert set(mergetree) == {
        "ReplicatedMergeTree",
        "ReplicatedReplacingMergeTree",
        "ReplicatedSummingMergeTree",
    }
    assert set(engines) - set(mergetree) == {"Distributed"}


def test_cluster_mode_puts_raw_events_behind_a_distributed_table() -> None:
    statements = rendered(CLUSTER)
    local = statement_creating(statements, "raw.events_local")
    assert (
        "ENGINE = ReplicatedReplacingMergeTree("
        "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}', loaded_at)"
    ) in local
    distributed = statement_creating(statements, "raw.events")
    assert "AS raw.events_local\n" in distributed
    assert distributed.endswith("ENGINE = Distributed('c1', 'raw', 'events_local', cityHash64(website_id))")
    # The Distributed table must come after the table it reads.
    assert statements.index(local) < statements.index(distributed)


def test_cluster_mode_bookkeeping_is_replicated_cluster_wide() -> None:
    bootstrap = render_bootstrap(CLUSTER)
    table = statement_creating(bootstrap, "beaconhouse.schema_migrations")
    assert "ReplicatedMergeTree('/clickhouse/tables/c1/{database}/{table}', '{shard}-{replica}')" in table
    assert "Distributed" not in " ".join(bootstrap)


def test_single_node_raw_events_layout() -> None:
    events = statement_creating(rendered(SINGLE), "raw.events")
    assert "ENGINE = ReplacingMergeTree(loaded_at)\n" in events
    assert "PARTITION BY toDate(client_ts)\n" in events
    assert "ORDER BY (website_id, visitor_id, client_ts, event_id)\n" in events
    assert "TTL toDate(client_ts) + INTERVAL 800 DAY\n" in events
    assert "event_date          Date ALIAS toDate(client_ts)" in events


def test_context_reaches_the_templates() -> None:
    ctx = SchemaContext(raw_db="raw_ci", meta_db="meta_ci", ttl_days=30, quarantine_ttl_days=7)
    statements = rendered(ctx)
    joined = "\n".join(statements)
    assert "CREATE DATABASE IF NOT EXISTS raw_ci" in statements
    assert "CREATE DATABASE IF NOT EXISTS meta_ci" in statements
    assert "raw_ci.events\n" in joined
    assert "raw.events" not in joined
    assert "TTL toDate(client_ts) + INTERVAL 30 DAY" in joined
    assert "TTL toDate(received_at) + INTERVAL 7 DAY" in joined


def test_comments_are_dropped_from_rendered_sql() -> None:
    assert not any("--" in s or "/*" in s for s in rendered(SINGLE))


def test_undefined_template_variable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "V0001__typo.sql").write_text("CREATE DATABASE IF NOT EXISTS {{ raw_dbb }};\n")
    [migration] = discover_migrations(tmp_path)
    with pytest.raises(jinja2.UndefinedError):
        render_migration(migration, SINGLE)


def test_templates_outside_sql_dir_can_use_the_shared_macros(tmp_path: Path) -> None:
    (tmp_path / "V0001__db.sql").write_text(
        '{% import "macros.sql.j2" as m with context %}\n{{ m.create_database("x") }};\n'
    )
    [migration] = discover_migrations(tmp_path)
    assert render_migration(migration, CLUSTER) == ["CREATE DATABASE IF NOT EXISTS x ON CLUSTER 'c1'"]


def test_checksum_follows_the_rendered_sql() -> None:
    events = MIGRATIONS[0]
    single = migration_checksum(render_migration(events, SINGLE))
    assert single == migration_checksum(render_migration(events, SchemaContext()))
    assert single != migration_checksum(render_migration(events, CLUSTER))
    assert single != migration_checksum(render_migration(events, SchemaContext(ttl_days=30)))
    assert re.fullmatch(r"[0-9a-f]{64}", single)


# --- statement splitting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1;\nSELECT 2;\n", ["SELECT 1", "SELECT 2"]),
        ("SELECT 1\n;\nSELECT 2\n;\n", ["SELECT 1", "SELECT 2"]),
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
        (";\n ; \n", []),
        ("SELECT 'a;b';", ["SELECT 'a;b'"]),
        ("SELECT 'it''s;'; SELECT 2", ["SELECT 'it''s;'", "SELECT 2"]),
        (r"SELECT 'a\';b';", [r"SELECT 'a\';b'"]),
        ('SELECT 1 AS "x;y", 2 AS `p;q`;', ['SELECT 1 AS "x;y", 2 AS `p;q`']),
        ("-- don't split; here\nSELECT 1;", ["SELECT 1"]),
        ("SELECT 1 -- trailing; comment\n, 2;", ["SELECT 1\n, 2"]),
        ("SELECT /* a; b */ 1;", ["SELECT   1"]),
        ("CREATE TABLE t\n(\n    -- group\n    a UInt8\n);", ["CREATE TABLE t\n(\n    a UInt8\n)"]),
        ("-- only a comment;\n;\nSELECT 1", ["SELECT 1"]),
    ],
)
def test_split_statements(sql: str, expected: list[str]) -> None:
    assert split_statements(sql) == expected


@pytest.mark.parametrize("sql", ["SELECT 'open;", 'SELECT "open', "SELECT /* open"])
def test_split_statements_rejects_unterminated_quotes_and_comments(sql: str) -> None:
    with pytest.raises(ValueError, match="unterminated"):
        split_statements(sql)


# --- identifiers and context -------------------------------------------------------------


@pytest.mark.parametrize("name", ["raw", "_raw", "raw_2", "RAW"])
def test_valid_identifiers_pass(name: str) -> None:
    assert validate_identifier(name) == name


@pytest.mark.parametrize("name", ["", "2raw", "raw-db", "raw.events", "raw; DROP", "r'aw", "räw"])
def test_invalid_identifiers_raise(name: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        validate_identifier(name)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"raw_db": "raw db"},
        {"meta_db": "meta;"},
        {"marts_db": "marts.x"},
        {"cluster": "c1' --"},
        {"cluster": ""},
    ],
)
def test_schema_context_validates_identifiers(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid"):
        SchemaContext(**kwargs)


@pytest.mark.parametrize("kwargs", [{"ttl_days": 0}, {"ttl_days": -1}, {"quarantine_ttl_days": True}])
def test_schema_context_validates_ttls(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        SchemaContext(**kwargs)


def test_on_cluster_clause() -> None:
    assert SINGLE.on_cluster == ""
    assert CLUSTER.on_cluster == "ON CLUSTER 'c1'"


# --- the runner, against a fake client -----------------------------------------------------


class FakeClient:
    """Records commands; keeps schema_migrations rows in memory."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.commands: list[str] = []
        self.parameters: list[dict[str, Any] | None] = []
        self.recorded: list[tuple[int, str]] = []
        self.fail_on = fail_on

    def command(self, cmd: str, parameters: dict[str, Any] | None = None, /) -> None:
        if self.fail_on is not None and self.fail_on in cmd:
            raise RuntimeError("Code: 62. DB::Exception: Syntax error")
        self.commands.append(cmd)
        self.parameters.append(parameters)
        if cmd.startswith("INSERT INTO beaconhouse.schema_migrations"):
            assert parameters is not None
            self.recorded.append((parameters["version"], parameters["checksum"]))

    def query(self, query: str, parameters: dict[str, Any] | None = None, /) -> SimpleNamespace:
        assert "FROM beaconhouse.schema_migrations" in query
        latest = dict(self.recorded)
        return SimpleNamespace(result_rows=sorted(latest.items()))


def test_apply_creates_bookkeeping_then_applies_everything_in_order() -> None:
    client = FakeClient()
    report = apply_migrations(client, SINGLE)
    assert report.applied == MIGRATIONS
    assert report.skipped == []
    assert report.changed == []
    assert report.warnings == []
    bootstrap = render_bootstrap(SINGLE)
    assert client.commands[: len(bootstrap)] == bootstrap
    expected = list(bootstrap)
    for migration in MIGRATIONS:
        expected.extend(render_migration(migration, SINGLE))
        expected.append(client.commands[len(expected)])  # the bookkeeping insert
        assert expected[-1].startswith("INSERT INTO beaconhouse.schema_migrations")
    assert client.commands == expected
    assert [v for v, _ in client.recorded] == [m.version for m in MIGRATIONS]


def test_apply_binds_bookkeeping_values_as_parameters() -> None:
    client = FakeClient()
    apply_migrations(client, SINGLE)
    inserts = [
        (cmd, params)
        for cmd, params in zip(client.commands, client.parameters, strict=True)
        if cmd.startswith("INSERT")
    ]
    cmd, params = inserts[0]
    assert "{version:UInt32}" in cmd
    assert "{checksum:String}" in cmd
    assert params is not None
    assert params["checksum"] not in cmd
    assert params == {
        "version": 1,
        "name": "raw_events",
        "checksum": migration_checksum(render_migration(MIGRATIONS[0], SINGLE)),
        "statements": len(render_migration(MIGRATIONS[0], SINGLE)),
    }


def test_second_apply_is_a_no_op() -> None:
    client = FakeClient()
    apply_migrations(client, SINGLE)
    client.commands.clear()
    report = apply_migrations(client, SINGLE)
    assert report.applied == []
    assert report.skipped == MIGRATIONS
    assert client.commands == render_bootstrap(SINGLE)  # only the IF NOT EXISTS bootstrap


def test_changed_after_apply_is_reported_not_reapplied() -> None:
    client = FakeClient()
    apply_migrations(client, SINGLE)
    client.commands.clear()
    report = apply_migrations(client, SchemaContext(ttl_days=30))
    changed_versions = [c.migration.version for c in report.changed]
    assert 1 in changed_versions
    assert 2 not in changed_versions
    assert report.applied == []
    assert client.commands == render_bootstrap(SINGLE)
    assert any("V0001__raw_events changed after apply" in w for w in report.warnings)


def test_versions_without_files_are_reported(tmp_path: Path) -> None:
    client = FakeClient()
    apply_migrations(client, SINGLE)
    (tmp_path / "V0001__raw_events.sql").write_text(MIGRATIONS[0].path.read_text())
    report = apply_migrations(client, SINGLE, tmp_path)
    assert report.skipped == discover_migrations(tmp_path)
    assert report.unknown_versions == [m.version for m in MIGRATIONS[1:]]
    assert "V0002 is recorded as applied but has no migration file" in report.warnings


def test_failed_statement_stops_the_run_and_keeps_earlier_records() -> None:
    client = FakeClient(fail_on="raw.events_quarantine")
    with pytest.raises(MigrationError, match="V0002__raw_events_quarantine: statement 1 of 1") as info:
        apply_migrations(client, SINGLE)
    assert info.value.migration == MIGRATIONS[1]
    assert info.value.statement_number == 1
    assert info.value.report.applied == [MIGRATIONS[0]]
    assert [v for v, _ in client.recorded] == [1]


def test_template_errors_fail_before_touching_the_warehouse(tmp_path: Path) -> None:
    (tmp_path / "V0001__ok.sql").write_text("CREATE DATABASE IF NOT EXISTS {{ raw_db }};\n")
    (tmp_path / "V0002__broken.sql").write_text("CREATE DATABASE IF NOT EXISTS {{ nope }};\n")
    client = FakeClient()
    with pytest.raises(jinja2.UndefinedError):
        apply_migrations(client, SINGLE, tmp_path)
    assert client.commands == []
