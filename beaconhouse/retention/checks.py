"""Checks of the archive against raw.events: what the Dagster asset checks report.

- no unverified drop: every site-day the manifest has dropped was verified first,
  and no site-day older than its site's retention is missing from the table without
  a manifest entry (rows gone another way: by hand, or by the TTL safety net firing
  before the job ran);
- the manifest agrees with the partitions: a dropped site-day has no rows left, and
  a verified or restored one still has exactly the rows recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.retention.fingerprint import EventColumns, table_fingerprint
from beaconhouse.retention.manifest import Manifest, State


def unverified_drops(client: Any, settings: Settings) -> list[str]:
    """Site-days dropped without a verified archive; empty when there are none."""
    raw = settings.warehouse.raw_database
    rows = client.query(
        "SELECT website_id, day FROM ("
        "  SELECT website_id, day, minIf(seq, state = 'verified') AS first_verified,"
        "         minIf(seq, state = 'dropped') AS first_dropped"
        f"  FROM `{raw}`.archive_manifest GROUP BY website_id, day"
        ") WHERE first_dropped > 0 AND (first_verified = 0 OR first_verified > first_dropped)"
        " ORDER BY website_id, day"
    ).result_rows
    return [f"site {site} {day}: dropped before it was verified" for site, day in rows]


def manifest_disagreements(client: Any, settings: Settings) -> list[str]:
    """Where the manifest and raw.events disagree; empty when they agree."""
    raw = settings.warehouse.raw_database
    columns = EventColumns.read(client, raw)
    problems = []
    for (site, day), entry in sorted(Manifest(client, raw).entries().items()):
        present = table_fingerprint(client, raw, columns, site, day)
        if entry.state == State.DROPPED and present.rows:
            problems.append(f"site {site} {day}: dropped, but raw.events holds {present.rows} rows")
        elif entry.state in (State.VERIFIED, State.RESTORED) and present != entry.fingerprint:
            problems.append(
                f"site {site} {day}: {entry.state.value} with {entry.fingerprint.rows} rows, "
                f"raw.events holds {present.rows} (or other rows)"
            )
    return problems


def ttl_days(client: Any, settings: Settings) -> int | None:
    """The TTL of raw.events in days (the safety net), or None if it has none."""
    table = "events_local" if settings.warehouse.cluster else "events"
    rows = client.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": settings.warehouse.raw_database, "t": table},
    ).result_rows
    if not rows:
        return None
    found = re.search(r"TTL toDate\(client_ts\) \+ (?:toIntervalDay\((\d+)\)|INTERVAL (\d+) DAY)", rows[0][0])
    return int(found.group(1) or found.group(2)) if found else None


def ttl_too_short(client: Any, settings: Settings) -> list[str]:
    """Sites whose retention the TTL would cut short: it must outlast every site's."""
    ttl = ttl_days(client, settings)
    if ttl is None:
        return []
    return [
        f"site {site.website_id} keeps {site.retention_days} days, raw.events' TTL drops rows after {ttl}"
        for site in settings.sites
        if site.retention_days >= ttl
    ]


def expired_days_left(client: Any, settings: Settings, today: dt.date | None = None) -> list[str]:
    """Site-days past retention still in raw.events (the job is behind): a warning."""
    today = today or dt.datetime.now(dt.UTC).date()
    raw = settings.warehouse.raw_database
    out = []
    for site in settings.sites:
        expiry = today - dt.timedelta(days=site.retention_days)
        count = client.query(
            f"SELECT uniqExact(toDate(client_ts)) FROM `{raw}`.events "
            "WHERE website_id = {site:UInt32} AND toDate(client_ts) < {expiry:Date}",
            parameters={"site": site.website_id, "expiry": expiry},
        ).result_rows[0][0]
        if count:
            out.append(f"site {site.website_id}: {count} days older than {expiry} not archived yet")
    return out
