"""The whole graph through Dagster: files → raw/events → marts, equal to the generator's truth,
and a backfill run twice changes nothing."""

import csv
import datetime as dt
import os
import subprocess
import sys
import tomllib
import uuid
from decimal import Decimal

import dagster as dg
import pytest

from beaconhouse.config import Settings
from beaconhouse.generate.cli import GenerateOptions
from beaconhouse.generate.cli import run as generate
from beaconhouse.ingest.sources import list_files
from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations
from orchestration.runner import Runner

pytestmark = pytest.mark.server
START, DAYS = dt.date(2026, 3, 2), 2


def _truth(truth_dir):
    with (truth_dir / "marts_daily.csv").open() as handle:
        return {
            (int(r["website_id"]), r["date"]): (
                int(r["pageviews"]), int(r["visitors"]), int(r["sessions"]), int(r["bounces"]),
                int(r["conversions"]), Decimal(r["revenue"]),
            )
            for r in csv.DictReader(handle)
        }  # fmt: skip


def test_partitions_materialise_end_to_end_and_a_backfill_twice_changes_nothing(warehouse, tmp_path):
    landing = tmp_path / "landing"
    report = generate(
        Settings(), GenerateOptions(to=str(landing), sites=3, days=DAYS, start=START, visitors=120, seed=5)
    )
    suffix = uuid.uuid4().hex[:8]
    raw, meta, marts = f"raw_{suffix}", f"meta_{suffix}", f"marts_{suffix}"
    apply_migrations(warehouse.client(), SchemaContext(raw_db=raw, meta_db=meta, marts_db=marts))
    sites = (report.truth_dir / "sites.toml").read_text()
    config = tmp_path / "beaconhouse.toml"
    config.write_text(
        f'[warehouse]\nurl = "{warehouse.url}"\nraw_database = "{raw}"\nmeta_database = "{meta}"\n'
        f'marts_database = "{marts}"\n[landing]\nurl = "{landing}"\n\n' + sites
    )
    assert tomllib.loads(config.read_text())["sites"]
    delivery_days = sorted({f.day for f in list_files(str(landing), Settings().s3)})
    local_days = (START, START + dt.timedelta(days=DAYS - 1))
    runner = Runner(config, tmp_path / "work", dg.DagsterInstance.ephemeral(), say=lambda _line: None)

    checks: dict[str, int] = {}

    def pipeline() -> None:
        for job, window in (
            ("publish_sites_and_views", None),
            ("load_landing_files", (delivery_days[0], delivery_days[-1])),
            ("build_daily_marts", local_days),
        ):
            stage = runner.run(job, window)
            assert stage.success, (job, stage.failed_checks)
            checks[job] = stage.checks

    def site_daily() -> dict:
        rows = (
            warehouse.client()
            .query(
                "SELECT website_id, toString(local_date), pageviews, visitors, sessions, bounces, "
                f"conversions, revenue FROM {marts}.site_daily ORDER BY ALL"
            )
            .result_rows
        )
        return {(site, day): tuple(rest) for site, day, *rest in rows}

    def raw_count() -> int:
        return int(warehouse.client().query(f"SELECT count() FROM {raw}.events").result_rows[0][0])

    pipeline()
    # the GX suites ran: raw/events' with the files, the marts' and dbt's tests with the marts
    assert checks["load_landing_files"] == 1
    assert checks["build_daily_marts"] > 20
    truth = _truth(report.truth_dir)
    assert site_daily() == truth
    assert sum(t[2] for t in truth.values()) > 100  # sessions: not an empty comparison
    # dbt received the backfill's window (in the environment): its build log says so
    built = f"SELECT DISTINCT min_date, max_date FROM {marts}.transform_day_builds"
    assert warehouse.client().query(built).result_rows == [local_days]
    before = raw_count()

    # The same days again, as `beaconhouse backfill` runs them: nothing new is loaded,
    # the marts are rebuilt identical; twice.
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "beaconhouse", "--config", str(config), "backfill",
             "--from", local_days[0].isoformat(), "--to", local_days[1].isoformat()],
            cwd=tmp_path, env={**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")},
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert "build_daily_marts" in result.stdout
        assert raw_count() == before
        assert site_daily() == truth
    # the runs are in the instance the UI reads
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        assert len(instance.get_runs()) == 6
