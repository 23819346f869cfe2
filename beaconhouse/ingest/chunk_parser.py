"""Turn a chunk of input files into an enriched Arrow table and its rejections.

This is the CPU-bound part of file ingestion: decode and validate every payload,
build columns, enrich them. It runs in the loader's process for small inputs, and in
worker processes (:class:`ChunkParser` with ``workers`` ≥ 1) for large ones, so that
both cores parse while the loader dedupes and loads. Chunks come back in order.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

import pyarrow as pa

from beaconhouse.config import Settings
from beaconhouse.ingest.enrichment import Enricher
from beaconhouse.ingest.events_builder import EventBatch, SiteKeys, TimeRules
from beaconhouse.ingest.file_reader import prefetched, read_into
from beaconhouse.ingest.parse_workers import loader_pid, parse_pool, worker_result
from beaconhouse.ingest.quarantine import Rejection
from beaconhouse.ingest.sources import SourceFile
from beaconhouse.ingest.spool import spooled, unspooled


@dataclass(frozen=True)
class ParseContext:
    """Everything a (possibly separate) process needs to parse chunks."""

    settings: Settings
    default_site: int | None = None


@dataclass
class ParsedChunk:
    files: list[SourceFile]
    events: pa.Table
    rejections: list[Rejection]
    payloads: int
    received_ms: int
    phase_seconds: dict[str, float] = field(default_factory=dict)


_ENRICHERS: dict[int, Enricher] = {}


def _enricher(settings: Settings) -> Enricher:
    # One per process and configuration: its caches pay off across chunks.
    key = hash(settings.model_dump_json())
    if key not in _ENRICHERS:
        _ENRICHERS[key] = Enricher(settings)
    return _ENRICHERS[key]


def new_event_batch(settings: Settings) -> EventBatch:
    """An empty batch that checks payloads against the configured sites and time rules.

    Every loader (files, Kafka) starts its batches here, so they validate alike.
    """
    sites = settings.sites
    site_keys = SiteKeys(
        {s.tracking_id: s.website_id for s in sites}, {s.website_id: s.tracking_id for s in sites}
    )
    time_rules = TimeRules(
        max_future_ms=int(settings.ingest.max_future_skew_hours * 3_600_000),
        max_age_ms=int(settings.ingest.max_event_age_days * 86_400_000),
    )
    return EventBatch(site_keys, time_rules)


def enrich_events(settings: Settings, events: pa.Table) -> pa.Table:
    """``events`` (from :meth:`EventBatch.to_arrow`) with every enrichment column."""
    return _enricher(settings).enrich(events)


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while payloads are decoded.

    The payload loop allocates millions of short-lived objects and no cycles; the
    cyclic collector would only slow it down.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc_was_enabled:
            gc.enable()


def parse_chunk(files: list[SourceFile], context: ParseContext) -> ParsedChunk:
    """Read, validate, build and enrich one chunk of files."""
    settings = context.settings
    sites = settings.sites
    by_domain = {s.domain.lower(): s.website_id for s in sites}
    domain_of = {s.website_id: s.domain for s in sites}
    phases = {"read": 0.0, "parse": 0.0, "enrich": 0.0}
    cpu_started = time.process_time()
    received_ms = int(time.time() * 1000)
    batch = new_event_batch(settings)
    with cyclic_gc_paused():
        contents = prefetched(files, settings.s3)
        while True:
            tick = time.monotonic()
            item = next(contents, None)
            phases["read"] += time.monotonic() - tick
            if item is None:
                break
            file, data = item
            tick = time.monotonic()
            read_into(batch, file, data, received_ms, by_domain, domain_of, context.default_site)
            del data, item
            phases["parse"] += time.monotonic() - tick
        tick = time.monotonic()
        events = batch.to_arrow()
        phases["parse"] += time.monotonic() - tick
    tick = time.monotonic()
    events = enrich_events(settings, events)
    phases["enrich"] += time.monotonic() - tick
    # CPU seconds of the whole process while it parsed (prefetch threads included): on a
    # busy machine a better guide than the phases' wall-clock seconds.
    phases["parse_cpu"] = time.process_time() - cpu_started
    return ParsedChunk(files, events, batch.rejections, batch.payloads, received_ms, phases)


def parse_chunk_to_file(files: list[SourceFile], context: ParseContext) -> ParsedChunk:
    """:func:`parse_chunk` in a worker process: the events go back as a spooled file."""
    parsed = parse_chunk(files, context)
    parsed.events = spooled(parsed.events, loader_pid=loader_pid())
    return parsed


def _mapped(parsed: ParsedChunk) -> ParsedChunk:
    parsed.events = unspooled(parsed.events)
    return parsed


class ChunkParser:
    """Parses chunks in order: here, or in ``workers`` processes, a few chunks ahead."""

    def __init__(self, context: ParseContext, workers: int = 0) -> None:
        self.context = context
        self.workers = workers

    def parse(self, groups: Iterable[list[SourceFile]]) -> Iterator[ParsedChunk]:
        if self.workers <= 0:
            for group in groups:
                yield parse_chunk(group, self.context)
            return
        with parse_pool(self.workers) as pool:
            pending: deque[Future[ParsedChunk]] = deque()
            queue = iter(groups)
            # One chunk per worker in flight, plus one: a worker never idles while the
            # loader dedupes, and parsed chunks waiting in shared memory stay few.
            for group in itertools.islice(queue, self.workers + 1):
                pending.append(pool.submit(parse_chunk_to_file, group, self.context))
            try:
                while pending:
                    parsed = _mapped(worker_result(pending.popleft(), "file", "ingest_files"))
                    following = next(queue, None)
                    if following is not None:
                        pending.append(pool.submit(parse_chunk_to_file, following, self.context))
                    yield parsed
            finally:
                # A run that stops early leaves no spooled chunks behind.
                for future in pending:
                    with contextlib.suppress(Exception):
                        _mapped(future.result())
