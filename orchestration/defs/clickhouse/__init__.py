"""ClickHouse itself: the versioned schema as an asset, and a check of the raw table's
part counts (the first thing to go wrong in a ClickHouse fed by many small inserts)."""

import dagster as dg

from orchestration.defs.clickhouse.schema import raw_parts_under_limit, warehouse_schema

defs = dg.Definitions(assets=[warehouse_schema], asset_checks=[raw_parts_under_limit])
