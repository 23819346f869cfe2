"""The ``index_parallel`` ingestion spec of one day's export.

Field by field as Druid documents native batch ingestion (docs/druid.md links the
pages). Rollup is on and guaranteed (hashed partitions), ``intervals`` is the one day
and ``appendToExisting`` false with ``dropExisting`` true: a rerun replaces the day,
and a day re-exported empty leaves no stale rows behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from beaconhouse.config import DruidSettings
from beaconhouse.druid import columns as c

TASK_TYPE = "index_parallel"
#: one segment per day holds a few million rows at most
TARGET_ROWS_PER_SEGMENT = 5_000_000


def day_interval(day: dt.date) -> str:
    """The ISO 8601 interval of ``day``: ``2026-03-02T00:00:00.000Z/2026-03-03T00:00:00.000Z``."""
    end = day + dt.timedelta(days=1)
    return f"{day.isoformat()}T00:00:00.000Z/{end.isoformat()}T00:00:00.000Z"


def input_source(location: str) -> dict[str, Any]:
    """Druid's ``inputSource`` for the export file: ``s3`` (druid-s3-extensions) or ``local``."""
    if location.startswith("s3://"):
        return {"type": "s3", "uris": [location]}
    path = location.rsplit("/", 1)
    return {"type": "local", "baseDir": path[0], "filter": path[1]}


def metrics_spec(settings: DruidSettings) -> list[dict[str, Any]]:
    """Counts and sums, and theta sketches (druid-datasketches) of visitors and sessions."""
    return [
        # rows of the export rolled into the Druid row, not page views (see pageviews)
        {"type": "count", "name": "input_rows"},
        {"type": "longSum", "name": c.PAGEVIEWS, "fieldName": c.PAGEVIEWS},
        {"type": "doubleSum", "name": c.BOUNCES, "fieldName": c.BOUNCES},
        {"type": "doubleSum", "name": c.TIME_ON_PAGE_MS, "fieldName": c.TIME_ON_PAGE_MS},
        {
            "type": "thetaSketch",
            "name": "visitors",
            "fieldName": c.VISITOR_ID,
            "isInputThetaSketch": False,
            "size": settings.sketch_size,
        },
        {
            "type": "thetaSketch",
            "name": "sessions",
            "fieldName": c.SESSION_ID,
            "isInputThetaSketch": False,
            "size": settings.sketch_size,
        },
    ]


def ingestion_spec(settings: DruidSettings, day: dt.date, location: str) -> dict[str, Any]:
    """The task to POST to the Overlord for ``day``'s export at ``location``."""
    if location.startswith("s3://") and not urlsplit(location).netloc:
        raise ValueError(f"{location}: no bucket")
    dimensions: list[Any] = [{"type": "long", "name": name} for name in c.LONG_DIMENSIONS]
    dimensions += [{"type": "string", "name": name} for name in c.STRING_DIMENSIONS]
    return {
        "type": TASK_TYPE,
        "spec": {
            "dataSchema": {
                "dataSource": settings.datasource,
                "timestampSpec": {"column": c.TIME_COLUMN, "format": "millis"},
                "dimensionsSpec": {"dimensions": dimensions},
                "metricsSpec": metrics_spec(settings),
                "granularitySpec": {
                    "type": "uniform",
                    "segmentGranularity": "DAY",
                    "queryGranularity": settings.query_granularity.upper(),
                    "rollup": True,
                    "intervals": [day_interval(day)],
                },
            },
            "ioConfig": {
                "type": TASK_TYPE,
                "inputSource": input_source(location),
                "inputFormat": {"type": "parquet", "binaryAsString": False},
                "appendToExisting": False,
                "dropExisting": True,
            },
            "tuningConfig": {
                "type": TASK_TYPE,
                "partitionsSpec": {
                    "type": "hashed",
                    "targetRowsPerSegment": TARGET_ROWS_PER_SEGMENT,
                    "partitionDimensions": ["website_id"],
                },
                "forceGuaranteedRollup": True,
                "maxNumConcurrentSubTasks": 2,
            },
        },
    }
