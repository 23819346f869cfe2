"""Checks of raw.events, per daily partition: Great Expectations, blocking.

A partition of ``raw/events`` is the files delivered on one UTC day, so its rows are
those the collector received that day (``server_ts``). The suite checks the columns
and types downstream models rely on, required values, the event types, that client
times lie in the window the loader allows, and that no event_id appears twice.
A failure blocks the marts built from the partition.
"""

import datetime as dt
from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext

from beaconhouse.config import Settings
from orchestration.defs.ingestion import RAW_EVENTS
from orchestration.defs.partitions import daily, days_of
from orchestration.defs.quality.expectations import validate
from orchestration.defs.resources import BeaconhouseResource

#: the columns dbt's staging reads, with the types it expects
CONTRACT_COLUMNS = {
    "event_id": "UUID",
    "website_id": "UInt32",
    "visitor_id": "String",
    "session_id": "String",
    "event_type": "LowCardinality(String)",
    "client_ts": "DateTime64(3, 'UTC')",
    "server_ts": "DateTime64(3, 'UTC')",
    "page_url": "String",
    "referrer_host": "LowCardinality(String)",
    "utm_source": "LowCardinality(String)",
    "traffic_source": "LowCardinality(String)",
    "device_type": "LowCardinality(String)",
    "country_code": "LowCardinality(String)",
    "revenue": "Nullable(Decimal(18, 4))",
    "is_bot": "Bool",
    "ingest_batch_id": "LowCardinality(String)",
}
EVENT_TYPES = ["pageview", "event", "transaction", "transaction_item", "asset", "request"]
REQUIRED = ["event_id", "website_id", "visitor_id", "event_type", "client_ts", "server_ts"]


def _partition_rows(settings: Settings, days: list[dt.date]) -> Any:
    from beaconhouse.warehouse.client import connect

    client = connect(settings.warehouse)
    raw = settings.warehouse.raw_database
    frame = client.query_df(
        "SELECT toString(event_id) AS event_id, website_id, visitor_id, event_type, client_ts, server_ts, "
        "toUnixTimestamp64Milli(client_ts) AS client_ms "
        f"FROM `{raw}`.events WHERE toDate(server_ts) IN {{days:Array(Date)}}",
        parameters={"days": days},
    )
    schema = dict(
        client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'events'",
            parameters={"db": raw},
        ).result_rows
    )
    return frame, schema


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dg.asset_check(
    asset=RAW_EVENTS,
    name="raw_events_expectations",
    blocking=True,
    partitions_def=daily,
    description="Great Expectations suite over the partition's rows: columns and types, required "
    "values, event types, client times in the allowed window, unique event ids.",
)
def raw_events_expectations(
    context: AssetCheckExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.AssetCheckResult:
    settings = beaconhouse.settings()
    days = days_of(context.partition_time_window)
    frame, schema = _partition_rows(settings, days)
    wrong_types = {
        name: {"expected": expected, "actual": schema.get(name, "missing")}
        for name, expected in CONTRACT_COLUMNS.items()
        if schema.get(name) != expected
    }
    rules = settings.ingest
    earliest = dt.datetime.combine(days[0], dt.time(), dt.UTC) - dt.timedelta(days=rules.max_event_age_days)
    latest = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), dt.UTC) + dt.timedelta(
        hours=rules.max_future_skew_hours
    )

    def suite(gxe: Any) -> list[Any]:
        return [
            *(gxe.ExpectColumnValuesToNotBeNull(column=name) for name in REQUIRED),
            gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=EVENT_TYPES),
            # as epoch milliseconds: GX compares them without time-zone ambiguity
            gxe.ExpectColumnValuesToBeBetween(
                column="client_ms", min_value=_ms(earliest), max_value=_ms(latest)
            ),
            gxe.ExpectColumnValuesToBeUnique(column="event_id"),
        ]

    outcome = validate(frame, "raw_events", suite, f"raw_events {days[0]}..{days[-1]}", beaconhouse.gx_path())
    passed = outcome.success and not wrong_types
    summary = f"{len(outcome.failures())} expectations failed, {len(wrong_types)} columns differ"
    return dg.AssetCheckResult(
        passed=passed,
        metadata={**outcome.metadata(), "columns_differing": dg.MetadataValue.json(wrong_types)},
        description=None if passed else summary,
    )
