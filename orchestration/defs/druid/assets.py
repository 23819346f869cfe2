"""Druid ingestion as a daily-partitioned asset, and its check against the marts.

``druid/page_views``: for each site-local day of the partition window, export the
page-view rollup to Parquet, submit the ``index_parallel`` task to the Overlord and
poll it to its end. The task id, status, duration, exported rows and file are the
materialisation's metadata; a failed, refused or timed-out task fails the run with
Druid's message. ``druid_totals_match_marts`` asks the Broker (pydruid timeseries and
topN) for the day's totals and compares them with ``marts/page_views_daily``.
"""

import datetime as dt

import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from beaconhouse.druid.export import ExportError
from beaconhouse.druid.ingest import DayIngestion, ingest_day
from beaconhouse.druid.overlord import DruidError, TaskStatus
from beaconhouse.druid.totals import Comparison, check_day
from orchestration.defs.partitions import daily, days_of
from orchestration.defs.resources import BeaconhouseResource

DRUID_PAGE_VIEWS = dg.AssetKey(["druid", "page_views"])
FCT_PAGE_VIEWS = dg.AssetKey(["marts", "fct_page_views"])
FCT_SESSIONS = dg.AssetKey(["marts", "fct_sessions"])
PAGE_VIEWS_DAILY = dg.AssetKey(["marts", "page_views_daily"])


def _metadata(done: list[DayIngestion]) -> dict[str, dg.MetadataValue]:
    last = done[-1]
    return {
        "task_id": dg.MetadataValue.text(
            last.task_id if len(done) == 1 else ", ".join(d.task_id for d in done)
        ),
        "status": dg.MetadataValue.text(last.status.status_code),
        "duration_seconds": dg.MetadataValue.float(round(sum(d.seconds for d in done), 3)),
        "druid_duration_ms": dg.MetadataValue.int(sum(max(d.status.duration_ms, 0) for d in done)),
        "rows_exported": dg.MetadataValue.int(sum(d.export.rows for d in done)),
        "export": dg.MetadataValue.path(last.export.location),
        "retried_requests": dg.MetadataValue.int(sum(d.retried_requests for d in done)),
        "days": dg.MetadataValue.int(len(done)),
    }


@dg.asset(
    key=DRUID_PAGE_VIEWS,
    deps=[FCT_PAGE_VIEWS, FCT_SESSIONS],
    partitions_def=daily,
    group_name="druid",
    kinds={"druid", "parquet"},
    op_tags={"beaconhouse/warehouse": "write"},
    description="Page views rolled up by site-local minute or hour, ingested into Druid a day at a time "
    "(a rerun replaces the day).",
)
def druid_page_views(
    context: AssetExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.MaterializeResult[None]:
    settings = beaconhouse.settings()
    done: list[DayIngestion] = []

    def log_poll(status: TaskStatus) -> None:
        context.log.info(f"task {status.task_id}: {status.status_code}")

    for day in days_of(context.partition_time_window):
        try:
            ingestion = ingest_day(settings, day, on_poll=log_poll)
        except (ExportError, DruidError) as exc:
            raise dg.Failure(
                description=f"{day}: {exc}",
                metadata={
                    "day": dg.MetadataValue.text(day.isoformat()),
                    "status": dg.MetadataValue.text("FAILED"),
                },
            ) from None
        context.log.info(
            f"{day}: {ingestion.export.rows} rows from {ingestion.export.location}, "
            f"task {ingestion.task_id} {ingestion.status.status_code} in {ingestion.seconds:.1f} s"
        )
        done.append(ingestion)
    return dg.MaterializeResult(metadata=_metadata(done))


def _check_result(comparisons: list[Comparison]) -> dg.AssetCheckResult:
    failed = [c for c in comparisons if not c.passed]
    return dg.AssetCheckResult(
        passed=not failed,
        description="; ".join(c.summary() for c in (failed or comparisons)),
        metadata={
            "days": dg.MetadataValue.int(len(comparisons)),
            "differences": dg.MetadataValue.int(sum(len(c.differences) for c in comparisons)),
            "druid_pageviews": dg.MetadataValue.float(
                sum(site["pageviews"] for c in comparisons for site in c.druid.values())
            ),
            "marts_pageviews": dg.MetadataValue.float(
                sum(site["pageviews"] for c in comparisons for site in c.marts.values())
            ),
        },
    )


@dg.asset_check(
    asset=DRUID_PAGE_VIEWS,
    name="druid_totals_match_marts",
    partitions_def=daily,
    additional_deps=[PAGE_VIEWS_DAILY],
    description="Per site and day, Druid's page views, bounces and time on page equal the marts'; "
    "its visitors and sessions (theta sketches) are within druid.distinct_tolerance.",
)
def druid_totals_match_marts(
    context: AssetCheckExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.AssetCheckResult:
    settings = beaconhouse.settings()
    comparisons: list[Comparison] = []
    days: list[dt.date] = days_of(context.partition_time_window)
    for day in days:
        try:
            comparisons.append(check_day(settings, day))
        except DruidError as exc:
            return dg.AssetCheckResult(passed=False, description=f"{day}: {exc}")
    return _check_result(comparisons)


druid_job = dg.define_asset_job(
    "ingest_druid",
    selection=dg.AssetSelection.assets(DRUID_PAGE_VIEWS),
    tags={"beaconhouse/warehouse": "write"},
    description="Export a site-local day (or a range) of page views and ingest it into Druid, then check it.",
)
