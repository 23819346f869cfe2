"""Druid ingestion against the loopback stand-in (tests/druid_standin.py), with real
marts (embedded warehouse) and a real S3 endpoint (moto).

What this proves: the export ClickHouse writes is the Parquet the spec describes; the
spec passes the documented rules; submission, polling, retries, failure and timeout
behave; the totals check agrees when Druid holds the marts' numbers and fails when it
does not. What it does not prove (a real Druid accepting the spec, sketch accuracy,
segment handoff): docs/druid.md.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow.parquet as pq
import pytest

from beaconhouse.config import Settings
from beaconhouse.druid.export import export_day
from beaconhouse.druid.ingest import ingest_day
from beaconhouse.druid.overlord import DruidError, DruidTaskFailedError, DruidTaskTimeoutError, OverlordClient
from beaconhouse.druid.spec import ingestion_spec
from beaconhouse.druid.totals import check_day, marts_totals
from beaconhouse.transform import dbt_command, run_dbt
from tests.druid_standin import DruidStandIn
from tests.generated_marts import generate_traffic, isolated_settings, load_traffic
from tests.s3_server import MotoS3

pytestmark = pytest.mark.server
START, DAYS = dt.date(2026, 3, 2), 2
BUCKET = "druid-exports"
FAST = {"poll_interval_seconds": 0.01, "retry_backoff_seconds": 0.01}


class Marts:
    def __init__(self, warehouse, settings: Settings, tmp, s3: MotoS3) -> None:
        self.warehouse = warehouse
        self.settings = settings
        self.tmp = tmp
        self.s3 = s3

    def with_druid(self, url: str, **druid) -> Settings:
        """The settings, with Druid at ``url`` and the export in S3."""
        return self.settings.model_copy(
            update={
                "druid": self.settings.druid.model_copy(
                    update={"overlord_url": url, "broker_url": url, **FAST, **druid}
                )
            }
        )


@pytest.fixture(scope="module")
def marts(warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("druid")
    traffic = generate_traffic(tmp, sites=2, days=DAYS, start=START, visitors=80, seed=3)
    with MotoS3() as s3:
        s3.client().create_bucket(Bucket=BUCKET)
        settings = isolated_settings(
            warehouse, traffic.sites, s3=s3.settings.model_dump(), archive={"url": f"s3://{BUCKET}/archive"}
        )
        load_traffic(warehouse, settings, traffic, tmp)
        args = dbt_command(
            "run",
            select=["+page_views_daily", "+fct_sessions"],
            variables={"late_data_lookback_days": 3650},
            extra=["--target-path", str(tmp / "target")],
        )
        result = run_dbt(settings, args, capture=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:]
        yield Marts(warehouse, settings, tmp, s3)


def test_a_day_is_exported_to_parquet_in_s3_by_clickhouse(marts):
    export = export_day(marts.settings, START)
    assert (
        export.location
        == f"s3://{BUCKET}/archive/druid/beaconhouse_page_views/day=2026-03-02/page_views.parquet"
    )
    key = export.location.removeprefix(f"s3://{BUCKET}/")
    body = marts.s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    import io

    table = pq.read_table(io.BytesIO(body))
    assert table.num_rows == export.rows > 0
    spec = ingestion_spec(marts.settings.druid, START, export.location)["spec"]["dataSchema"]
    named = {spec["timestampSpec"]["column"]} | {d["name"] for d in spec["dimensionsSpec"]["dimensions"]}
    named |= {m["fieldName"] for m in spec["metricsSpec"] if "fieldName" in m}
    assert named <= set(table.column_names)
    # every page view of the day is in it, once
    totals = marts_totals(marts.settings, START)
    assert sum(table.column("pageviews").to_pylist()) == sum(t["pageviews"] for t in totals.values())
    # hour buckets of the site-local day, in ms
    times = set(table.column("time_local_ms").to_pylist())
    start_ms = int(dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp() * 1000)
    assert all(start_ms <= t < start_ms + 86_400_000 and t % 3_600_000 == 0 for t in times)


def test_ingest_both_days_and_druid_agrees_with_the_marts(marts):
    with DruidStandIn(marts.s3.settings) as druid:
        settings = marts.with_druid(druid.url)
        polls = []
        for offset in range(DAYS):
            day = START + dt.timedelta(days=offset)
            done = ingest_day(settings, day, on_poll=lambda status: polls.append(status.status_code))
            assert done.status.status_code == "SUCCESS"
            assert done.task_id.startswith("index_parallel_beaconhouse_page_views_")
            assert done.export.rows > 0
        assert polls.count("RUNNING") == 2 * DAYS  # the stand-in runs each task for 2 polls
        assert druid.state.rejected == []
        for offset in range(DAYS):
            comparison = check_day(settings, START + dt.timedelta(days=offset))
            assert comparison.passed, comparison.summary()
            assert len(comparison.druid) == 2
            assert all(site["pageviews"] > 0 and site["visitors"] > 0 for site in comparison.druid.values())


def test_a_rerun_replaces_the_day_and_the_check_fails_when_druid_is_stale(marts):
    client = marts.warehouse.client()
    table = f"{marts.settings.warehouse.marts_database}.page_views_daily"
    with DruidStandIn(marts.s3.settings) as druid:
        settings = marts.with_druid(druid.url, query_granularity="minute")
        ingest_day(settings, START)
        ingest_day(settings, START)  # twice: replaced, not doubled
        assert check_day(settings, START).passed
        # The marts change (a rebuilt day); Druid still holds the old numbers.
        site = client.query(f"SELECT min(website_id) FROM {table} WHERE local_date = '{START}'").result_rows[
            0
        ][0]
        backup = f"{table}_backup_{uuid.uuid4().hex[:6]}"
        client.command(f"CREATE TABLE {backup} AS {table}")
        client.command(f"INSERT INTO {backup} SELECT * FROM {table}")
        try:
            client.command(f"ALTER TABLE {table} DELETE WHERE local_date = '{START}' AND website_id = {site} "
                           "SETTINGS mutations_sync = 2")  # fmt: skip
            stale = check_day(settings, START)
            assert not stale.passed
            assert {d.measure for d in stale.differences if d.website_id == site} >= {"pageviews", "visitors"}
            assert "differences" in stale.summary()
        finally:
            client.command(f"TRUNCATE TABLE {table}")
            client.command(f"INSERT INTO {table} SELECT * FROM {backup}")
            client.command(f"DROP TABLE {backup}")
        assert check_day(settings, START).passed


def test_a_failing_task_a_refused_spec_retries_and_a_timeout(marts):
    export = export_day(marts.settings, START)
    task = ingestion_spec(marts.settings.druid, START, export.location)
    with DruidStandIn(marts.s3.settings, running_polls=1) as druid:
        settings = marts.with_druid(druid.url).druid
        overlord = OverlordClient(settings, sleep=lambda _s: None)

        # failure on demand: FAILED with the Overlord's errorMsg
        druid.state.fail_next_task = "java.lang.OutOfMemoryError: Java heap space"
        task_id = overlord.submit(task)
        with pytest.raises(DruidTaskFailedError, match="OutOfMemoryError"):
            overlord.wait(task_id)

        # a spec that names a column the file lacks: the task fails at ingestion
        broken = ingestion_spec(settings, START, export.location)
        broken["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"].append("referrer_host")
        with pytest.raises(DruidTaskFailedError, match=r"no column.*referrer_host"):
            overlord.wait(overlord.submit(broken))

        # an invalid spec: refused at once, no retry
        invalid = ingestion_spec(settings, START, export.location)
        invalid["spec"]["dataSchema"]["granularitySpec"]["queryGranularity"] = "YEAR"
        with pytest.raises(DruidError, match=r"HTTP 400.*finer than segmentGranularity"):
            overlord.submit(invalid)

        # 503 twice, then accepted: retried
        druid.state.unavailable_next = 2
        before = overlord.http.retried
        assert overlord.wait(overlord.submit(task)).status_code == "SUCCESS"
        assert overlord.http.retried - before == 2

        # more 503s than attempts: one clear error
        druid.state.unavailable_next = 10
        with pytest.raises(DruidError, match=r"HTTP 503.*after 3 attempts"):
            overlord.submit(task)
        druid.state.unavailable_next = 0

        # unknown task: 404 is not retried
        with pytest.raises(DruidError, match="HTTP 404"):
            overlord.status("no-such-task")

    # a task that outlives the timeout
    with DruidStandIn(marts.s3.settings, running_polls=1000) as druid:
        slow = marts.with_druid(druid.url, task_timeout_seconds=0.05).druid
        overlord = OverlordClient(slow)
        with pytest.raises(DruidTaskTimeoutError, match="still RUNNING"):
            overlord.wait(overlord.submit(task))

    # nobody listening: the connection error is retried, then reported
    gone = marts.with_druid(druid.url).druid
    with pytest.raises(DruidError, match=r"unreachable.*after 3 attempts"):
        OverlordClient(gone, sleep=lambda _s: None).submit(task)


def _config(marts: Marts, druid_url: str) -> str:
    wh, s3 = marts.settings.warehouse, marts.s3
    return (
        f'[warehouse]\nurl = "{wh.url}"\nraw_database = "{wh.raw_database}"\n'
        f'meta_database = "{wh.meta_database}"\nmarts_database = "{wh.marts_database}"\n'
        f'[s3]\nendpoint_url = "{s3.endpoint}"\naccess_key_id = "{s3.settings.access_key_id}"\n'
        f'secret_access_key = "{s3.settings.secret_access_key}"\n'
        f'[archive]\nurl = "s3://{BUCKET}/archive"\n'
        f'[druid]\noverlord_url = "{druid_url}"\nbroker_url = "{druid_url}"\n'
        "poll_interval_seconds = 0.01\nretry_backoff_seconds = 0.01\n"
    )


def test_dagster_materialises_the_partition_with_its_task_as_metadata_and_checks_it(marts, tmp_path):
    import dagster as dg

    from orchestration.defs.druid.assets import druid_page_views, druid_totals_match_marts
    from orchestration.defs.resources import BeaconhouseResource

    config = tmp_path / "beaconhouse.toml"
    partition = (START + dt.timedelta(days=1)).isoformat()
    with DruidStandIn(marts.s3.settings) as druid:
        config.write_text(_config(marts, druid.url))
        resources = {"beaconhouse": BeaconhouseResource(config_path=str(config))}
        result = dg.materialize(
            [druid_page_views, druid_totals_match_marts], partition_key=partition, resources=resources
        )
        assert result.success
        (materialization,) = result.asset_materializations_for_node("druid__page_views")
        meta = materialization.metadata
        assert meta["status"].value == "SUCCESS"
        assert meta["task_id"].value.startswith("index_parallel_")
        assert meta["rows_exported"].value > 0
        assert meta["export"].value.endswith(f"day={partition}/page_views.parquet")
        (check,) = result.get_asset_check_evaluations()
        assert check.passed, check.description
        assert check.metadata["druid_pageviews"].value == check.metadata["marts_pageviews"].value > 0

        # a failing task fails the run, with Druid's message
        druid.state.fail_next_task = "Segment allocation failed"
        failed = dg.materialize(
            [druid_page_views], partition_key=partition, resources=resources, raise_on_error=False
        )
        assert not failed.success
        failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
        assert "Segment allocation failed" in str(failure.event_specific_data.error)


def test_the_cli_ingests_a_range_and_checks_it(marts, tmp_path):
    import subprocess
    import sys

    config = tmp_path / "beaconhouse.toml"

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "beaconhouse", "--config", str(config), "druid", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    days = ("--from", START.isoformat(), "--to", (START + dt.timedelta(days=1)).isoformat())
    with DruidStandIn(marts.s3.settings) as druid:
        config.write_text(_config(marts, druid.url))
        # nothing ingested yet: Druid has no rows, the check says so and fails
        empty = cli("check", *days)
        assert empty.returncode == 1, empty.stderr
        assert empty.stdout.count("DIFF") == 2
        ingested = cli("ingest", *days)
        assert ingested.returncode == 0, ingested.stderr
        assert ingested.stdout.count("SUCCESS") == 2
        assert len(druid.state.submitted) == 2
        checked = cli("check", *days)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.count("OK") == 2


def test_a_day_without_traffic_ingests_nothing_and_checks_clean(marts):
    quiet = START + dt.timedelta(days=20)
    with DruidStandIn(marts.s3.settings) as druid:
        settings = marts.with_druid(druid.url)
        done = ingest_day(settings, quiet)
        assert done.export.rows == 0
        assert done.status.status_code == "SUCCESS"
        comparison = check_day(settings, quiet)
        assert comparison.passed, comparison.summary()
        assert comparison.marts == comparison.druid == {}


def test_a_local_folder_export_is_ingested_through_a_local_input_source(marts, tmp_path):
    with DruidStandIn(marts.s3.settings) as druid:
        settings = marts.with_druid(druid.url, query_granularity="day").model_copy(
            update={"archive": marts.settings.archive.model_copy(update={"url": str(tmp_path / "archive")})}
        )
        done = ingest_day(settings, START)
        assert done.export.location.startswith(str(tmp_path / "archive" / "druid"))
        assert pq.read_table(done.export.location).num_rows == done.export.rows > 0
        assert druid.state.submitted[-1]["spec"]["ioConfig"]["inputSource"]["type"] == "local"
        # day granularity: one Druid row per site and dimension combination, all at midnight
        rows = druid.state.rows["beaconhouse_page_views"]
        assert {row["__time"] for row in rows} == {
            int(dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp() * 1000)
        }
        assert check_day(settings, START).passed
