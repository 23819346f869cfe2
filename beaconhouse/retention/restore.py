"""``beaconhouse archive restore``: archived days back into raw.events, marts rebuilt.

The range is in the site's local days, as the marts are. Every UTC day that holds a
part of them and was dropped is re-inserted from its archive object, checked against
the manifest's count and checksum, and recorded ``restored``; then the marts of the
local days are rebuilt. A restored site-day stays for ``archive.restore_hold_days``,
after which the archive job drops it again (its archive is still verified).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.retention.archive_job import EventsTable
from beaconhouse.retention.fingerprint import EventColumns, table_fingerprint
from beaconhouse.retention.manifest import Manifest, State
from beaconhouse.retention.marts import rebuild_marts, utc_days_of
from beaconhouse.retention.storage import READ_SETTINGS, ArchiveStore


class RestoreError(RuntimeError):
    """Restored rows do not match the manifest; the message is one line."""


@dataclass
class RestoreReport:
    restored: list[dt.date] = field(default_factory=list)
    rows: int = 0
    marts_rebuilt: tuple[dt.date, dt.date] | None = None


def restore(
    client: Any,
    settings: Settings,
    website_id: int,
    first_local: dt.date,
    last_local: dt.date,
    *,
    rebuild: bool = True,
) -> RestoreReport:
    """Re-load a site's archived days ``first_local``..``last_local`` (site-local, inclusive)."""
    site = settings.site(website_id)
    raw_db = settings.warehouse.raw_database
    events = EventsTable(raw_db, settings.warehouse.cluster)
    store = ArchiveStore.from_settings(settings)
    manifest = Manifest(client, raw_db)
    columns = EventColumns.read(client, raw_db)
    first_utc, last_utc = utc_days_of(site.timezone, first_local, last_local)
    report = RestoreReport()
    for (_, day), entry in sorted(manifest.entries(website_id, first_utc, last_utc).items()):
        if entry.state != State.DROPPED:
            continue  # never dropped, or already back: its rows are in the table
        present = table_fingerprint(client, raw_db, columns, website_id, day)
        if present.rows and present != entry.fingerprint:
            # A restore that died half-way: start the site-day again from nothing.
            client.command(
                f"ALTER TABLE {events.data_table}{events.on_cluster} DELETE IN PARTITION "
                f"'{day.isoformat()}' WHERE website_id = {{site:UInt32}}",
                parameters={"site": website_id},
                settings={"mutations_sync": 2},
            )
            present = table_fingerprint(client, raw_db, columns, website_id, day)
        if present.rows == 0:
            function, params = store.table_function(entry.url, columns.structure)
            client.command(
                f"INSERT INTO `{raw_db}`.events ({columns.select_list}) "
                f"SELECT {columns.select_list} FROM {function}",
                parameters=params,
                # Keep duplicates as archived: the fingerprint counts every row.
                settings={**READ_SETTINGS, "optimize_on_insert": 0},
            )
            present = table_fingerprint(client, raw_db, columns, website_id, day)
        if present != entry.fingerprint:
            raise RestoreError(
                f"site {website_id} {day}: restored {present.rows} rows, the archive recorded "
                f"{entry.fingerprint.rows} (or the checksum differs)"
            )
        manifest.record(
            entry, website_id, day, State.RESTORED, entry.generation, entry.url, entry.fingerprint
        )
        report.restored.append(day)
        report.rows += present.rows
    if rebuild:
        rebuild_marts(settings, first_local, last_local)
        report.marts_rebuilt = (first_local, last_local)
    return report
