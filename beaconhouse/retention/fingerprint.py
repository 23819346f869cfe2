"""Row count and checksum of a site's UTC day, in raw.events or in its archive object.

Both sides are computed by ClickHouse with one expression over the same column list:
``sum(cityHash64(toString(tuple(columns))))``. ``toString`` of the tuple keeps NULLs
(``cityHash64`` of a NULL is NULL, which ``sum`` would skip) and the archive is read
back with the table's own structure, so Parquet's own types (FixedString for IPv6,
String for LowCardinality) are cast back before hashing. The sum counts duplicates,
as it must: the archive holds every row, before any ReplacingMergeTree merge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from beaconhouse.retention.storage import READ_SETTINGS, ArchiveStore


@dataclass(frozen=True)
class Fingerprint:
    """What a set of rows is: how many, and a checksum over all their columns."""

    rows: int
    checksum: int


@dataclass(frozen=True)
class EventColumns:
    """raw.events' stored columns (ALIAS and MATERIALIZED ones are derived)."""

    names: tuple[str, ...]
    types: tuple[str, ...]

    @classmethod
    def read(cls, client: Any, raw_db: str) -> EventColumns:
        rows = client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'events' "
            "AND default_kind NOT IN ('ALIAS', 'MATERIALIZED', 'EPHEMERAL') ORDER BY position",
            parameters={"db": raw_db},
        ).result_rows
        if not rows:
            raise LookupError(f"{raw_db}.events does not exist: run `beaconhouse warehouse migrate`")
        return cls(tuple(r[0] for r in rows), tuple(r[1] for r in rows))

    @property
    def structure(self) -> str:
        """The table's structure as ``file()``/``s3()`` take it."""
        return ", ".join(f"`{n}` {t}" for n, t in zip(self.names, self.types, strict=True))

    @property
    def select_list(self) -> str:
        return ", ".join(f"`{n}`" for n in self.names)

    @property
    def checksum_sql(self) -> str:
        """``count(), checksum`` of the rows selected."""
        return f"count(), sum(cityHash64(toString(tuple({self.select_list}))))"

    def checksum_sql_if(self, condition: str) -> str:
        """``count, checksum`` of the rows that meet ``condition``, the others ignored."""
        return f"countIf({condition}), sumIf(cityHash64(toString(tuple({self.select_list}))), {condition})"


def table_fingerprint(
    client: Any, raw_db: str, columns: EventColumns, website_id: int, day: dt.date
) -> Fingerprint:
    """The site-day's rows as raw.events holds them right now (all rows, no FINAL)."""
    rows, checksum = client.query(
        f"SELECT {columns.checksum_sql} FROM `{raw_db}`.events "
        "WHERE toDate(client_ts) = {day:Date} AND website_id = {site:UInt32}",
        parameters={"day": day, "site": website_id},
    ).result_rows[0]
    return Fingerprint(int(rows), int(checksum))


def archive_fingerprint(
    client: Any, store: ArchiveStore, columns: EventColumns, object_url: str
) -> Fingerprint:
    """The rows of an archive object, read back through ClickHouse."""
    function, params = store.table_function(object_url, columns.structure)
    rows, checksum = client.query(
        f"SELECT {columns.checksum_sql} FROM {function}", parameters=params, settings=READ_SETTINGS
    ).result_rows[0]
    return Fingerprint(int(rows), int(checksum))
