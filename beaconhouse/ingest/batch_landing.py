"""Land one parsed batch in the raw layer: dedup, quarantine rows, counters, one dlt load.

Every loader (files, Kafka) hands over the same thing: an enriched Arrow table of
accepted events, the rejections, and the collector time of the batch. This module
turns that into the three tables dlt loads together with the loader's state:

- ``events``: the batch minus exact duplicates (within the batch, and ids already in
  raw.events);
- ``quarantine``: one row per rejection, with its raw payload, reason and lineage;
- ``counters``: received, loaded, quarantined and duplicate per site and minute.

The caller must let the previous batch land before it prepares the next one: the
warehouse lookup of known ids only sees what has landed, and that is what keeps
dedup exact.
"""

from __future__ import annotations

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
) -> PreparedBatch:
    """Dedup ``events`` exactly and build the quarantine and counter tables."""
    keep = first_occurrences(events)
    first = events.filter(keep)
    seen = ids_already_loaded(client, raw_database, first, cluster)
    fresh = (
        pc.invert(pc.is_in(first["event_id"], value_set=pa.array(sorted(seen), type=pa.string())))
        if seen
        else pa.array(np.ones(first.num_rows, np.bool_))
    )
    loaded = first.filter(fresh)
    duplicates = pa.concat_tables([events.filter(pc.invert(keep)), first.filter(pc.invert(fresh))])
    loaded = loaded.append_column("is_duplicate", pa.array(np.zeros(loaded.num_rows, np.bool_)))
    quarantine = quarantine_table(rejections, received_ms)
    counters = counters_table(events, loaded, duplicates, quarantine, received_ms, source_kind)
    return PreparedBatch(loaded, duplicates, quarantine, counters)


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


def _count_rows(website_ids: pa.Array, times_ms: pa.Array, counter: str) -> pa.Table:
    """One row per counted item: its site, its minute, and a 1 in ``counter``'s column."""
    n = len(website_ids)
    minutes = pc.cast(
        pc.floor_temporal(pc.cast(times_ms, pa.timestamp("ms", tz="UTC")), unit="minute"),
        pa.timestamp("s", tz="UTC"),
    )
    ones, zeros = pa.array(np.ones(n, np.uint64)), pa.array(np.zeros(n, np.uint64))
    columns = {"website_id": pc.cast(website_ids, pa.uint32()), "minute": minutes}
    columns.update({name: ones if name == counter else zeros for name in COUNTERS})
    return pa.table(columns)


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
    q_sites = pc.fill_null(quarantine["website_id"], 0)
    q_times = pa.array(np.full(quarantine.num_rows, received_ms, np.int64))
    rows = pa.concat_tables(
        [
            _count_rows(events["website_id"], pc.cast(events["server_ts"], pa.int64()), "received"),
            _count_rows(q_sites, q_times, "received"),
            _count_rows(loaded["website_id"], pc.cast(loaded["server_ts"], pa.int64()), "loaded"),
            _count_rows(q_sites, q_times, "quarantined"),
            _count_rows(duplicates["website_id"], pc.cast(duplicates["server_ts"], pa.int64()), "duplicate"),
        ]
    )
    summed = rows.group_by(["website_id", "minute"]).aggregate([(name, "sum") for name in COUNTERS])
    summed = summed.rename_columns(["website_id", "minute", *COUNTERS])
    kinds = pa.array([source_kind] * summed.num_rows, type=pa.string())
    result = summed.append_column("source_kind", kinds)
    return result.select(["website_id", "minute", "source_kind", *COUNTERS])
