"""raw.archive_manifest: the state of each archived site-day (see V0007).

Append-only: a step appends a row with the next ``seq``; the newest row is the state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from beaconhouse.retention.fingerprint import Fingerprint


class State(StrEnum):
    EXPORTED = "exported"
    VERIFIED = "verified"
    DROPPED = "dropped"
    RESTORED = "restored"


@dataclass(frozen=True)
class Entry:
    """The newest manifest row of one site's UTC day."""

    website_id: int
    day: dt.date
    seq: int
    state: State
    generation: int
    url: str
    fingerprint: Fingerprint
    recorded_at: dt.datetime


class Manifest:
    """Reads and appends raw.archive_manifest."""

    def __init__(self, client: Any, raw_db: str) -> None:
        self.client = client
        self.table = f"`{raw_db}`.archive_manifest"

    def entries(
        self,
        website_id: int | None = None,
        first_day: dt.date | None = None,
        last_day: dt.date | None = None,
    ) -> dict[tuple[int, dt.date], Entry]:
        """The current entry of every site-day, optionally for one site and a day range."""
        conditions: list[str] = ["1"]
        params: dict[str, object] = {}
        if website_id is not None:
            conditions.append("website_id = {site:UInt32}")
            params["site"] = website_id
        if first_day is not None:
            conditions.append("day >= {first:Date}")
            params["first"] = first_day
        if last_day is not None:
            conditions.append("day <= {last:Date}")
            params["last"] = last_day
        rows = self.client.query(
            "SELECT website_id, day, max(seq), "
            "argMax(tuple(state, generation, url, rows, checksum, recorded_at), seq) "
            f"FROM {self.table} WHERE {' AND '.join(conditions)} GROUP BY website_id, day",
            parameters=params,
        ).result_rows
        out = {}
        for site, day, seq, (state, generation, url, count, checksum, recorded_at) in rows:
            out[(int(site), day)] = Entry(
                int(site),
                day,
                int(seq),
                State(state),
                int(generation),
                url,
                Fingerprint(int(count), int(checksum)),
                recorded_at,
            )
        return out

    def record(
        self,
        previous: Entry | None,
        website_id: int,
        day: dt.date,
        state: State,
        generation: int,
        url: str,
        fingerprint: Fingerprint,
        note: str = "",
    ) -> Entry:
        """Append the next state of a site-day (one INSERT: atomic)."""
        seq = previous.seq + 1 if previous else 1
        self.client.insert(
            self.table,
            [
                [
                    website_id,
                    day,
                    seq,
                    state.value,
                    generation,
                    url,
                    fingerprint.rows,
                    fingerprint.checksum,
                    note,
                ]
            ],
            column_names=[
                "website_id",
                "day",
                "seq",
                "state",
                "generation",
                "url",
                "rows",
                "checksum",
                "note",
            ],
        )
        return Entry(
            website_id,
            day,
            seq,
            state,
            generation,
            url,
            fingerprint,
            dt.datetime.now(dt.UTC),
        )

    def dropped_counts(self) -> dict[tuple[int, dt.date], int]:
        """How many times each site-day was recorded dropped (history, for checks)."""
        rows = self.client.query(
            f"SELECT website_id, day, countIf(state = 'dropped') FROM {self.table} GROUP BY website_id, day"
        ).result_rows
        return {(int(s), d): int(n) for s, d, n in rows}
