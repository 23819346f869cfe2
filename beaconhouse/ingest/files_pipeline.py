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
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from beaconhouse.config import Settings
from beaconhouse.ingest.batch_landing import LoadQueue, PreparedBatch, prepare_batch
from beaconhouse.ingest.chunk_parser import ChunkParser, ParseContext, ParsedChunk
from beaconhouse.ingest.errors import IngestError
from beaconhouse.ingest.loading import RawLoader
from beaconhouse.ingest.parse_workers import start_loader
from beaconhouse.ingest.sources import SourceFile, list_files

PIPELINE_NAME = "beaconhouse_files"
SOURCE_NAME = "landing_files"
#: stored bytes of files per chunk: a few hundred thousand events
DEFAULT_CHUNK_BYTES = 8 << 20


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


def require_sites(settings: Settings) -> None:
    """Refuse to load with no sites configured: every event would be quarantined."""
    if not settings.sites:
        raise IngestError(
            "no sites are configured ([[sites]] in beaconhouse.toml): every event would be "
            "quarantined as unknown_website"
        )


def default_workers(workers: int | None, groups: int) -> int:
    """How many parse processes a run uses when the caller does not say."""
    if workers is not None:
        return workers
    # One parse worker pays off from two cores and a few chunks (measured on 2 cores:
    # 43k events/s against 30k in-process, docs/ingestion.md); a second one on 2 cores
    # fights the warehouse and the loader for CPU. More cores, more workers.
    cores = os.cpu_count() or 1
    return 0 if cores < 2 or groups < 3 else max(1, min(4, cores - 2))


def select_files(
    settings: Settings,
    url: str,
    loaded: dict[str, Any],
    *,
    reload_changed: bool = False,
    days: Collection[dt.date] | None = None,
) -> tuple[list[SourceFile], FilesPlan]:
    """List ``url`` (only the files of ``days``, if given) and plan them against the
    loaded-files state. A wrong location fails here, before anything connects."""
    files = list_files(url, settings.s3)
    if days is not None:
        wanted = set(days)
        files = [f for f in files if f.day in wanted]
    return files, plan_files(files, loaded, reload_changed)


def prepared_chunks(
    settings: Settings,
    files: list[SourceFile],
    client: Any,
    loading_ids: Callable[[], pa.Array],
    report: IngestReport,
    *,
    default_site: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    workers: int | None = None,
) -> Iterator[tuple[ParsedChunk, PreparedBatch]]:
    """Parse, enrich and dedup ``files`` chunk by chunk, counting into ``report``.

    ``loading_ids`` gives the ids of earlier chunks that are not in the warehouse yet;
    each chunk's dedup treats them as loaded (see :func:`prepare_batch`).
    """
    require_sites(settings)
    groups = list(chunks(files, chunk_bytes))
    parser = ChunkParser(ParseContext(settings, default_site), default_workers(workers, len(groups)))
    phases = report.phase_seconds
    parsed_chunks = parser.parse(groups)
    while True:
        tick = time.monotonic()
        parsed = next(parsed_chunks, None)
        phases["wait_parse"] += time.monotonic() - tick
        if parsed is None:
            return
        for name, seconds in parsed.phase_seconds.items():
            phases[name] += seconds
        tick = time.monotonic()
        batch = prepare_batch(
            client,
            settings.warehouse.raw_database,
            parsed.events,
            parsed.rejections,
            parsed.received_ms,
            source_kind="file",
            cluster=settings.warehouse.cluster,
            loading_ids=loading_ids(),
        )
        phases["dedup"] += time.monotonic() - tick
        report.files_loaded += len(parsed.files)
        report.payloads += parsed.payloads
        report.events_loaded += batch.events.num_rows
        report.duplicates += batch.duplicates.num_rows
        report.quarantined.update(r.reason.value for r in parsed.rejections)
        yield parsed, batch


def loaded_files_state(files: list[SourceFile]) -> dict[str, dict[str, Any]]:
    """What the state records of each loaded file."""
    now = dt.datetime.now(dt.UTC).isoformat()
    return {f.path: {"version": f.version, "size": f.size, "loaded_at": now} for f in files}


def ingest_files(
    settings: Settings,
    url: str,
    *,
    default_site: int | None = None,
    reload_changed: bool = False,
    days: Collection[dt.date] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    pipelines_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Load every new file under ``url`` (of ``days``, if given) into the raw layer.

    Each chunk is one dlt run, loaded on a thread while the next chunk is parsed.
    ``workers`` processes parse chunks (default: see :func:`default_workers`; 0
    parses in this process).
    """
    start_loader("ingest_files")
    started = time.monotonic()
    say = progress or (lambda _message: None)
    report = IngestReport()
    require_sites(settings)
    list_files(url, settings.s3)  # a wrong location fails before anything connects
    loader = RawLoader(
        settings, pipeline_name=PIPELINE_NAME, source_name=SOURCE_NAME, pipelines_dir=pipelines_dir
    )
    files, plan = select_files(
        settings, url, loader.state().get("files", {}), reload_changed=reload_changed, days=days
    )
    report.files_unchanged = len(plan.unchanged)
    report.files_changed = [f.path for f in plan.changed]
    for file in plan.changed:
        say(f"changed after loading: {file.path} ({'reloading' if reload_changed else 'skipped'})")
    say(f"{len(files)} files: {len(plan.new)} to load, {len(plan.unchanged)} already loaded")
    # One load at a time and none waiting: each held batch costs ~100 MB (5M-event runs
    # stay under 1 GB); parsing and dedup of the next chunk still overlap the load.
    loads = LoadQueue(max_waiting=0)
    try:
        for parsed, batch in prepared_chunks(
            settings,
            plan.new,
            loader.client,
            loads.loading_ids,
            report,
            default_site=default_site,
            chunk_bytes=chunk_bytes,
            workers=workers,
        ):
            # Loading waits on the warehouse; meanwhile the next chunk is parsed.
            loads.submit(
                batch.events["event_id"],
                loader.load,
                events=batch.events,
                quarantine=batch.quarantine,
                counters=batch.counters,
                state_updates={"files": loaded_files_state(parsed.files)},
            )
            say(
                f"parsed {len(parsed.files)} files: {batch.events.num_rows} events, "
                f"{batch.duplicates.num_rows} duplicates, {len(parsed.rejections)} quarantined"
            )
            del parsed, batch
        loads.drain()
    finally:
        loads.close()
        report.phase_seconds["load"] += loads.waited
    report.seconds = time.monotonic() - started
    return report
