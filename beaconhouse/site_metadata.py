"""``beaconhouse sites sync``: publish the configured sites to the warehouse for dbt.

The marts need each site's domain (for the session rules), its time zone (the marts'
days and hours are site-local) and its goals. They live in beaconhouse.toml, so a
sync writes them into ``<meta_db>.sites``, ``site_goals`` and ``timezone_offsets``
(migration V0005), where dbt's staging models read the newest snapshot.

ClickHouse's time-zone functions take the zone as a constant, not from a column, so
one query cannot give each site's rows their own zone. A sync therefore writes the UTC
offset periods of each zone, from Python's zoneinfo, and the marts find an event's
offset with an ``ASOF JOIN`` on (zone, UTC time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from beaconhouse.config import Settings

#: offsets are written for this range of UTC instants (ClickHouse DateTime ends in 2106)
OFFSETS_FROM = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
OFFSETS_UNTIL = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
#: the scan step: two offset changes closer together than this would be missed (none
#: are known since 1970; a zone changes at most a few times a year)
_SCAN_STEP_S = 6 * 3600


class SyncError(Exception):
    """The sites could not be synced; the message is one line."""


@dataclass(frozen=True)
class OffsetPeriod:
    """From ``valid_from`` (UTC) until the next period, local time = UTC + offset."""

    valid_from: dt.datetime
    utc_offset_seconds: int


def utc_offset_periods(
    timezone: str, start: dt.datetime = OFFSETS_FROM, end: dt.datetime = OFFSETS_UNTIL
) -> list[OffsetPeriod]:
    """The periods of constant UTC offset of ``timezone`` between ``start`` and ``end``.

    The first period starts at ``start``; each further one at the exact UTC second the
    offset changes (found by bisection between scan points).
    """
    zone = ZoneInfo(timezone)

    def offset(seconds: int) -> int:
        utcoffset = dt.datetime.fromtimestamp(seconds, zone).utcoffset()
        assert utcoffset is not None  # a ZoneInfo always has one
        return int(utcoffset.total_seconds())

    first, last = int(start.timestamp()), int(end.timestamp())
    current = offset(first)
    periods = [OffsetPeriod(_utc(first), current)]
    for low, high in _steps(first, last):
        if offset(high) == current:
            continue
        # The change is in (low, high]: bisect to its first second.
        while high - low > 1:
            middle = (low + high) // 2
            if offset(middle) == current:
                low = middle
            else:
                high = middle
        current = offset(high)
        periods.append(OffsetPeriod(_utc(high), current))
    return periods


def _steps(first: int, last: int) -> Iterator[tuple[int, int]]:
    low = first
    while low < last:
        high = min(low + _SCAN_STEP_S, last)
        yield low, high
        low = high


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


@dataclass(frozen=True)
class SyncReport:
    """What one sync wrote."""

    synced_at: dt.datetime
    sites: int
    goals: int
    timezones: int
    offset_periods: int


SITE_COLUMNS = (
    "website_id",
    "domain",
    "name",
    "tracking_id",
    "timezone",
    "retention_days",
    "bot_filtering",
    "ip_anonymization",
    "sampling_rate",
    "synced_at",
)
GOAL_COLUMNS = (
    "website_id",
    "goal_name",
    "kind",
    "page_path",
    "match_type",
    "event_category",
    "event_action",
    "event_label",
    "min_duration_seconds",
    "min_pageviews",
    "goal_value",
    "synced_at",
)
OFFSET_COLUMNS = ("timezone", "valid_from", "utc_offset_seconds", "synced_at")


def sync_sites(client: Any, settings: Settings, now: dt.datetime | None = None) -> SyncReport:
    """Write the configured sites, goals and time-zone offsets as one new snapshot.

    ``client`` is a clickhouse-connect client. Offsets go first and sites last (see
    migration V0005), so readers of the newest sites snapshot see a complete one.
    """
    if not settings.sites:
        raise SyncError("no [[sites]] configured: there is nothing to sync")
    synced_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    meta = settings.warehouse.meta_database
    timezones = sorted({site.timezone for site in settings.sites})
    offsets = [
        (zone, period.valid_from, period.utc_offset_seconds, synced_at)
        for zone in timezones
        for period in utc_offset_periods(zone)
    ]
    goals = [
        (
            site.website_id,
            goal.name,
            goal.kind,
            goal.page_path,
            goal.match,
            goal.event_category,
            goal.event_action,
            goal.event_label,
            goal.min_duration_seconds,
            goal.min_pageviews,
            Decimal(str(goal.value)),
            synced_at,
        )
        for site in settings.sites
        for goal in site.goals
    ]
    sites = [
        (
            site.website_id,
            site.domain,
            site.name,
            site.tracking_id,
            site.timezone,
            site.retention_days,
            site.bot_filtering,
            site.ip_anonymization,
            site.sampling_rate,
            synced_at,
        )
        for site in settings.sites
    ]
    client.insert("timezone_offsets", offsets, column_names=OFFSET_COLUMNS, database=meta)
    if goals:
        client.insert("site_goals", goals, column_names=GOAL_COLUMNS, database=meta)
    client.insert("sites", sites, column_names=SITE_COLUMNS, database=meta)
    return SyncReport(
        synced_at=synced_at,
        sites=len(sites),
        goals=len(goals),
        timezones=len(timezones),
        offset_periods=len(offsets),
    )
