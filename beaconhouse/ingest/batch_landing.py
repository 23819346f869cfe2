"""Land one parsed batch in the raw layer: dedup, quarantine rows, counters, one dlt load.

Every loader (files, Kafka) hands over the same thing: an enriched Arrow table of
accepted events, the rejections, and the collector time of the batch. This module
turns that into the three tables dlt loads together with the loader's state:

- ``events``: the batch minus exact duplicates (within the batch, and ids already in
  raw.events);
- ``quarantine``: one row per rejection, with its raw payload, reason and lineage;
- ``counters``: received, loaded, quarantined and duplicate per site and minute.

Dedup is exact across batches that are still loading too: :class:`LoadQueue` runs the
loads one after another on a thread and hands out the ids of those not landed yet,
and :func:`prepare_batch` treats them as loaded. So parsing and deduping the next
batch never wait for the warehouse.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.ingest.dedup import first_occurrences, ids_already_loaded
from beaconhouse.ingest.events_builder import LINEAGE_FIELDS
from beaconhouse.ingest.quarantine import Rejection

QUARANTINE_SCHEMA = pa.schema(
    [
        ("received_at", pa.timestamp("ms", tz="UTC")),
        ("website_id", pa.uint32()),
        ("event_id", pa.string()),
        ("reason", pa.string()),
        ("reason_detail", pa.string()),
        ("raw_payload", pa.binary()),
        *LINEAGE_FIELDS,
    ]
)
COUNTERS = ("received", "loaded", "quarantined", "duplicate")


@dataclass
class PreparedBatch:
    """The tables of one load, and what they count."""

    events: pa.Table
    duplicates: pa.Table
    quarantine: pa.Table
    counters: pa.Table


def prepare_batch(
    client: Any,
    raw_database: str,
    events: pa.Table,
    rejections: list[Rejection],
    received_ms: int,
    source_kind: str,
    cluster: str | None = None,
    loading_ids: pa.Array | None = None,
) -> PreparedBatch:
    """Dedup ``events`` exactly and build the quarantine and counter tables.

    ``loading_ids`` are the ids of batches on their way into the warehouse: take them
    from :meth:`LoadQueue.loading_ids` *before* calling, so that a batch landing
    meanwhile is either in them or already visible to the warehouse lookup.
    """
    ids = events["event_id"]
    keep = first_occurrences(ids)
    if loading_ids is not None and len(loading_ids):
        loading = pc.is_in(ids, value_set=loading_ids)
        keep &= ~np.asarray(loading.to_numpy(zero_copy_only=False), dtype=bool)
    candidates = pa.array(keep)
    seen = ids_already_loaded(
        client, raw_database, ids.filter(candidates), events["client_ts"].filter(candidates), cluster
    )
    if seen:
        known = pc.is_in(ids, value_set=pa.array(sorted(seen), type=pa.string()))
        keep &= ~np.asarray(known.to_numpy(zero_copy_only=False), dtype=bool)
    # Filtering copies every column: skip it when nothing is dropped, the usual case.
    loaded = events if keep.all() else events.filter(pa.array(keep))
    duplicates = events.select(["website_id", "server_ts"]).filter(pa.array(~keep))
    loaded = loaded.append_column("is_duplicate", pa.array(np.zeros(loaded.num_rows, np.bool_)))
    quarantine = quarantine_table(rejections, received_ms)
    counters = counters_table(events, loaded, duplicates, quarantine, received_ms, source_kind)
    return PreparedBatch(loaded, duplicates, quarantine, counters)


class LoadQueue:
    """Runs loads one after another on a thread; knows the ids still on their way.

    ``submit`` blocks while ``max_waiting`` loads wait behind the running one, which
    bounds the batches held in memory. A failed load raises from the next call.
    """

    def __init__(self, max_waiting: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-load")
        self._loads: deque[tuple[Future[Any], pa.Array]] = deque()
        self._max_waiting = max_waiting
        #: seconds spent blocked on loads
        self.waited = 0.0

    def _collect(self) -> None:
        while self._loads and self._loads[0][0].done():
            future, _ = self._loads.popleft()
            future.result()  # a failure surfaces here

    def loading_ids(self) -> pa.Array:
        """The event ids of every load submitted and not finished yet."""
        self._collect()
        ids = [chunk for _, loading in self._loads for chunk in loading.chunks]
        return pa.chunked_array(ids, type=pa.string()).combine_chunks() if ids else pa.array([], pa.string())

    def submit(self, event_ids: pa.ChunkedArray, load: Callable[..., Any], **arguments: Any) -> None:
        """Queue ``load(**arguments)``, landing ``event_ids``."""
        self._collect()
        tick = time.monotonic()
        while len(self._loads) > self._max_waiting:
            self._loads[0][0].result()
            self._collect()
        self.waited += time.monotonic() - tick
        ids = event_ids if isinstance(event_ids, pa.ChunkedArray) else pa.chunked_array([event_ids])
        self._loads.append((self._pool.submit(load, **arguments), ids))

    def drain(self) -> None:
        """Wait for every load; raise the first failure."""
        tick = time.monotonic()
        try:
            while self._loads:
                self._loads.popleft()[0].result()
        finally:
            self.waited += time.monotonic() - tick

    def close(self) -> None:
        """Stop taking loads; a load already running finishes."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def quarantine_table(rows: list[Rejection], received_ms: int) -> pa.Table:
    """raw.events_quarantine rows for ``rows``, received at ``received_ms``."""
    lineages = [r.lineage for r in rows]
    kafka = [lin.source_kind == "kafka" for lin in lineages]
    columns = {
        "received_at": [received_ms] * len(rows),
        "website_id": [r.website_id for r in rows],
        "event_id": [r.event_id for r in rows],
        "reason": [r.reason.value for r in rows],
        "reason_detail": [r.detail for r in rows],
        "raw_payload": [r.raw_payload for r in rows],
        "source_kind": [lin.source_kind for lin in lineages],
        "kafka_topic": [lin.kafka_topic for lin in lineages],
        "kafka_partition": [lin.kafka_partition for lin in lineages],
        "kafka_offset": [r.source_line if k else None for r, k in zip(rows, kafka, strict=True)],
        "source_file": [lin.source_file for lin in lineages],
        "source_line": [None if k else r.source_line for r, k in zip(rows, kafka, strict=True)],
    }
    return pa.table(
        [pa.array(columns[f.name], type=f.type) for f in QUARANTINE_SCHEMA], schema=QUARANTINE_SCHEMA
    )


