"""Exact deduplication on ``event_id``: a redelivered event is one event downstream.

Two steps per batch: keep the first occurrence of each id within the batch, then drop
ids the warehouse already holds. The second step asks ClickHouse which of the batch's
ids exist on the batch's days (the table is partitioned by day, so it reads only those
partitions), through a session temporary table rather than a giant IN list.
ReplacingMergeTree on raw.events stays as the safety net behind it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def first_occurrences(table: pa.Table, key: str = "event_id") -> pa.Array:
    """A boolean mask that keeps the first row of each ``key``."""
    n = table.num_rows
    if n == 0:
        return pa.array([], type=pa.bool_())
    indexed = pa.table({key: table[key], "_row": pa.array(np.arange(n, dtype=np.int64))})
    firsts = indexed.group_by(key, use_threads=False).aggregate([("_row", "min")])["_row_min"]
    mask = np.zeros(n, dtype=bool)
    mask[firsts.to_numpy()] = True
    return pa.array(mask)


def ids_already_loaded(client: Any, raw_db: str, table: pa.Table, cluster: str | None = None) -> set[str]:
    """The ``event_id`` values of ``table`` that ``raw_db.events`` already holds.

    On a cluster ``raw_db.events`` is Distributed: ``GLOBAL IN`` ships the session's
    id table to every shard once.
    """
    if table.num_rows == 0:
        return set()
    days = pc.unique(pc.cast(pc.cast(table["client_ts"], pa.timestamp("ms", tz="UTC")), pa.date32()))
    client.command("CREATE TEMPORARY TABLE IF NOT EXISTS incoming_event_ids (event_id UUID) ENGINE = Memory")
    client.command("TRUNCATE TABLE incoming_event_ids")
    client.insert_arrow("incoming_event_ids", pa.table({"event_id": pc.unique(table["event_id"])}))
    result = client.query(
        f"SELECT DISTINCT toString(event_id) FROM `{raw_db}`.events "
        "WHERE toDate(client_ts) IN {days:Array(Date)} "
        f"AND event_id {'GLOBAL IN' if cluster else 'IN'} (SELECT event_id FROM incoming_event_ids)",
        parameters={"days": days.to_pylist()},
    )
    return {row[0] for row in result.result_rows}
