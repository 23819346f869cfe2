"""``beaconhouse archive restore``: archived days back into raw.events, marts rebuilt.

The range is in the site's local days, as the marts are. Every UTC day that holds a
part of them and was dropped is re-inserted from its archive object, checked against
the manifest's count and checksum, and recorded ``restored``; then the marts of the
local days are rebuilt.

dbt rebuilds a local day for every site at once (insert_overwrite of the day's
partition), so before a rebuild the other sites' archived rows of those local days
come back too; otherwise their marts of those days would be rebuilt from nothing.
A restored site-day stays for ``archive.restore_hold_days``; then the archive job
drops it again (its archive is still verified).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.retention.fingerprint import table_fingerprint
from beaconhouse.retention.manifest import Entry, State
from beaconhouse.retention.marts import rebuild_marts, utc_days_of
from beaconhouse.retention.storage import READ_SETTINGS
from beaconhouse.retention.work import ArchiveWork


class RestoreError(RuntimeError):
    """Restored rows do not match the manifest; the message is one line."""


@dataclass
class RestoreReport:
    """Site-days as (website_id, UTC day)."""

    restored: list[tuple[int, dt.date]] = field(default_factory=list)
    rows: int = 0
    marts_rebuilt: tuple[dt.date, dt.date] | None = None


class Restorer(ArchiveWork):
    """Puts dropped site-days back into raw.events from their verified archive."""

    def __init__(self, client: Any, settings: Settings) -> None:
        super().__init__(client, settings)

    def restore_local_days(
        self, website_id: int, first_local: dt.date, last_local: dt.date, report: RestoreReport
    ) -> None:
        """Every dropped UTC day of the site that holds part of its local days."""
        timezone = self.settings.site(website_id).timezone
        first_utc, last_utc = utc_days_of(timezone, first_local, last_local)
        for (_, day), entry in sorted(self.manifest.entries(website_id, first_utc, last_utc).items()):
            if entry.state == State.DROPPED:
                report.rows += self._restore_site_day(entry)
                report.restored.append((website_id, day))

    def _restore_site_day(self, entry: Entry) -> int:
        site, day = entry.website_id, entry.day
        present = table_fingerprint(self.client, self.raw_db, self.columns, site, day)
        if present.rows and present != entry.fingerprint:
            # A dropped day gets rows back only from a restore (the loaders refuse events
            # that old): these are a restore that died half-way. Start again from none.
            self.client.command(
                f"ALTER TABLE {self.events.data_table}{self.events.on_cluster} DELETE IN PARTITION "
                f"'{day.isoformat()}' WHERE website_id = {{site:UInt32}}",
                parameters={"site": site},
                settings={"mutations_sync": 2},
            )
            present = table_fingerprint(self.client, self.raw_db, self.columns, site, day)
        if present.rows == 0:
            function, params = self.store.table_function(entry.url, self.columns.structure)
            self.client.command(
                f"INSERT INTO `{self.raw_db}`.events ({self.columns.select_list}) "
                f"SELECT {self.columns.select_list} FROM {function}",
                parameters=params,
                # Keep duplicates as archived: the fingerprint counts every row.
                settings={**READ_SETTINGS, "optimize_on_insert": 0},
            )
            present = table_fingerprint(self.client, self.raw_db, self.columns, site, day)
        if present != entry.fingerprint:
            raise RestoreError(
                f"site {site} {day}: restored {present.rows} rows, the archive recorded "
                f"{entry.fingerprint.rows} (or the checksum differs)"
            )
        self.manifest.record(entry, site, day, State.RESTORED, entry.generation, entry.url, entry.fingerprint)
        return present.rows


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
    settings.site(website_id)  # an unknown site is a ConfigError before anything moves
    restorer = Restorer(client, settings)
    report = RestoreReport()
    restorer.restore_local_days(website_id, first_local, last_local, report)
    if rebuild:
        for other in settings.sites:
            if other.website_id != website_id:
                restorer.restore_local_days(other.website_id, first_local, last_local, report)
        rebuild_marts(settings, first_local, last_local)
        report.marts_rebuilt = (first_local, last_local)
    return report
