"""The columns of the exported rollup, shared by the export query and the ingestion spec.

One row per time bucket, dimensions, visitor and session: the visitor and session ids
stay in the rows so that Druid builds its distinct-count sketches at ingestion.
"""

from __future__ import annotations

#: milliseconds since the epoch of the bucket's start, in site-local wall-clock time
TIME_COLUMN = "time_local_ms"

#: Druid long dimensions
LONG_DIMENSIONS = ("website_id",)
#: Druid string dimensions: the seed's page-view dimensions
STRING_DIMENSIONS = (
    "page_path",
    "country_code",
    "device_type",
    "browser_name",
    "os_name",
    "traffic_source",
    "traffic_medium",
    "traffic_channel",
)
DIMENSIONS = LONG_DIMENSIONS + STRING_DIMENSIONS

#: inputs of the sketches, not dimensions
VISITOR_ID = "visitor_id"
SESSION_ID = "session_id"

#: additive measures of a row
PAGEVIEWS = "pageviews"
BOUNCES = "bounces"
TIME_ON_PAGE_MS = "time_on_page_ms"
