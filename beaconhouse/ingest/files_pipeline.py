"""``beaconhouse ingest files URL``: landing files → raw.events, through dlt over HTTP.

For each chunk of new files (a few hundred thousand events):

1. read every payload into columns, quarantining what breaks the contract;
2. enrich the columns (each distinct user agent, referrer and IP once);
3. drop duplicates exactly: repeats within the chunk, and ids already in raw.events;
4. load events, quarantine rows and per-minute counters in one dlt run, together with
   the state that marks the chunk's files as loaded.

A file is known by its path and version (ETag, or mtime and size). A rerun skips
loaded files; a loaded file whose version changed is reported, and reloaded only when
asked (its events then dedupe against what is already loaded).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.config import Settings
from beaconhouse.ingest.chunk_parser import ChunkParser, ParseContext
from beaconhouse.ingest.dedup import first_occurrences, ids_already_loaded
from beaconhouse.ingest.events_builder import LINEAGE_FIELDS
from beaconhouse.ingest.loading import RawLoader
from beaconhouse.ingest.quarantine import Rejection
from beaconhouse.ingest.sources import SourceFile, list_files

SOURCE_NAME = "landing_files"


@dataclass
class FilesPlan:
    """Which files a run loads, skips, or reports as changed."""

    new: list[SourceFile] = field(default_factory=list)
    unchanged: list[SourceFile] = field(default_factory=list)
    changed: list[SourceFile] = field(default_factory=list)


@dataclass
class IngestReport:
    """What a run did, for the CLI, Dagster metadata and tests."""

    files_loaded: int = 0
    files_unchanged: int = 0
    files_changed: list[str] = field(default_factory=list)
    payloads: int = 0
    events_loaded: int = 0
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    #: seconds spent per phase: read, parse, enrich, dedup, load
    phase_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


def plan_files(files: list[SourceFile], loaded: dict[str, Any], reload_changed: bool) -> FilesPlan:
    """Sort listed files by what the state says about them."""
    plan = FilesPlan()
    for file in files:
        seen = loaded.get(file.path)
        if seen is None:
            plan.new.append(file)
        elif seen.get("version") == file.version:
            plan.unchanged.append(file)
        else:
            plan.changed.append(file)
            if reload_changed:
                plan.new.append(file)
    return plan


def chunks(files: list[SourceFile], max_bytes: int) -> Iterator[list[SourceFile]]:
    """Groups of files of at most ``max_bytes`` (stored size) each, in path order."""
    group: list[SourceFile] = []
    size = 0
    for file in files:
        if group and size + file.size > max_bytes:
            yield group
            group, size = [], 0
        group.append(file)
        size += file.size
    if group:
        yield group


def ingest_files(
    settings: Settings,
    url: str,
    *,
    default_site: int | None = None,
    reload_changed: bool = False,
    chunk_bytes: int = 8 << 20,
    pipelines_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Load every new file under ``url`` into the raw layer.

    ``workers`` processes parse chunks in parallel (default: none on machines with
    fewer than 4 cores; 0 parses in this process).
    """
    started = time.monotonic()
    say = progress or (lambda _message: None)
    if not settings.sites:
        from beaconhouse.ingest.errors import IngestError

        raise IngestError(
            "no sites are configured ([[sites]] in beaconhouse.toml): every event would be "
            "quarantined as unknown_website"
        )
    report = IngestReport()
    files = list_files(url, settings.s3)  # a wrong location fails before anything connects
    loader = RawLoader(
        settings, pipeline_name="beaconhouse_files", source_name=SOURCE_NAME, pipelines_dir=pipelines_dir
    )
    plan = plan_files(files, loader.state().get("files", {}), reload_changed)
    report.files_unchanged = len(plan.unchanged)
    report.files_changed = [f.path for f in plan.changed]
    for file in plan.changed:
        say(f"changed after loading: {file.path} ({'reloading' if reload_changed else 'skipped'})")
    say(f"{len(files)} files: {len(plan.new)} to load, {len(plan.unchanged)} already loaded")

    groups = list(chunks(plan.new, chunk_bytes))
    if workers is None:
        # Measured on 2 cores: workers gain nothing while the warehouse needs a core
        # too, and they hold more chunks in memory. With 4 or more cores, and several
        # chunks to amortise their start, they parse in parallel.
        cores = os.cpu_count() or 1
        workers = min(4, cores - 2) if cores >= 4 and len(groups) > 2 else 0
    parser = ChunkParser(ParseContext(settings, default_site), workers)
    phases = report.phase_seconds
    load_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlt-load")
    in_flight: Future[Any] | None = None
    try:
        parsed_chunks = parser.parse(groups)
        while True:
            tick = time.monotonic()
            parsed = next(parsed_chunks, None)
            phases["wait_parse"] += time.monotonic() - tick
            if parsed is None:
                break
            for name, seconds in parsed.phase_seconds.items():
                phases[name] += seconds
            events = parsed.events
            tick = time.monotonic()
            # The previous chunk must have landed before this one asks the warehouse
            # which of its ids exist: that is what keeps dedup exact.
            if in_flight is not None:
                in_flight.result()
                in_flight = None
            phases["load"] += time.monotonic() - tick
            tick = time.monotonic()
            keep = first_occurrences(events)
            first = events.filter(keep)
            seen = ids_already_loaded(
                loader.client, settings.warehouse.raw_database, first, settings.warehouse.cluster
            )
            fresh = (
                pc.invert(pc.is_in(first["event_id"], value_set=pa.array(sorted(seen), type=pa.string())))
                if seen
                else pa.array([True] * first.num_rows)
            )
            loaded = first.filter(fresh)
            duplicates = pa.concat_tables([events.filter(pc.invert(keep)), first.filter(pc.invert(fresh))])
            phases["dedup"] += time.monotonic() - tick
            loaded = loaded.append_column("is_duplicate", pa.array(np.zeros(loaded.num_rows, np.bool_)))
            quarantine = _quarantine_table(parsed.rejections, parsed.received_ms)
            counters = _counters_table(events, loaded, duplicates, quarantine, parsed.received_ms)
            files_state = {
                f.path: {
                    "version": f.version,
                    "size": f.size,
                    "loaded_at": dt.datetime.now(dt.UTC).isoformat(),
                }
                for f in parsed.files
            }
            # Loading waits on the warehouse; meanwhile the next chunk is parsed.
            in_flight = load_pool.submit(
                loader.load,
                events=loaded,
                quarantine=quarantine,
                counters=counters,
                state_updates={"files": files_state},
            )
            report.files_loaded += len(parsed.files)
            report.payloads += parsed.payloads
            report.events_loaded += loaded.num_rows
            report.duplicates += duplicates.num_rows
            report.quarantined.update(r.reason.value for r in parsed.rejections)
            say(
                f"loaded {len(parsed.files)} files: {loaded.num_rows} events, "
                f"{duplicates.num_rows} duplicates, {len(parsed.rejections)} quarantined"
            )
            del parsed, events, first, loaded, duplicates, quarantine, counters
        if in_flight is not None:
            tick = time.monotonic()
            in_flight.result()
            phases["load"] += time.monotonic() - tick
    finally:
        load_pool.shutdown(wait=True)
    report.seconds = time.monotonic() - started
    return report


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


def _quarantine_table(rows: list[Rejection], received_ms: int) -> pa.Table:
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


COUNTERS = ("received", "loaded", "quarantined", "duplicate")


def _counters_table(
    events: pa.Table, loaded: pa.Table, duplicates: pa.Table, quarantine: pa.Table, received_ms: int
) -> pa.Table:
    """Per site and minute: received, loaded, quarantined, duplicate.

    Events count at the minute the collector received them; rejections, whose time
    may be unknown, at the minute they were loaded. Rejections of unknown sites count
    under website_id 0. ``received`` is every event and every rejection.
    """
    q_sites = pc.fill_null(quarantine["website_id"], 0)
    q_times = pa.array([received_ms] * quarantine.num_rows, type=pa.int64())
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
    result = summed.append_column("source_kind", pa.array(["file"] * summed.num_rows, type=pa.string()))
    return result.select(["website_id", "minute", "source_kind", *COUNTERS])
