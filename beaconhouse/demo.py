"""``beaconhouse demo`` / ``make demo``: the main job on the embedded warehouse.

Today it:

1. starts the embedded warehouse (ClickHouse over chDB) in its own process;
2. applies the raw layer (``sql/migrations``);
3. generates 7 days of traffic for 3 sites, with duplicates, late and malformed
   payloads, into a landing folder;
4. loads it with ``ingest files`` (validate, quarantine, enrich, dedupe, dlt);
5. prints what landed next to the generator's truth, and the schema;
6. stops the warehouse cleanly.

dbt marts, Dagster and the HTML report grow from here (see the open issues).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import sys
import time
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.warehouse.process import EmbeddedWarehouse, free_port


def run(settings: Settings, workdir: Path = Path(".beaconhouse/demo")) -> int:
    """Run the demo end to end; returns the exit code."""
    from beaconhouse.commands import print_schema, schema_context
    from beaconhouse.generate.cli import GenerateOptions
    from beaconhouse.generate.cli import run as generate
    from beaconhouse.ingest.files_pipeline import ingest_files
    from beaconhouse.warehouse.client import connect
    from beaconhouse.warehouse.migrations import apply_migrations

    started = time.monotonic()
    # A demo starts from nothing, so that it shows the same thing every time.
    shutil.rmtree(workdir, ignore_errors=True)
    server = EmbeddedWarehouse(workdir / "warehouse", port=free_port(), log_file=workdir / "warehouse.log")
    step("starting the embedded warehouse (ClickHouse over chDB)")
    with server:
        step(f"warehouse up at {server.url}, data in {server.data_dir}")
        warehouse = settings.warehouse.model_copy(
            update={"url": server.url, "user": "default", "password": ""}
        )
        demo = settings.model_copy(update={"warehouse": warehouse})
        client = connect(demo.warehouse)
        report = apply_migrations(client, schema_context(demo))
        step(f"migrated: {len(report.applied)} applied, {len(report.skipped)} already current")
        print_schema(demo)

        landing = workdir / "landing"
        step("generating 7 days of traffic for 3 sites")
        generated = generate(
            demo, GenerateOptions(to=str(landing), sites=3, days=7, start=dt.date(2026, 3, 2))
        )
        step(
            f"generated {generated.events:,} events in {generated.files} files "
            f"({generated.duplicate_deliveries} duplicate deliveries, "
            f"{generated.malformed_payloads} malformed)"
        )
        sites = tomllib.loads((generated.truth_dir / "sites.toml").read_text())["sites"]
        demo = Settings.model_validate({**demo.model_dump(), "sites": sites})
        step("ingesting the landing folder: validate, quarantine, enrich, dedupe, load")
        ingested = ingest_files(
            demo, str(landing), pipelines_dir=workdir / "dlt", progress=lambda line: step("  " + line)
        )
        step(
            f"loaded {ingested.events_loaded:,} raw rows in {ingested.seconds:.1f}s; "
            f"{ingested.duplicates} duplicates dropped, {ingested.quarantined_total} quarantined"
        )
        _print_summary(client, demo, generated.truth_dir)
        step("stopping the warehouse")
    code = server.process.returncode if server.process is not None else 1
    step(f"done in {time.monotonic() - started:.1f}s (server exit code {code})")
    return 0 if code == 0 else 1


def _print_summary(client: Any, settings: Settings, truth_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    raw = settings.warehouse.raw_database
    rows = client.query(
        f"SELECT website_id, event_type, count(), countIf(is_bot) FROM `{raw}`.events "
        "GROUP BY ALL ORDER BY ALL"
    ).result_rows
    truth: dict[tuple[int, str], int] = defaultdict(int)
    with (truth_dir / "raw_daily.csv").open() as handle:
        for record in csv.DictReader(handle):
            for kind in ("pageview", "event", "transaction"):
                truth[(int(record["website_id"]), kind)] += int(record[kind])
    table = Table(title="raw.events by site and type, against the generator's truth", title_justify="left")
    for column in ("site", "type", "rows", "of which bots", "truth", "match"):
        table.add_column(column, justify="right" if column not in ("type", "match") else "left")
    for website_id, kind, count, bots in rows:
        expected = truth.get((website_id, kind))
        match = "-" if expected is None else ("yes" if expected == count else "NO")
        table.add_row(
            str(website_id),
            kind,
            f"{count:,}",
            f"{bots:,}",
            "" if expected is None else f"{expected:,}",
            match,
        )
    console = Console()
    console.print(table)
    reasons = client.query(
        f"SELECT reason, count() FROM `{raw}`.events_quarantine GROUP BY reason ORDER BY count() DESC"
    ).result_rows
    console.print("quarantine: " + ", ".join(f"{reason} {n}" for reason, n in reasons))


def step(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)
