"""The landing files as one dlt source: a whole load (say, one day's files) in one dlt run.

``beaconhouse ingest files`` loads chunk by chunk, one dlt run each, so that loading
overlaps parsing. An orchestrator wants something else: one run per partition, whose
load package commits every chunk and the files' state together, and which
dagster-dlt can drive and report on (``orchestration/defs/ingestion``).

Both share the parsing, enrichment and dedup of :func:`prepared_chunks` and the
source state, under the same pipeline and source names: a file loaded one way is
known as loaded the other way.

Dedup stays exact inside the one run: every chunk's ids count as loaded for the
chunks after it, as they reach the warehouse only when the run loads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any

import dlt
import pyarrow as pa

from beaconhouse.config import Settings
from beaconhouse.ingest.files_pipeline import (
    SOURCE_NAME,
    IngestReport,
    loaded_files_state,
    prepared_chunks,
    require_sites,
    select_files,
)
from beaconhouse.ingest.loading import BATCH_ID_TABLES, TABLES, with_load_id

#: the dlt resource that writes raw.events, raw.events_quarantine and raw.ingest_counters
RESOURCE_NAME = "raw_layer"


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def landing_files_source(
    settings: Settings,
    url: str,
    days: Collection[dt.date] | None = None,
    default_site: int | None = None,
    reload_changed: bool = False,
    workers: int | None = None,
    report: IngestReport | None = None,
) -> Any:
    """The new files under ``url`` (of ``days``, if given) as one load of the raw layer.

    ``report``, when given, is filled in as the run extracts: files, events,
    duplicates and quarantine reasons.
    """
    counts = report if report is not None else IngestReport()

    @dlt.resource(name=RESOURCE_NAME, write_disposition="append")
    def raw_layer() -> Iterator[Any]:
        from beaconhouse.warehouse.client import connect

        require_sites(settings)
        state = dlt.current.source_state()
        _, plan = select_files(
            settings, url, state.get("files", {}), reload_changed=reload_changed, days=days
        )
        counts.files_unchanged = len(plan.unchanged)
        counts.files_changed = [f.path for f in plan.changed]
        extracted: list[pa.Array] = []

        def loading_ids() -> pa.Array:
            if not extracted:
                return pa.array([], type=pa.string())
            return pa.chunked_array(extracted, type=pa.string()).combine_chunks()

        client = connect(settings.warehouse)
        for parsed, batch in prepared_chunks(
            settings, plan.new, client, loading_ids, counts, default_site=default_site, workers=workers
        ):
            tables = {"events": batch.events, "quarantine": batch.quarantine, "counters": batch.counters}
            for kind, table in tables.items():
                if table.num_rows:
                    rows = with_load_id(table) if kind in BATCH_ID_TABLES else table
                    yield dlt.mark.with_table_name(rows, TABLES[kind])
            # Committed with the load package, and only with it.
            state.setdefault("files", {}).update(loaded_files_state(parsed.files))
            extracted.extend(batch.events["event_id"].chunks)

    return raw_layer
