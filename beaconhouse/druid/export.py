"""Export a site-local day of page views to Parquet, written by ClickHouse itself.

``INSERT INTO FUNCTION s3(…)`` (or ``file(…)`` for a local folder) runs in the
warehouse, so the rows never pass through this process. The S3 endpoint and the folder
are the warehouse's view of them: with a remote ClickHouse a local folder is on *its*
machine (the embedded warehouse shares this one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from beaconhouse.config import DRUID_GRANULARITIES, S3Settings, Settings
from beaconhouse.druid import columns as c

EXPORT_FILE = "page_views.parquet"


class ExportError(Exception):
    """The export could not be written; the message is one line."""


@dataclass(frozen=True)
class DayExport:
    """Where a day's rollup was written, and how many rows it has."""

    day: dt.date
    #: s3://bucket/key or an absolute file path
    location: str
    rows: int

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")


def export_location(settings: Settings, day: dt.date) -> str:
    """The Parquet file of ``day``: ``<export url>/<datasource>/day=YYYY-MM-DD/page_views.parquet``."""
    base = settings.druid_export_url()
    if not base.startswith("s3://"):
        base = str(Path(base).resolve())
    return f"{base}/{settings.druid.datasource}/day={day.isoformat()}/{EXPORT_FILE}"


def s3_http_url(location: str, s3: S3Settings) -> str:
    """The HTTP(S) URL ClickHouse's ``s3()`` function takes for an ``s3://`` location."""
    parts = urlsplit(location)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if s3.endpoint_url:
        return f"{s3.endpoint_url.rstrip('/')}/{bucket}/{key}"
    return f"https://{bucket}.s3.{s3.region}.amazonaws.com/{key}"


def rollup_query(granularity: str) -> str:
    """The SELECT of a day's rollup; ``{marts}`` and the ``{day:Date}`` parameter are filled later.

    The traffic source of a page view is its session's (fct_sessions' attribution).
    """
    interval = DRUID_GRANULARITIES[granularity]
    # the page view's own dimensions; the traffic ones come from its session
    dims = ",\n    ".join(f"pv.{name} AS {name}" for name in c.STRING_DIMENSIONS[:5])
    return f"""
SELECT
    toInt64(toUnixTimestamp(toStartOfInterval(pv.viewed_at_local, INTERVAL {interval}))) * 1000
        AS {c.TIME_COLUMN},
    pv.website_id AS website_id,
    {dims},
    s.traffic_source AS traffic_source,
    s.traffic_medium AS traffic_medium,
    s.traffic_channel AS traffic_channel,
    toString(pv.visitor_id) AS {c.VISITOR_ID},
    toString(pv.session_id) AS {c.SESSION_ID},
    count() AS {c.PAGEVIEWS},
    countIf(pv.is_bounce) AS {c.BOUNCES},
    sum(ifNull(pv.time_on_page_ms, 0)) AS {c.TIME_ON_PAGE_MS}
FROM {{marts}}.fct_page_views AS pv
LEFT JOIN (
    SELECT session_id, traffic_source, traffic_medium, traffic_channel
    FROM {{marts}}.fct_sessions
    WHERE local_date = {{day:Date}}
) AS s ON s.session_id = pv.session_id
WHERE pv.local_date = {{day:Date}}
GROUP BY ALL
ORDER BY website_id, {c.TIME_COLUMN}
"""


def export_day(settings: Settings, day: dt.date, client: Any | None = None) -> DayExport:
    """Write ``day``'s rollup to its Parquet file (replacing it) and count its rows."""
    from clickhouse_connect.driver.exceptions import DatabaseError

    from beaconhouse.warehouse.client import connect

    client = client or connect(settings.warehouse)
    location = export_location(settings, day)
    marts = f"`{settings.warehouse.marts_database}`"
    select = rollup_query(settings.druid.query_granularity).replace("{marts}", marts)
    parameters: dict[str, Any] = {"day": day}
    if location.startswith("s3://"):
        s3 = settings.s3
        parameters["url"] = s3_http_url(location, s3)
        if s3.access_key_id and s3.secret_access_key:
            target = "s3({url:String}, {key:String}, {secret:String}, 'Parquet')"
            parameters |= {"key": s3.access_key_id, "secret": s3.secret_access_key}
        else:
            # no keys: the warehouse's own credentials (instance role, environment)
            target = "s3({url:String}, 'Parquet')"
        truncate = "s3_truncate_on_insert"
    else:
        Path(location).parent.mkdir(parents=True, exist_ok=True)
        parameters["url"] = location
        target = "file({url:String}, 'Parquet')"
        truncate = "engine_file_truncate_on_insert"
    try:
        client.command(
            f"INSERT INTO FUNCTION {target}\n{select}", parameters=parameters, settings={truncate: 1}
        )
        # read back from the file: it was written, and Parquet's footer has the count
        counted = client.query(f"SELECT count() FROM {target}", parameters=parameters).result_rows[0][0]
    except DatabaseError as exc:
        raise ExportError(f"export of {day} to {location} failed: {_first_line(exc)}") from None
    return DayExport(day=day, location=location, rows=int(counted))


def _first_line(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if "DB::Exception" in line or line.startswith("Code:"):
            return line.strip()
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
