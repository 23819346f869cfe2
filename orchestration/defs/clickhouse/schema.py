"""``warehouse/schema``: the migrations under ``sql/migrations`` applied to the warehouse.

Everything that writes to the warehouse reads tables this asset creates, so the setup
job runs it first. Applying is idempotent: a run with nothing pending changes nothing
and says so in its metadata.
"""

from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from beaconhouse.commands import schema_context
from beaconhouse.warehouse.client import connect
from beaconhouse.warehouse.migrations import apply_migrations
from orchestration.defs.resources import BeaconhouseResource

SCHEMA = dg.AssetKey(["warehouse", "schema"])

#: active parts in one partition of raw.events above which the check fails. ClickHouse
#: slows inserts down at 1000 active parts per partition by default
#: (``parts_to_delay_insert``) and rejects them at 3000; failing well before that
#: leaves time to look at the loaders' batch sizes.
MAX_PARTS_PER_PARTITION = 300


@dg.asset(
    key=SCHEMA,
    group_name="configuration",
    kinds={"clickhouse"},
    description="The raw, meta and marts databases and tables, from the migrations in sql/migrations.",
    op_tags={"beaconhouse/warehouse": "write"},
)
def warehouse_schema(
    context: AssetExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.MaterializeResult[None]:
    settings = beaconhouse.settings()
    report = apply_migrations(connect(settings.warehouse), schema_context(settings))
    for warning in report.warnings:
        context.log.warning(warning)
    versions = [m.version for m in report.applied + report.skipped]
    return dg.MaterializeResult(
        metadata={
            "applied_now": [m.label for m in report.applied],
            "schema_version": max(versions, default=0),
            "changed_after_apply": [c.migration.label for c in report.changed],
            "unknown_versions": report.unknown_versions,
        }
    )


def too_many_parts(rows: list[tuple[Any, ...]], limit: int = MAX_PARTS_PER_PARTITION) -> list[str]:
    """The partitions (of ``(partition, active parts)`` rows) over ``limit``, described."""
    return [f"{partition}: {parts} active parts" for partition, parts in rows if parts > limit]


@dg.asset_check(
    asset=SCHEMA,
    name="raw_parts_under_limit",
    description=(
        f"No partition of raw.events holds more than {MAX_PARTS_PER_PARTITION} active parts: "
        "too many small inserts, which ClickHouse would soon throttle."
    ),
)
def raw_parts_under_limit(
    context: AssetCheckExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.AssetCheckResult:
    settings = beaconhouse.settings()
    result = connect(settings.warehouse).query(
        "SELECT partition, count() FROM system.parts "
        "WHERE database = {db:String} AND table = 'events' AND active "
        "GROUP BY partition ORDER BY count() DESC",
        {"db": settings.warehouse.raw_database},
    )
    rows = [tuple(row) for row in result.result_rows]
    over = too_many_parts(rows)
    return dg.AssetCheckResult(
        passed=not over,
        metadata={
            "partitions": len(rows),
            "most_parts": rows[0][1] if rows else 0,
            "over_limit": over[:20],
        },
    )
