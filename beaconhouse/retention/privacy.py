"""``beaconhouse privacy delete``: one person's events gone from every place they are.

In order, each step safe to repeat (a rerun of a request that died finishes it):

1. log the request in <meta>.privacy_requests: the identifier only as an HMAC;
2. note the site-local days the person has events on (raw.events and the archive);
3. delete their rows from raw.events and raw.events_quarantine (ALTER ... DELETE,
   synchronous: the parts are rewritten, the rows are physically gone);
4. rewrite each archive object that holds them: read it, filter them out, write the
   next generation, verify it, record it in the manifest, delete the old object;
5. drop the visitor's first-seen day and rebuild the marts of those local days;
   archived days are restored for it (the rewritten archive no longer has them),
   and the archive job drops them again after the restore hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from beaconhouse.config import Settings
from beaconhouse.retention.fingerprint import Fingerprint, archive_fingerprint
from beaconhouse.retention.manifest import State
from beaconhouse.retention.marts import contiguous_ranges
from beaconhouse.retention.restore import restore
from beaconhouse.retention.storage import READ_SETTINGS, WRITE_SETTINGS
from beaconhouse.retention.work import ArchiveWork

IdentifierKind = Literal["visitor", "user"]


class PrivacyError(RuntimeError):
    """A rewritten archive object did not verify; the message is one line."""


@dataclass
class PrivacyReport:
    request_id: uuid.UUID
    raw_events_deleted: int = 0
    quarantine_deleted: int = 0
    archive_objects_rewritten: int = 0
    archive_rows_deleted: int = 0
    mart_days_rebuilt: list[dt.date] = field(default_factory=list)


def identifier_hmac(settings: Settings, kind: IdentifierKind, value: str) -> str:
    """What the log keeps of the identifier: an HMAC, never the value."""
    key = settings.ingest.visitor_id_secret.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


class PrivacyDeletion(ArchiveWork):
    """One deletion request for one person of one site."""

    def __init__(
        self, client: Any, settings: Settings, website_id: int, kind: IdentifierKind, value: str
    ) -> None:
        self.site = settings.site(website_id)
        super().__init__(client, settings)
        self.kind = kind
        self.value = value
        self.params: dict[str, Any] = {"site": website_id, "who": value, "tz": self.site.timezone}
        column = "visitor_id" if kind == "visitor" else "user_id"
        #: the person's rows, in raw.events and in an archive object alike; never NULL
        #: (user_id is Nullable), so that NOT matches keeps every other row
        self.matches = f"(website_id = {{site:UInt32}} AND ifNull({column} = {{who:String}}, false))"

    def run(self, rebuild: bool = True) -> PrivacyReport:
        report = PrivacyReport(uuid.uuid4())
        self._log(report, "started")
        local_days, visitors = self._raw_footprint()
        archived = self._archived_footprint()
        for days in archived.values():
            local_days |= days
        report.raw_events_deleted = self._delete_raw()
        report.quarantine_deleted = self._delete_quarantine()
        for (site, day), _ in sorted(archived.items()):
            report.archive_rows_deleted += self._rewrite_archive(site, day)
            report.archive_objects_rewritten += 1
        self._forget_first_seen(visitors)
        if rebuild:
            for first, last in contiguous_ranges(local_days):
                # Restores what is archived in the range (now without the person)
                # and rebuilds the marts of those days.
                restore(self.client, self.settings, self.site.website_id, first, last)
            report.mart_days_rebuilt = sorted(local_days)
        self._log(report, "done")
        return report

    def _log(self, report: PrivacyReport, state: str) -> None:
        meta = self.settings.warehouse.meta_database
        self.client.insert(
            f"`{meta}`.privacy_requests",
            [
                [
                    report.request_id,
                    self.site.website_id,
                    self.kind,
                    identifier_hmac(self.settings, self.kind, self.value),
                    state,
                    report.raw_events_deleted,
                    report.quarantine_deleted,
                    report.archive_objects_rewritten,
                    report.archive_rows_deleted,
                    report.mart_days_rebuilt,
                ]
            ],
            column_names=[
                "request_id",
                "website_id",
                "identifier_kind",
                "identifier_hmac",
                "state",
                "raw_events_deleted",
                "quarantine_deleted",
                "archive_objects_rewritten",
                "archive_rows_deleted",
                "mart_days_rebuilt",
            ],
        )

    def _raw_footprint(self) -> tuple[set[dt.date], set[str]]:
        rows = self.client.query(
            "SELECT groupUniqArray(toDate(client_ts, {tz:String})), groupUniqArray(visitor_id) "
            f"FROM `{self.raw_db}`.events WHERE {self.matches}",
            parameters=self.params,
        ).result_rows[0]
        return set(rows[0]), set(rows[1])

    def _archived_footprint(self) -> dict[tuple[int, dt.date], set[dt.date]]:
        """Archive objects holding the person: their site-day and the local days of the rows."""
        out: dict[tuple[int, dt.date], set[dt.date]] = {}
        for key, entry in sorted(self.manifest.entries(self.site.website_id).items()):
            if entry.state == State.EXPORTED:
                continue  # unverified: the next archive run rewrites it from the table
            function, params = self.store.table_function(entry.url, self.columns.structure)
            days = self.client.query(
                "SELECT groupUniqArray(toDate(client_ts, {tz:String})) "
                f"FROM {function} WHERE {self.matches}",
                parameters={**params, **self.params},
                settings=READ_SETTINGS,
            ).result_rows[0][0]
            if days:
                out[key] = set(days)
        return out

    def _count(self, table: str, condition: str) -> int:
        return int(
            self.client.query(
                f"SELECT count() FROM {table} WHERE {condition}", parameters=self.params
            ).result_rows[0][0]
        )

    def _delete_raw(self) -> int:
        count = self._count(f"`{self.raw_db}`.events", self.matches)
        if count:
            self.client.command(
                f"ALTER TABLE {self.events.data_table}{self.events.on_cluster} DELETE WHERE {self.matches}",
                parameters=self.params,
                settings={"mutations_sync": 2},
            )
        return count

    def _delete_quarantine(self) -> int:
        # The payload as received: a JSON object with the identifier at the top level,
        # or text that is not JSON at all, which matches if it holds the quoted value.
        field_name = "visitor_id" if self.kind == "visitor" else "user_id"
        condition = (
            "(website_id = {site:UInt32} OR website_id IS NULL) AND ("
            "(isValidJSON(raw_payload) "
            f"AND JSONExtractString(raw_payload, '{field_name}') = {{who:String}}) "
            "OR (NOT isValidJSON(raw_payload) "
            "AND position(raw_payload, concat('\"', {who:String}, '\"')) > 0))"
        )
        table = f"`{self.raw_db}`.events_quarantine"
        count = self._count(table, condition)
        if count:
            name = "events_quarantine_local" if self.settings.warehouse.cluster else "events_quarantine"
            self.client.command(
                f"ALTER TABLE `{self.raw_db}`.{name}{self.events.on_cluster} DELETE WHERE {condition}",
                parameters=self.params,
                settings={"mutations_sync": 2},
            )
        return count

    def _forget_first_seen(self, visitors: set[str]) -> None:
        """Remove the person's visitors from int_visitors_first_seen (kept over all days).

        A visitor deletion removes every row of that visitor. A user deletion removes
        only visitors with no event left in raw.events; a visitor who also has
        anonymous events keeps its first-seen day (docs/retention.md).
        """
        if self.kind == "visitor":
            visitors = {self.value}
        else:
            left = self.client.query(
                f"SELECT DISTINCT visitor_id FROM `{self.raw_db}`.events "
                "WHERE website_id = {site:UInt32} AND visitor_id IN {visitors:Array(String)}",
                parameters={**self.params, "visitors": sorted(visitors)},
            ).result_rows
            visitors -= {row[0] for row in left}
        marts = self.settings.warehouse.marts_database
        exists = self.client.query(
            "SELECT count() FROM system.tables "
            "WHERE database = {db:String} AND name = 'int_visitors_first_seen'",
            parameters={"db": marts},
        ).result_rows[0][0]
        if visitors and exists:
            self.client.command(
                f"ALTER TABLE `{marts}`.int_visitors_first_seen DELETE "
                "WHERE website_id = {site:UInt32} AND visitor_id IN {visitors:Array(String)}",
                parameters={**self.params, "visitors": sorted(visitors)},
                settings={"mutations_sync": 2},
            )

    def _rewrite_archive(self, site: int, day: dt.date) -> int:
        """Write the object without the person as the next generation; rows removed."""
        entry = self.manifest.entries(site, day, day)[(site, day)]
        old_function, old_params = self.store.table_function(entry.url, self.columns.structure)
        kept_rows, kept_checksum, matching, total = self.client.query(
            f"SELECT {self.columns.checksum_sql_if(f'NOT {self.matches}')}, countIf({self.matches}), "
            f"count() FROM {old_function}",
            parameters={**old_params, **self.params},
            settings=READ_SETTINGS,
        ).result_rows[0]
        kept = Fingerprint(int(kept_rows), int(kept_checksum))
        if kept.rows + int(matching) != int(total) or int(total) != entry.fingerprint.rows:
            # Every row is the person's or kept, and the object is what was verified.
            raise PrivacyError(
                f"site {site} {day}: {entry.url} holds {total} rows ({matching} to remove, "
                f"{kept.rows} to keep), the manifest {entry.fingerprint.rows}"
            )
        generation = entry.generation + 1
        new_url = self.store.object_url(site, day, generation)
        new_function, new_params = self.store.table_function(new_url, self.columns.structure, name="rewrite")
        self.client.command(
            f"INSERT INTO FUNCTION {new_function} SELECT {self.columns.select_list} FROM {old_function} "
            f"WHERE NOT {self.matches}",
            parameters={**new_params, **old_params, **self.params},
            settings={**WRITE_SETTINGS, **READ_SETTINGS},
        )
        found = archive_fingerprint(self.client, self.store, self.columns, new_url)
        if found != kept:
            raise PrivacyError(f"site {site} {day}: rewritten archive {new_url} does not verify")
        self.manifest.record(entry, site, day, entry.state, generation, new_url, kept, note="privacy rewrite")
        for older in range(1, generation):
            self.store.delete(self.store.object_url(site, day, older))
        return entry.fingerprint.rows - kept.rows
