"""The daily partitions that every partitioned asset shares.

Raw loads are partitioned by the UTC day their files were delivered; the marts by
site-local day (a site's local day spans parts of two or three UTC days, see
``orchestration/defs/dbt``).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

#: the first day a partition exists for; older data loads with `ingest files` directly
FIRST_DAY = "2025-01-01"

#: One partition per day. Today's partition exists too (end_offset=1): files arrive
#: all day, and loading them early is what an incremental load is for.
daily = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)


def days_of(window: dg.TimeWindow) -> list[dt.date]:
    """The days of a partition time window (one day, or a backfill's range)."""
    first = window.start.date()
    count = (window.end.date() - first).days
    return [first + dt.timedelta(days=i) for i in range(count)]