def counters_table(
    events: pa.Table,
    loaded: pa.Table,
    duplicates: pa.Table,
    quarantine: pa.Table,
    received_ms: int,
    source_kind: str,
) -> pa.Table:
    """Per site and minute: received, loaded, quarantined, duplicate.

    Events count at the minute the collector received them; rejections, whose time
    may be unknown, at the minute they were loaded. Rejections of unknown sites count
    under website_id 0. ``received`` is every event and every rejection.
    """

    def keyed(sites: Any, times_ms: Any) -> np.ndarray:
        site = np.asarray(pc.fill_null(sites, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        minute = np.asarray(times_ms, dtype=np.int64) // 60_000
        return (site << 32) | minute  # minutes since 1970 fit in 32 bits until the year 10136

    def server_ms(table: pa.Table) -> np.ndarray:
        return np.asarray(table["server_ts"].cast(pa.int64()).to_numpy(zero_copy_only=False))

    rejected = keyed(quarantine["website_id"], np.full(quarantine.num_rows, received_ms))
    parts = {
        "received": np.concatenate([keyed(events["website_id"], server_ms(events)), rejected]),
        "loaded": keyed(loaded["website_id"], server_ms(loaded)),
        "quarantined": rejected,
        "duplicate": keyed(duplicates["website_id"], server_ms(duplicates)),
    }
    keys = np.unique(np.concatenate(list(parts.values())))
    counts = {
        name: np.bincount(np.searchsorted(keys, part), minlength=len(keys)).astype(np.uint64)
        for name, part in parts.items()
    }
    return pa.table(
        {
            "website_id": pa.array((keys >> 32).astype(np.uint32)),
            "minute": pa.array((keys & 0xFFFFFFFF) * 60, type=pa.int64()).cast(pa.timestamp("s", tz="UTC")),
            "source_kind": pa.array([source_kind] * len(keys), type=pa.string()),
            **{name: pa.array(counts[name]) for name in COUNTERS},
        }
    )
