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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.ingest.batch_landing import LoadQueue, prepare_batch
from beaconhouse.ingest.chunk_parser import ChunkParser, ParseContext
from beaconhouse.ingest.loading import RawLoader
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

    ``workers`` processes parse chunks in parallel (default: one on 2 or 3 cores,
    cores - 2 up to 4 beyond; 0 parses in this process).
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
        # One parse worker pays off from two cores and a few chunks (measured on 2 cores:
        # 43k events/s against 30k in-process, docs/ingestion.md); a second one on 2
        # cores fights the warehouse and the loader for CPU. More cores, more workers.
        cores = os.cpu_count() or 1
        workers = 0 if cores < 2 or len(groups) < 3 else max(1, min(4, cores - 2))
    parser = ChunkParser(ParseContext(settings, default_site), workers)
    phases = report.phase_seconds
    loads = LoadQueue()
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
            tick = time.monotonic()
            batch = prepare_batch(
                loader.client,
                settings.warehouse.raw_database,
                parsed.events,
                parsed.rejections,
                parsed.received_ms,
                source_kind="file",
                cluster=settings.warehouse.cluster,
                loading_ids=loads.loading_ids(),
            )
            phases["dedup"] += time.monotonic() - tick
            files_state = {
                f.path: {
                    "version": f.version,
                    "size": f.size,
                    "loaded_at": dt.datetime.now(dt.UTC).isoformat(),
                }
                for f in parsed.files
            }
            # Loading waits on the warehouse; meanwhile the next chunk is parsed.
            loads.submit(
                batch.events["event_id"],
                loader.load,
                events=batch.events,
                quarantine=batch.quarantine,
                counters=batch.counters,
                state_updates={"files": files_state},
            )
            report.files_loaded += len(parsed.files)
            report.payloads += parsed.payloads
            report.events_loaded += batch.events.num_rows
            report.duplicates += batch.duplicates.num_rows
            report.quarantined.update(r.reason.value for r in parsed.rejections)
            say(
                f"parsed {len(parsed.files)} files: {batch.events.num_rows} events, "
                f"{batch.duplicates.num_rows} duplicates, {len(parsed.rejections)} quarantined"
            )
            del parsed, batch
        loads.drain()
    finally:
        loads.close()
        phases["load"] += loads.waited
    report.seconds = time.monotonic() - started
    return report
