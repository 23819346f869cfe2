"""Data quality: Great Expectations suites as blocking Dagster asset checks."""

import dagster as dg

from orchestration.defs.quality.marts_checks import (
    sessions_expectations,
    sessions_have_pageviews,
    traffic_sources_agree_with_sessions,
)
from orchestration.defs.quality.raw_checks import raw_events_expectations

defs = dg.Definitions(
    asset_checks=[
        raw_events_expectations,
        sessions_expectations,
        sessions_have_pageviews,
        traffic_sources_agree_with_sessions,
    ]
)
