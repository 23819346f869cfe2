"""Druid: the daily page-view rollup ingested into Druid, checked against the marts."""

import dagster as dg

from orchestration.defs.druid.assets import druid_job, druid_page_views, druid_totals_match_marts
from orchestration.defs.druid.sensors import druid_after_marts

defs = dg.Definitions(
    assets=[druid_page_views],
    asset_checks=[druid_totals_match_marts],
    jobs=[druid_job],
    sensors=[druid_after_marts],
)
