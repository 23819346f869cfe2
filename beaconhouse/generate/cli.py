"""``beaconhouse generate``: deterministic synthetic web traffic, with its ground truth.

:func:`run` simulates every site day by day, encodes the events into payloads,
delivers each UTC hour's payloads once nothing more can arrive for that hour, feeds
them through the truth (:mod:`.truth`), and writes the truth folder at the end.
Memory stays bounded by a few days of traffic, whatever ``days`` is.

The same options (seed included) give byte-identical files and truth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beaconhouse.arguments import bounded_int, positive_float
from beaconhouse.config import Settings
from beaconhouse.generate.ips import IpPool
from beaconhouse.generate.layout import (
    HOUR_MS,
    FolderTarget,
    KafkaTarget,
    file_path,
    hour_start,
    parse_target,
)
from beaconhouse.generate.payloads import DeliveryShares, PayloadEncoder
from beaconhouse.generate.ratelimit import TokenBucket
from beaconhouse.generate.records import Payload
from beaconhouse.generate.simulate import DaySimulator, local_midnight_utc_ms
from beaconhouse.generate.sites import build_profiles, choose_sites
from beaconhouse.generate.truth import TruthBuilder
from beaconhouse.generate.truth_files import write_truth
from beaconhouse.generate.writers import HourFile, open_sink

log = logging.getLogger(__name__)

#: a fixed default, so runs without --start are reproducible; its week has the
#: European end of summer time (25 Oct 2026, a 25-hour day in Berlin)
DEFAULT_START = dt.date(2026, 10, 19)
#: daily visitors per site: 3 sites x 7 days give about 250k events
DEFAULT_VISITORS = 2000
DEFAULT_TRUTH_DIR = Path(".beaconhouse/truth")
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class GenerateOptions:
    """What to generate and where to (the ``beaconhouse generate`` flags)."""

    #: ``--to``: a folder, ``s3://bucket/prefix`` or ``kafka://host:port/topic``
    to: str
    #: ``--sites``: how many sites (the config's first N, else demo sites)
    sites: int = 3
    #: ``--start``: the first site-local day
    start: dt.date = DEFAULT_START
    #: ``--days``: how many days
    days: int = 7
    #: ``--seed``: the same seed gives the same bytes
    seed: int = 42
    #: ``--visitors``: mean daily visitors per site
    visitors: int = DEFAULT_VISITORS
    #: ``--rate``: events per second at most; None is flat out
    rate: float | None = None
    #: ``--truth``: the truth folder; None is ``<to>/_truth`` for folders, else ./.beaconhouse/truth
    truth: Path | None = None
    #: share of events from bots
    bot_share: float = 0.15
    #: share of events delivered twice
    duplicate_share: float = 0.005
    #: share of payload lines that are malformed
    malformed_share: float = 0.001
    #: share of sessions delivered hours late
    late_share: float = 0.01
    #: gzip level of the landing files (3 is twice as fast as gzip's default 6, files ~20% larger)
    compression_level: int = 3
    #: decode every payload with the event contract and check it says what was generated
    verify: bool = False

    def __post_init__(self) -> None:
        parse_target(self.to)
        if self.sites < 1:
            raise ValueError("sites must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.visitors < 0:
            raise ValueError("visitors must not be negative")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")
        for name in ("bot_share", "duplicate_share", "malformed_share", "late_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        if not 0 <= self.compression_level <= 9:
            raise ValueError("compression_level must be 0-9")

    def truth_dir(self) -> Path:
        """Where the truth goes."""
        if self.truth is not None:
            return self.truth
        target = parse_target(self.to)
        if isinstance(target, FolderTarget):
            return target.path / "_truth"
        return DEFAULT_TRUTH_DIR


@dataclass(frozen=True)
class GenerateReport:
    """What a run produced."""

    target: str
    truth_dir: Path
    website_ids: tuple[int, ...]
    #: landing files written (0 for Kafka)
    files: int
    payload_lines: int
    #: valid events, duplicates excluded, bots included
    events: int
    bot_events: int
    duplicate_deliveries: int
    malformed_payloads: int
    #: compressed file bytes, or message bytes for Kafka
    bytes_written: int
    seconds: float
    #: seconds spent waiting for the rate limit
    throttled_seconds: float = 0.0
    truth_files: tuple[Path, ...] = field(default=())

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run(
    settings: Settings,
    options: GenerateOptions,
    *,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> GenerateReport:
    """Generate ``options.days`` days of traffic for ``options.sites`` sites; write the truth."""
    began = clock()
    target = parse_target(options.to)
    if isinstance(target, FolderTarget) and any(target.path.glob("site=*")):
        log.warning("%s already has landing files: files of hours this run does not write stay", target.path)
    sites = choose_sites(settings, options.sites)
    profiles = build_profiles(sites, options.seed)
    ips = IpPool()
    simulators = [
        DaySimulator(p, visitors=options.visitors, bot_share=options.bot_share, seed=options.seed, ips=ips)
        for p in profiles
    ]
    shares = DeliveryShares(options.duplicate_share, options.malformed_share, options.late_share)
    encoders = [PayloadEncoder(p, shares, options.seed) for p in profiles]
    truth = TruthBuilder(sites, {p.website_id: p.currency for p in profiles}, verify=options.verify)
    bucket = TokenBucket(options.rate, clock=clock, sleep=sleep) if options.rate else None
    sink = open_sink(target, settings, level=options.compression_level, bucket=bucket)
    end = options.start + dt.timedelta(days=options.days)
    until = {p.website_id: local_midnight_utc_ms(end, p.site.timezone) for p in profiles}
    pending: dict[int, dict[int, list[Payload]]] = defaultdict(lambda: defaultdict(list))
    counts = {"files": 0, "lines": 0}

    def flush(before_ms: int | None) -> None:
        for hour in sorted(pending):
            if before_ms is not None and hour + HOUR_MS > before_ms:
                break
            by_site = pending.pop(hour)
            files = []
            for website_id in sorted(by_site):
                payloads = sorted(by_site[website_id], key=lambda p: (p.delivered_at, p.seq))
                path = file_path(website_id, hour)
                for line, payload in enumerate(payloads, start=1):
                    truth.add(payload, path, line)
                files.append(HourFile(website_id, hour, path, payloads))
                counts["lines"] += len(payloads)
            sink.deliver(files)
            counts["files"] += len(files)
            truth.advance(hour + HOUR_MS)

    # Generation allocates millions of small acyclic objects; the cyclic collector would
    # rescan them over and over for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for offset in range(options.days):
            day = options.start + dt.timedelta(days=offset)
            for simulator, encoder, profile in zip(simulators, encoders, profiles, strict=True):
                events = simulator.day(day, until[profile.website_id])
                for payload in encoder.encode(events, day):
                    pending[hour_start(payload.delivered_at)][payload.website_id].append(payload)
            next_day = day + dt.timedelta(days=1)
            flush(min(local_midnight_utc_ms(next_day, p.site.timezone) for p in profiles))
            if progress is not None:
                progress(f"{day.isoformat()}: {counts['lines']} payload lines delivered")
        flush(None)
    finally:
        if collecting:
            gc.enable()
        sink.close()
    result = truth.finish()
    truth_dir = options.truth_dir()
    written = write_truth(truth_dir, result, sites, _describe(options))
    raw = result.raw
    return GenerateReport(
        target=str(target),
        truth_dir=truth_dir,
        website_ids=tuple(site.website_id for site in sites),
        files=0 if isinstance(target, KafkaTarget) else counts["files"],
        payload_lines=counts["lines"],
        events=sum(sum(day.events.values()) for day in raw),
        bot_events=sum(day.bot_events for day in raw),
        duplicate_deliveries=sum(day.duplicate_deliveries for day in raw),
        malformed_payloads=len(result.malformed),
        bytes_written=sink.bytes_written,
        seconds=clock() - began,
        throttled_seconds=bucket.waited if bucket else 0.0,
        truth_files=tuple(written),
    )


def _describe(options: GenerateOptions) -> dict[str, Any]:
    """The options that decide the content (not where it goes, nor how fast)."""
    return {
        "version": GENERATOR_VERSION,
        "seed": options.seed,
        "sites": options.sites,
        "start": options.start.isoformat(),
        "days": options.days,
        "visitors": options.visitors,
        "bot_share": options.bot_share,
        "duplicate_share": options.duplicate_share,
        "malformed_share": options.malformed_share,
        "late_share": options.late_share,
    }


# --- argparse wiring (proposed; the main CLI owns the parser) -----------------------


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {value!r}: expected YYYY-MM-DD") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``beaconhouse generate`` flags."""
    parser.add_argument("--to", required=True, help="folder, s3://bucket/prefix or kafka://host:port/topic")
    parser.add_argument(
        "--sites",
        type=bounded_int("count", 1),
        default=3,
        help="sites to simulate: the config's first N, else demo sites (default 3)",
    )
    parser.add_argument(
        "--start",
        type=_date,
        default=DEFAULT_START,
        help=f"first site-local day, YYYY-MM-DD (default {DEFAULT_START})",
    )
    parser.add_argument(
        "--days", type=bounded_int("count", 1), default=7, help="days to simulate (default 7)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed; same seed, same bytes (default 42)"
    )
    parser.add_argument(
        "--visitors",
        type=bounded_int("count", 1),
        default=DEFAULT_VISITORS,
        help=f"mean daily visitors per site (default {DEFAULT_VISITORS})",
    )
    parser.add_argument(
        "--rate",
        type=positive_float("rate"),
        default=None,
        help="events per second at most (default: flat out)",
    )
    parser.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="truth folder (default <to>/_truth for folders, else ./.beaconhouse/truth)",
    )


def options_from_args(args: argparse.Namespace) -> GenerateOptions:
    """:class:`GenerateOptions` from parsed :func:`add_arguments` flags."""
    return GenerateOptions(
        to=args.to,
        sites=args.sites,
        start=args.start,
        days=args.days,
        seed=args.seed,
        visitors=args.visitors,
        rate=args.rate,
        truth=args.truth,
    )


def format_report(report: GenerateReport) -> str:
    """A short human summary of a run."""
    return (
        f"{report.events:,} events ({report.bot_events:,} bots) in {report.payload_lines:,} payload lines"
        f" to {report.target}: {report.files:,} files, {report.bytes_written / 1e6:.1f} MB;"
        f" {report.duplicate_deliveries:,} duplicate deliveries, {report.malformed_payloads:,} malformed;"
        f" {report.seconds:.1f} s ({report.events_per_second:,.0f} events/s); truth in {report.truth_dir}"
    )
