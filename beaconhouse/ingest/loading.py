"""Land Arrow batches in the raw layer with dlt, over HTTP, with their state.

One dlt pipeline per loader (files, Kafka). Each :meth:`RawLoader.load` is one dlt run:
the events, quarantine and counter batches and the source state that records what was
consumed go into one load package, so the state never claims data that did not land.
Tables are the pre-existing ``raw.events``, ``raw.events_quarantine`` and
``raw.ingest_counters`` (created by ``beaconhouse warehouse migrate``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa

from beaconhouse.config import Settings

TABLES = {"events": "events", "quarantine": "events_quarantine", "counters": "ingest_counters"}
#: the batches whose rows carry ``ingest_batch_id`` (all: a Kafka batch that never
#: committed is removed by it, counters included; docs/kafka.md)
BATCH_ID_TABLES = frozenset({"events", "quarantine", "counters"})


def with_load_id(table: pa.Table) -> pa.Table:
    """``table`` with ``ingest_batch_id``: the id of the dlt load that is extracting it,
    which joins every row to raw._dlt_loads. Call it inside a dlt resource."""
    import dlt

    load_id = dlt.current.load_package_state()["load_id"]
    return table.append_column("ingest_batch_id", pa.array([load_id] * table.num_rows, type=pa.string()))


def raw_destination(settings: Settings) -> Any:
    """The dlt destination of the raw layer: HTTP only, migrated tables frozen."""
    from beaconhouse.ingest.dlt_clickhouse_http import clickhouse_http

    warehouse = settings.warehouse
    return clickhouse_http(
        warehouse.url,
        warehouse.user,
        warehouse.password,
        database=warehouse.raw_database,
        # dlt may insert into the migrated tables, never create or alter them.
        frozen_tables=tuple(TABLES.values()),
        # The loader has already dropped duplicates exactly, so ReplacingMergeTree's
        # collapsing of each inserted block would find nothing; it cost about a
        # third of every raw.events insert (measured, docs/ingestion.md).
        insert_settings={"optimize_on_insert": 0},
        # Parquet is only the loaders' wire format here: without snappy a 100,000-row
        # events file took about 0.25 µs less a row to write (docs/dlt-clickhouse-http.md).
        parquet_compression=warehouse.load_file_compression,
    )


def raw_pipeline(settings: Settings, pipeline_name: str, pipelines_dir: Path | None = None) -> Any:
    """A dlt pipeline into the raw layer (see :func:`raw_destination`)."""
    import dlt

    options: dict[str, Any] = {"pipelines_dir": str(pipelines_dir)} if pipelines_dir is not None else {}
    return dlt.pipeline(pipeline_name=pipeline_name, destination=raw_destination(settings), **options)


class RawLoader:
    """A dlt pipeline into the raw database, plus a SQL client for dedup lookups."""

    def __init__(
        self, settings: Settings, pipeline_name: str, source_name: str, pipelines_dir: Path | None = None
    ) -> None:
        # dlt's load step names the destination through SQLAlchemy's URL, importing
        # sqlalchemy in the first load (0.08 s of CPU alone; 0.7 s of that load's time
        # on the busy cores of the Kafka bench). Import it with the rest of start-up.
        import dlt.common.libs.sql_alchemy_compat  # noqa: F401

        from beaconhouse.warehouse.client import connect

        self.source_name = source_name
        self.pipeline = raw_pipeline(settings, pipeline_name, pipelines_dir)
        self.client = connect(settings.warehouse)
        self._synced = False
        #: runs each dlt run on a call stack of its own (see :meth:`load`)
        self._dlt_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-dlt-run")

    def state(self) -> dict[str, Any]:
        """This loader's source state, restored from the warehouse if not local."""
        if not self._synced:
            self.pipeline.sync_destination()
            self._synced = True
        sources: dict[str, Any] = self.pipeline.state.get("sources", {})
        state: dict[str, Any] = sources.get(self.source_name, {})
        return state

    def load(
        self,
        events: pa.Table,
        quarantine: pa.Table,
        counters: pa.Table,
        state_updates: dict[str, dict[str, Any]],
        before_load: Callable[[str], None] | None = None,
    ) -> Any:
        """Load the three batches and merge ``state_updates`` into the source state.

        ``before_load(load_id)`` runs once the load package exists and before any of
        its rows is sent: the Kafka loader records there which batch is on its way.
        """
        import dlt

        # A dlt run leaves reference cycles behind (caught configuration exceptions,
        # whose tracebacks hold frames, which hold their callers' frames). Until the
        # cyclic collector finds them, every frame up the run's call stack lives on,
        # with whatever its locals hold. So the run goes on a thread of its own, whose
        # stack holds no table, and the tables reach it through this dict alone,
        # emptied when the run is over (docs/dlt-clickhouse-http.md: in a 5M-event
        # file ingest such garbage held up to 0.5 GB between collections).
        batches = {"events": events, "quarantine": quarantine, "counters": counters}
        del events, quarantine, counters

        def resource(kind: str) -> Any:
            @dlt.resource(name=TABLES[kind], table_name=TABLES[kind], write_disposition="append")
            def batch() -> Any:
                if kind == "events":
                    # State written during extraction is committed with this load.
                    state = dlt.current.source_state()
                    for key, values in state_updates.items():
                        state.setdefault(key, {}).update(values)
                table = batches[kind]
                if not table.num_rows:
                    return
                yield with_load_id(table) if kind in BATCH_ID_TABLES else table

            return batch

        @dlt.source(name=self.source_name, max_table_nesting=0)
        def landing() -> Any:
            return [resource(kind) for kind in batches]

        def run() -> Any:
            if before_load is None:
                return self.pipeline.run(landing())
            # run() in its steps, so that the load id is known before the load starts.
            extracted = self.pipeline.extract(landing())
            self.pipeline.normalize()
            for load_id in extracted.loads_ids:
                before_load(load_id)
            return self.pipeline.load()

        try:
            info = self._dlt_thread.submit(run).result()
        finally:
            batches.clear()
        info.raise_on_failed_jobs()
        return info
