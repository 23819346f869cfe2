"""Checks of the marts, per daily partition (site-local days): Great Expectations, blocking.

On ``marts/fct_sessions``: a session lasts zero seconds or more and is a bounce
exactly when it has one pageview (blocking). That every session has a pageview is
checked too, with warning severity and without blocking: by the session rules any
event starts a session, so a custom event half an hour after the last pageview is a
session without one (10 of 54k sessions in the demo data). On
``marts/traffic_sources_daily``: its sessions add up, per site and day, to the
sessions of ``fct_sessions``.
"""

import datetime as dt
from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext

from beaconhouse.config import Settings
from orchestration.defs.partitions import daily
from orchestration.defs.quality.expectations import validate
from orchestration.defs.resources import BeaconhouseResource

FCT_SESSIONS = dg.AssetKey(["marts", "fct_sessions"])
TRAFFIC_SOURCES = dg.AssetKey(["marts", "traffic_sources_daily"])


def _last_day(context: AssetCheckExecutionContext) -> tuple[dt.date, dt.date]:
    window = context.partition_time_window
    return window.start.date(), window.end.date() - dt.timedelta(days=1)


def _query(settings: Settings, sql: str, first: dt.date, last: dt.date) -> Any:
    from beaconhouse.warehouse.client import connect

    marts = f"`{settings.warehouse.marts_database}`"
    return connect(settings.warehouse).query_df(
        sql.replace("{marts}", marts), parameters={"first": first, "last": last}
    )


def _result(
    outcome: Any, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    failed = outcome.failures()
    return dg.AssetCheckResult(
        passed=outcome.success,
        metadata=outcome.metadata(),
        description=None if outcome.success else f"{len(failed)} expectations failed",
        severity=severity,
    )


@dg.asset_check(
    asset=FCT_SESSIONS,
    name="sessions_expectations",
    blocking=True,
    partitions_def=daily,
    description="Session ids are set, durations are not negative, a bounce is exactly one pageview.",
)
def sessions_expectations(
    context: AssetCheckExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.AssetCheckResult:
    settings = beaconhouse.settings()
    first, last = _last_day(context)
    frame = _query(
        settings,
        "SELECT session_id, duration_ms, pageviews, is_bounce, pageviews = 1 AS one_pageview "
        "FROM {marts}.fct_sessions WHERE local_date BETWEEN {first:Date} AND {last:Date}",
        first,
        last,
    )

    def suite(gxe: Any) -> list[Any]:
        return [
            gxe.ExpectColumnValuesToNotBeNull(column="session_id"),
            gxe.ExpectColumnValuesToBeBetween(column="duration_ms", min_value=0),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="is_bounce", column_B="one_pageview"),
        ]

    return _result(
        validate(frame, "fct_sessions", suite, f"fct_sessions {first}..{last}", beaconhouse.gx_path())
    )


@dg.asset_check(
    asset=FCT_SESSIONS,
    name="sessions_have_pageviews",
    partitions_def=daily,
    description="Every session has at least one pageview (a warning: event-only sessions are valid).",
)
def sessions_have_pageviews(
    context: AssetCheckExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.AssetCheckResult:
    settings = beaconhouse.settings()
    first, last = _last_day(context)
    frame = _query(
        settings,
        "SELECT session_id, pageviews FROM {marts}.fct_sessions "
        "WHERE local_date BETWEEN {first:Date} AND {last:Date}",
        first,
        last,
    )

    def suite(gxe: Any) -> list[Any]:
        return [gxe.ExpectColumnValuesToBeBetween(column="pageviews", min_value=1)]

    # (a run name that is only dates makes GX read it as a time, and fail)
    outcome = validate(
        frame, "fct_sessions_pageviews", suite, f"pageviews {first}..{last}", beaconhouse.gx_path()
    )
    return _result(outcome, dg.AssetCheckSeverity.WARN)


@dg.asset_check(
    asset=TRAFFIC_SOURCES,
    name="traffic_sources_agree_with_sessions",
    blocking=True,
    partitions_def=daily,
    additional_deps=[FCT_SESSIONS],
    description="Per site and day, the sessions of traffic_sources_daily add up to fct_sessions'.",
)
def traffic_sources_agree_with_sessions(
    context: AssetCheckExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.AssetCheckResult:
    settings = beaconhouse.settings()
    first, last = _last_day(context)
    frame = _query(
        settings,
        "SELECT website_id, local_date, "
        "ifNull(t.sessions, 0) AS by_source, ifNull(s.sessions, 0) AS by_session "
        "FROM (SELECT website_id, local_date, sum(sessions) AS sessions FROM {marts}.traffic_sources_daily "
        "      WHERE local_date BETWEEN {first:Date} AND {last:Date} GROUP BY ALL) AS t "
        "FULL OUTER JOIN (SELECT website_id, local_date, count() AS sessions FROM {marts}.fct_sessions "
        "      WHERE local_date BETWEEN {first:Date} AND {last:Date} GROUP BY ALL) AS s "
        "USING (website_id, local_date) SETTINGS join_use_nulls = 1",
        first,
        last,
    )

    def suite(gxe: Any) -> list[Any]:
        return [gxe.ExpectColumnPairValuesToBeEqual(column_A="by_source", column_B="by_session")]

    outcome = validate(
        frame, "traffic_sources_daily", suite, f"traffic {first}..{last}", beaconhouse.gx_path()
    )
    return _result(outcome)
