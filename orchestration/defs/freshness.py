"""Freshness: yesterday's landing files and marts should be materialized by 06:00 UTC.

They are checks, not steps of a job: a sensor evaluates them, and a stale partition
shows in the UI (warning severity) without failing the runs that build it.
"""

import dagster as dg

from orchestration.defs.dbt.assets import daily_models
from orchestration.defs.ingestion.assets import landing_files

freshness_checks = dg.build_time_partition_freshness_checks(
    assets=[landing_files, daily_models], deadline_cron="0 6 * * *", timezone="UTC"
)
freshness_sensor = dg.build_sensor_for_freshness_checks(freshness_checks=freshness_checks)

defs = dg.Definitions(asset_checks=freshness_checks, sensors=[freshness_sensor])
