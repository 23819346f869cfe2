"""The daily archive job (``beaconhouse archive run``): export, verify, record, then drop.

For every configured site, each UTC day older than its ``retention_days``:

1. export the site-day's rows (all of them, no FINAL) to one Parquet object with
   ``INSERT INTO FUNCTION file()/s3()``, and record it ``exported`` with the table's
   row count and checksum;
2. read the object back through ClickHouse and record it ``verified`` only if its
   count and checksum equal those;
3. drop: the whole partition when every site with rows in that UTC day is verified,
   else a synchronous DELETE of that site's rows in the partition; each time only
   while the table still holds exactly the verified rows; then record ``dropped``.

Every step is driven by the manifest and is safe to repeat, so a run that dies at any
point is finished by the next one. ``fail_at`` injects such a death (tests).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.retention.fingerprint import (
    archive_fingerprint,
    table_fingerprint,
)
from beaconhouse.retention.manifest import Entry, State
from beaconhouse.retention.storage import WRITE_SETTINGS
from beaconhouse.retention.work import ArchiveWork

log = logging.getLogger(__name__)


class FaultPoint(StrEnum):
    """Where a test may make the job die, in the order the job passes them."""

    AFTER_EXPORT = "after_export"
    AFTER_EXPORTED_RECORD = "after_exported_record"
    AFTER_VERIFY = "after_verify"
    AFTER_VERIFIED_RECORD = "after_verified_record"
    AFTER_DROP = "after_drop"


class InjectedFaultError(RuntimeError):
    """The job stopped at a :class:`FaultPoint` because it was asked to."""


class ArchiveMismatchError(RuntimeError):
    """An archive object read back differs from the rows it was written from."""


@dataclass
class ArchiveReport:
    """What one run did; site-days as (website_id, UTC day)."""

    exported: list[tuple[int, dt.date]] = field(default_factory=list)
    verified: list[tuple[int, dt.date]] = field(default_factory=list)
    dropped: list[tuple[int, dt.date]] = field(default_factory=list)
    partitions_dropped: list[dt.date] = field(default_factory=list)
    held: list[tuple[int, dt.date]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    would_archive: list[tuple[int, dt.date]] = field(default_factory=list)


class ArchiveJob(ArchiveWork):
    """One run of the archive job over a warehouse; see the module docstring."""

    def __init__(
        self,
        client: Any,
        settings: Settings,
        *,
        today: dt.date | None = None,
        now: dt.datetime | None = None,
        fail_at: FaultPoint | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(client, settings)
        self.now = now or dt.datetime.now(dt.UTC)
        self.today = today or self.now.date()
        self.fail_at = fail_at
        self.progress = progress or (lambda line: log.info("%s", line))

    def expiry(self, website_id: int) -> dt.date:
        """The first UTC day of a site that is still kept: every earlier day is archived."""
        return self.today - dt.timedelta(days=self.settings.site(website_id).retention_days)

    def run(self, dry_run: bool = False) -> ArchiveReport:
        """Archive and drop every expired site-day; ``dry_run`` only lists them."""
        report = ArchiveReport()
        retention = {site.website_id: site.retention_days for site in self.settings.sites}
        if not retention:
            return report
        oldest_kept = self.today - dt.timedelta(days=min(retention.values()))
        present = self._site_days_in_table(before=oldest_kept)
        entries = self.manifest.entries(last_day=oldest_kept - dt.timedelta(days=1))
        candidates = sorted(
            {
                (site, day)
                for site, day in set(present) | {k for k, e in entries.items() if e.state != State.DROPPED}
                if site in retention and day < self.expiry(site)
            },
            key=lambda key: (key[1], key[0]),
        )
        if dry_run:
            report.would_archive = candidates
            return report
        ready: dict[dt.date, list[Entry]] = {}
        for site, day in candidates:
            entry = self._prepare(site, day, entries.get((site, day)), report)
            if entry is not None:
                ready.setdefault(day, []).append(entry)
        for day, day_entries in sorted(ready.items()):
            self._drop(day, day_entries, report)
        return report

    def _site_days_in_table(self, before: dt.date) -> dict[tuple[int, dt.date], int]:
        rows = self.client.query(
            f"SELECT website_id, toDate(client_ts) AS day, count() FROM `{self.raw_db}`.events "
            "WHERE day < {before:Date} GROUP BY website_id, day",
            parameters={"before": before},
        ).result_rows
        return {(int(site), day): int(count) for site, day, count in rows}

    def _fault(self, point: FaultPoint) -> None:
        if self.fail_at == point:
            self.fail_at = None  # once per job: the rerun is a new job anyway
            raise InjectedFaultError(f"injected fault {point.value}")

    def _prepare(self, site: int, day: dt.date, entry: Entry | None, report: ArchiveReport) -> Entry | None:
        """Bring one site-day to a verified archive; the entry to drop, or None."""
        table = table_fingerprint(self.client, self.raw_db, self.columns, site, day)
        held_until = entry.recorded_at.replace(tzinfo=dt.UTC) + self._hold() if entry else None
        if entry is not None and entry.state == State.RESTORED and held_until and held_until > self.now:
            report.held.append((site, day))
            return None
        if entry is not None and entry.state in (State.VERIFIED, State.RESTORED, State.DROPPED):
            if table == entry.fingerprint or (table.rows == 0 and entry.state != State.DROPPED):
                # Still the verified rows, or already gone (a run died after its drop):
                # either way the archive must still read back as recorded.
                self._check_archive(entry)
                return entry
            if table.rows == 0:
                return None
            if entry.state != State.VERIFIED:
                report.conflicts.append(
                    f"site {site} {day}: {entry.state.value}, but raw.events holds {table.rows} rows "
                    "that differ from its archive; nothing dropped (finish `archive restore` or inspect)"
                )
                return None
        if table.rows == 0:
            return None
        # Nothing archived yet, an export never verified, or rows changed since: export.
        # A verified object is kept; the new export is its next generation.
        generation = 1 if entry is None else entry.generation + (entry.state == State.VERIFIED)
        url = self.store.object_url(site, day, generation)
        self._export(site, day, url)
        self._fault(FaultPoint.AFTER_EXPORT)
        entry = self.manifest.record(entry, site, day, State.EXPORTED, generation, url, table)
        report.exported.append((site, day))
        self._fault(FaultPoint.AFTER_EXPORTED_RECORD)
        self._check_archive(entry)
        self._fault(FaultPoint.AFTER_VERIFY)
        entry = self.manifest.record(entry, site, day, State.VERIFIED, generation, url, table)
        report.verified.append((site, day))
        self._fault(FaultPoint.AFTER_VERIFIED_RECORD)
        return entry

    def _hold(self) -> dt.timedelta:
        return dt.timedelta(days=self.settings.archive.restore_hold_days)

    def _export(self, site: int, day: dt.date, url: str) -> None:
        function, params = self.store.table_function(url, self.columns.structure)
        self.client.command(
            f"INSERT INTO FUNCTION {function} SELECT {self.columns.select_list} FROM `{self.raw_db}`.events "
            "WHERE toDate(client_ts) = {day:Date} AND website_id = {site:UInt32}",
            parameters={**params, "day": day, "site": site},
            settings=WRITE_SETTINGS,
        )

    def _check_archive(self, entry: Entry) -> None:
        found = archive_fingerprint(self.client, self.store, self.columns, entry.url)
        if found != entry.fingerprint:
            raise ArchiveMismatchError(
                f"site {entry.website_id} {entry.day}: {entry.url} reads back {found.rows} rows "
                f"(checksum {found.checksum}), expected {entry.fingerprint.rows} "
                f"({entry.fingerprint.checksum})"
            )

    def _drop(self, day: dt.date, entries: list[Entry], report: ArchiveReport) -> None:
        verified_sites = {e.website_id for e in entries}
        sites_in_day = {
            int(row[0])
            for row in self.client.query(
                f"SELECT DISTINCT website_id FROM `{self.raw_db}`.events "
                "WHERE toDate(client_ts) = {day:Date}",
                parameters={"day": day},
            ).result_rows
        }
        # Look again right before removing anything: rows may have landed since.
        for entry in entries:
            now = table_fingerprint(self.client, self.raw_db, self.columns, entry.website_id, day)
            if now.rows and now != entry.fingerprint:
                report.conflicts.append(
                    f"site {entry.website_id} {day}: rows changed since verified; not dropped"
                )
                return
        if sites_in_day <= verified_sites:
            self.client.command(
                f"ALTER TABLE {self.events.data_table}{self.events.on_cluster} "
                f"DROP PARTITION '{day.isoformat()}'"
            )
            report.partitions_dropped.append(day)
        else:
            # Other sites keep this day longer: remove only this site's verified rows.
            for entry in entries:
                self.client.command(
                    f"ALTER TABLE {self.events.data_table}{self.events.on_cluster} "
                    f"DELETE IN PARTITION '{day.isoformat()}' WHERE website_id = {{site:UInt32}}",
                    parameters={"site": entry.website_id},
                    settings={"mutations_sync": 2},
                )
        self._fault(FaultPoint.AFTER_DROP)
        for entry in entries:
            if entry.state != State.DROPPED:
                self.manifest.record(
                    entry,
                    entry.website_id,
                    day,
                    State.DROPPED,
                    entry.generation,
                    entry.url,
                    entry.fingerprint,
                )
                report.dropped.append((entry.website_id, day))


def site_days(report_items: Iterable[tuple[int, dt.date]]) -> str:
    """``site 1 2025-01-01, …`` for messages."""
    return ", ".join(f"site {s} {d}" for s, d in report_items)
