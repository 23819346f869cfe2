"""The shipped instance configurations load, and PostgreSQL storage records runs."""

import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest

REPO = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}


def _psql(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@pytest.mark.unit
def test_default_instance_is_sqlite_with_a_run_queue(tmp_path):
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        assert coordinator.get_run_queue_config().max_concurrent_runs == 4
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": "beaconhouse/warehouse", "limit": 2} in limits
        assert "Sqlite" in type(instance.run_storage).__name__


@pytest.mark.server
def test_postgres_instance_records_runs_and_events(tmp_path, monkeypatch):
    database = f"dagster_{uuid.uuid4().hex[:10]}"
    try:
        _psql(f"CREATE DATABASE {database}")
    except Exception as exc:  # the machine kind runs PostgreSQL; say so plainly if not
        pytest.fail(f"PostgreSQL on {PG['host']}:{PG['port']} is not reachable: {exc}")
    try:
        for key, value in {
            "DAGSTER_PG_HOST": PG["host"],
            "DAGSTER_PG_PORT": PG["port"],
            "DAGSTER_PG_USER": PG["user"],
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": database,
        }.items():
            monkeypatch.setenv(key, value)
        shutil.copy(REPO / "dagster.postgres.yaml", tmp_path / "dagster.yaml")

        @dg.asset
        def probe() -> int:
            return 1

        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            assert "Postgres" in type(instance.run_storage).__name__
            result = dg.materialize([probe], instance=instance)
            assert result.success
            runs = instance.get_runs()
            assert [run.run_id for run in runs] == [result.run_id]
            assert instance.get_latest_materialization_event(dg.AssetKey("probe")) is not None
    finally:
        _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
