"""``beaconhouse demo`` / ``make demo``: the main job, through Dagster, on the embedded warehouse.

1. starts the embedded warehouse (ClickHouse over chDB) in its own process;
2. applies the schema (``sql/migrations``);
3. generates 7 days of traffic for 3 sites (with duplicates, late and malformed
   payloads) into a landing folder, with the generator's ground truth;
4. runs the asset graph through Dagster, in this process: the site metadata and views,
   the landing files' day partitions into the raw layer (with its Great Expectations
   checks), then the marts' site-local day partitions with dbt (with dbt's tests and
   the marts' checks), each range as one run;
5. prints the marts per site, says whether they equal the truth, and writes an HTML
   report with charts;
6. stops the warehouse cleanly.
"""

import csv
import datetime as dt
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.warehouse.process import EmbeddedWarehouse, free_port

DAYS = 7
SITES = 3


def run(settings: Settings, workdir: Path = Path(".beaconhouse/demo")) -> int:
    """Run the demo end to end; returns the exit code."""
    import dagster as dg

    from beaconhouse.commands import schema_context
    from beaconhouse.generate.cli import GenerateOptions
    from beaconhouse.generate.cli import run as generate
    from beaconhouse.ingest.sources import list_files
    from beaconhouse.report import collect, print_summary, write_html
    from beaconhouse.warehouse.client import connect
    from beaconhouse.warehouse.migrations import apply_migrations
    from orchestration.runner import Runner

    started = time.monotonic()
    # A demo starts from nothing, so that it shows the same thing every time.
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    workdir = workdir.resolve()
    server = EmbeddedWarehouse(workdir / "warehouse", port=free_port(), log_file=workdir / "warehouse.log")
    step("starting the embedded warehouse (ClickHouse over chDB)")
    failed = False
    with server:
        step(f"warehouse up at {server.url}, data in {server.data_dir}")
        warehouse = settings.warehouse.model_copy(
            update={"url": server.url, "user": "default", "password": ""}
        )
        demo = settings.model_copy(update={"warehouse": warehouse})
        client = connect(demo.warehouse)
        migrated = apply_migrations(client, schema_context(demo))
        step(f"schema: {len(migrated.applied)} migrations applied")

        landing = workdir / "landing"
        step(f"generating {DAYS} days of traffic for {SITES} sites")
        generated = generate(demo, GenerateOptions(to=str(landing), sites=SITES, days=DAYS))
        step(
            f"generated {generated.events:,} events in {generated.files} files "
            f"({generated.duplicate_deliveries} duplicate deliveries, "
            f"{generated.malformed_payloads} malformed)"
        )
        config = _write_config(workdir, demo, landing, generated.truth_dir)
        start = dt.date.fromisoformat(_truth_start(generated.truth_dir))
        local_days = (start, start + dt.timedelta(days=DAYS - 1))
        delivery = sorted({f.day for f in list_files(str(landing), demo.s3) if f.day is not None})

        (workdir / "dagster").mkdir()
        instance = dg.DagsterInstance.local_temp(tempdir=str(workdir / "dagster"))
        runner = Runner(config, workdir, instance, say=lambda line: step("  " + line))
        stages = [
            ("publish_sites_and_views", None),
            ("load_landing_files", (delivery[0], delivery[-1])),
            ("build_daily_marts", local_days),
        ]
        step(
            f"running the asset graph through Dagster: {len(stages)} runs, recorded in {workdir / 'dagster'}"
        )
        for number, (job, window) in enumerate(stages, start=1):
            step(f"[{number}/{len(stages)}] {job}")
            result = runner.run(job, window)
            if not result.success:
                failed = True
                step(f"{job} failed; see the run {result.run_id} in {workdir / 'dagster'}")
                break
        if not failed:
            sites = collect(client, demo.warehouse.marts_database)
            print_summary(sites)
            matches = _compare_with_truth(client, demo, generated.truth_dir)
            print(f"marts against the generator's truth (pageviews, visitors, sessions, bounces, "
                  f"conversions, revenue per site-day): {matches}")  # fmt: skip
            failed = failed or matches != "equal"
            report = write_html(
                sites,
                workdir / "report.html",
                f"{generated.events:,} generated events, {SITES} sites, site-local days "
                f"{local_days[0]} to {local_days[1]}; built through Dagster on the embedded warehouse.",
            )
            step(f"report: {report}")
        step("stopping the warehouse")
    code = server.process.returncode if server.process is not None else 1
    step(f"done in {time.monotonic() - started:.1f}s (server exit code {code})")
    return 0 if code == 0 and not failed else 1


def _truth_start(truth_dir: Path) -> str:
    import json

    start: str = json.loads((truth_dir / "truth.json").read_text())["generator"]["start"]
    return start


def _write_config(workdir: Path, settings: Settings, landing: Path, truth_dir: Path) -> Path:
    """The demo's beaconhouse.toml: the embedded warehouse, the landing folder, the sites."""
    wh = settings.warehouse
    text = (
        f'[warehouse]\nurl = "{wh.url}"\nraw_database = "{wh.raw_database}"\n'
        f'meta_database = "{wh.meta_database}"\nmarts_database = "{wh.marts_database}"\n\n'
        f'[landing]\nurl = "{landing}"\n\n' + (truth_dir / "sites.toml").read_text()
    )
    path = workdir / "beaconhouse.toml"
    path.write_text(text)
    return path


def _compare_with_truth(client: Any, settings: Settings, truth_dir: Path) -> str:
    with (truth_dir / "marts_daily.csv").open() as handle:
        truth = {
            (int(r["website_id"]), r["date"]): (
                int(r["pageviews"]), int(r["visitors"]), int(r["sessions"]), int(r["bounces"]),
                int(r["conversions"]), Decimal(r["revenue"]),
            )
            for r in csv.DictReader(handle)
        }  # fmt: skip
    rows = client.query(
        "SELECT website_id, toString(local_date), pageviews, visitors, sessions, bounces, conversions, "
        f"revenue FROM `{settings.warehouse.marts_database}`.site_daily"
    ).result_rows
    marts = {(site, day): tuple(rest) for site, day, *rest in rows}
    differing = sorted(key for key in truth.keys() | marts.keys() if truth.get(key) != marts.get(key))
    if not differing:
        return "equal"
    return f"DIFFERENT on {len(differing)} site-days, first {differing[0]}"


def step(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)
