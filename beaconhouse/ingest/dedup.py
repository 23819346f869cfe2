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


def first_occurrences(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean mask that keeps the first row of each key."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=bool)
    flat = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    codes = pc.dictionary_encode(flat).indices
    # The dictionary lists keys in order of first appearance, so each code's first
    # row is where that code first occurs.
    _, firsts = np.unique(codes.to_numpy(zero_copy_only=False), return_index=True)
    mask = np.zeros(n, dtype=bool)
    mask[firsts] = True
    return mask


def ids_already_loaded(
    client: Any, raw_db: str, event_ids: pa.Array, client_ts: pa.Array, cluster: str | None = None
) -> set[str]:
    """The ids among ``event_ids`` that ``raw_db.events`` already holds.

    Only the partitions of the events' days (``client_ts``) are read. On a cluster
    ``raw_db.events`` is Distributed: ``GLOBAL IN`` ships the session's id table to
    every shard once.

    The caller passes distinct ids (a batch's first occurrences), and they are sent
    as they are: hashing them again to drop repeats took 0.07-0.12 µs an id (100,000
    ids). A repeat would only lengthen the uploaded id table.
    """
    if len(event_ids) == 0:
        return set()
    days = pc.unique(pc.cast(pc.cast(client_ts, pa.timestamp("ms", tz="UTC")), pa.date32()))
    client.command("CREATE TEMPORARY TABLE IF NOT EXISTS incoming_event_ids (event_id UUID) ENGINE = Memory")
    client.command("TRUNCATE TABLE incoming_event_ids")
    client.insert_arrow("incoming_event_ids", pa.table({"event_id": event_ids}))
    result = client.query(
        f"SELECT DISTINCT toString(event_id) FROM `{raw_db}`.events "
        "WHERE toDate(client_ts) IN {days:Array(Date)} "
        f"AND event_id {'GLOBAL IN' if cluster else 'IN'} (SELECT event_id FROM incoming_event_ids)",
        parameters={"days": days.to_pylist()},
    )
    return {row[0] for row in result.result_rows}
