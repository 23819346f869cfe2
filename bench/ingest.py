"""bench/ingest: events/s from S3 JSONL.gz into raw.events, validated and enriched.

All three runs read the same generated files from a real S3 endpoint (moto's server)
into the same embedded warehouse:

1. beaconhouse: ``ingest_files`` (validate, quarantine, enrich, dedup, dlt load);
2. ClickHouse alone: ``INSERT INTO … SELECT * FROM s3(…, JSONEachRow)`` into a table
   with the schema ClickHouse infers: parsing and storing only, no validation or
   enrichment. Goal: beaconhouse ≥ 0.5 × its speed;
3. a plain dlt pipeline that yields one dict per event (``orjson.loads`` per line) to
   the same HTTP destination: the row-by-row way. Goal: beaconhouse ≥ 10 × its speed.
   It runs on a subset of the files; its rate is per event.

The beaconhouse run also reports the CPU seconds of the loader, its parse workers, the
warehouse and the S3 server, per event (see bench/cpu_time.py).

Peak RSS: a separate process ingests a larger generated set (5M events in the full
run) and reports its ``ru_maxrss``. Goal: ≤ 1 GB.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.cpu_time import own_cpu_seconds, per_event_summary, process_cpu_seconds
from tests.s3_server import ACCESS_KEY, SECRET_KEY, MotoS3

REPO = Path(__file__).resolve().parents[1]


def _settings(warehouse_url: str, s3: Any, sites_toml: Path, suffix: str) -> Any:
    import tomllib

    from beaconhouse.config import Settings

    sites = tomllib.loads(sites_toml.read_text())["sites"]
    return Settings.model_validate(
        {
            "warehouse": {
                "url": warehouse_url,
                "raw_database": f"raw_{suffix}",
                "meta_database": f"meta_{suffix}",
            },
            "s3": s3.settings.model_dump(),
            "sites": sites,
        }
    )


def _generate(settings: Any, to: str, visitors: int, days: int) -> Any:
    from beaconhouse.generate.cli import GenerateOptions, run

    return run(
        settings,
        GenerateOptions(
            to=to, sites=3, days=days, start=dt.date(2026, 3, 1), visitors=visitors, seed=11, truth=None
        ),
    )


def _migrate(client: Any, settings: Any) -> None:
    from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations

    wh = settings.warehouse
    apply_migrations(client, SchemaContext(raw_db=wh.raw_database, meta_db=wh.meta_database))


#: The contract's fields, typed for ClickHouse: it parses every field into a column.
BASELINE_STRUCTURE = (
    "v Nullable(UInt8), type String, event_id Nullable(String), tracking_id Nullable(String), "
    "website_id Nullable(UInt32), visitor_id Nullable(String), session_id Nullable(String), "
    "user_id Nullable(String), ts String, received_at Nullable(String), "
    "page Tuple(url Nullable(String), title Nullable(String), referrer Nullable(String)), "
    "context Tuple(user_agent Nullable(String), ip Nullable(String), "
    "screen Tuple(width Nullable(UInt16), height Nullable(UInt16)), language Nullable(String)), "
    "event Tuple(action Nullable(String), category Nullable(String), label Nullable(String), "
    "value Nullable(Float64)), ecommerce Nullable(String), dimensions Map(String, String), "
    "metrics Map(String, Float64), properties Nullable(String)"
)


def _clickhouse_baseline(client: Any, s3: Any, prefix: str) -> tuple[float, int]:
    """ClickHouse parsing the same files itself, into typed columns.

    Plain ``JSONEachRow`` cannot read these files: a payload may be an array of up to
    20 events (as SDKs batch them), and a file starting with ``[`` is taken as one
    JSON array. So ClickHouse reads lines, expands arrays and extracts the fields:
    the same parsing work, done in C++.
    """
    source = f"s3('{s3.endpoint}/{prefix}/**/*.jsonl.gz', '{ACCESS_KEY}', '{SECRET_KEY}', 'LineAsString')"
    tuple_type = f"Tuple({BASELINE_STRUCTURE})".replace("'", "\\'")
    client.command("DROP TABLE IF EXISTS default.bench_baseline")
    client.command(
        f"CREATE TABLE default.bench_baseline ({BASELINE_STRUCTURE}) ENGINE = MergeTree ORDER BY tuple()"
    )
    started = time.perf_counter()
    client.command(
        "INSERT INTO default.bench_baseline "
        f"SELECT untuple(JSONExtract(payload, '{tuple_type}')) FROM {source} "
        "ARRAY JOIN if(startsWith(line, '['), JSONExtractArrayRaw(line), [line]) AS payload "
        "WHERE isValidJSON(payload)"
    )
    seconds = time.perf_counter() - started
    rows = client.query("SELECT count() FROM default.bench_baseline").result_rows[0][0]
    return seconds, int(rows)


def _row_by_row_dlt(
    settings: Any, s3: Any, prefix: str, pipelines_dir: Path, max_files: int
) -> tuple[float, int]:
    import dlt

    from beaconhouse.ingest.dlt_clickhouse_http import clickhouse_http
    from beaconhouse.ingest.sources import list_files, read_bytes

    files = list_files(f"s3://{prefix}", settings.s3)[:max_files]
    wh = settings.warehouse

    @dlt.resource(name="row_by_row_events", write_disposition="append")
    def events() -> Any:
        for file in files:
            for line in read_bytes(file, settings.s3).splitlines():
                try:
                    # orjson, as dlt itself uses: it refuses what dlt could not write
                    # back either (lone surrogates from "\ud800" escapes).
                    payload = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                yield from payload if isinstance(payload, list) else [payload]

    pipeline = dlt.pipeline(
        pipeline_name="bench_row_by_row",
        pipelines_dir=str(pipelines_dir),
        destination=clickhouse_http(wh.url, database=wh.raw_database),
    )
    started = time.perf_counter()
    pipeline.run(events()).raise_on_failed_jobs()
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as sql:
        count = sql.execute_sql(f"SELECT count() FROM `{wh.raw_database}`.row_by_row_events")
    return seconds, int(count[0][0])


def _peak_rss_run(warehouse_url: str, visitors: int, days: int, work: Path) -> dict[str, Any]:
    """Generate a large set into a folder, then ingest it in a process of its own.

    That process does nothing but ``beaconhouse ingest files``; its peak RSS (its own
    VmHWM, and its parse workers' ``ru_maxrss``) is the measure.
    """
    folder = work / "rss-landing"
    beaconhouse = [sys.executable, "-m", "beaconhouse"]
    subprocess.run(
        [
            *beaconhouse,
            "generate",
            "--to",
            str(folder),
            "--sites",
            "3",
            "--days",
            str(days),
            "--visitors",
            str(visitors),
            "--start",
            "2026-03-01",
            "--seed",
            "13",
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    truth = json.loads((folder / "_truth" / "truth.json").read_text())
    events = sum(site["events"] for site in truth["totals"].values())
    env = {
        **os.environ,
        "BEACONHOUSE_CONFIG": str(folder / "_truth" / "sites.toml"),
        "BEACONHOUSE_WAREHOUSE__URL": warehouse_url,
        "BEACONHOUSE_WAREHOUSE__RAW_DATABASE": "raw_rss",
        "BEACONHOUSE_WAREHOUSE__META_DATABASE": "meta_rss",
        "DLT_DATA_DIR": str(work / "dlt-rss"),
        "PYTHONPATH": str(REPO),  # the wrapper imports bench.peak_memory
    }
    subprocess.run([*beaconhouse, "warehouse", "migrate"], check=True, capture_output=True, env=env, cwd=REPO)
    # The ingest runs under a wrapper that reports its own peak RSS (and that of any
    # parse workers it starts), so nothing else run here can be mistaken for it. The
    # workers' figure is ru_maxrss, which includes the loader's RSS when it started
    # them (Linux carries it across exec): an upper bound.
    wrapper = (
        "import resource, sys\n"
        "from beaconhouse.cli import main\n"
        "from bench.peak_memory import own_peak_rss_bytes\n"
        "if __name__ == '__main__':\n"
        "    code = main(['ingest', 'files', sys.argv[1]])\n"
        "    own = own_peak_rss_bytes() // 1024\n"
        "    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "    print(f'PEAK {own} {workers}')\n"
        "    sys.exit(code)\n"
    )
    script = work / "ingest_with_peak.py"
    script.write_text(wrapper)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(script), str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    seconds = time.perf_counter() - started
    peak_line = next(line for line in result.stdout.splitlines() if line.startswith("PEAK "))
    own_kb, workers_kb = (int(v) for v in peak_line.split()[1:])
    return {
        "events_generated": events,
        "seconds": seconds,
        "events_per_second": events / seconds,
        "ingest_output": result.stdout.replace(peak_line, "").strip(),
        "peak_rss_bytes": own_kb * 1024,
        "largest_worker_peak_rss_bytes": workers_kb * 1024,
    }


def run(quick: bool = False) -> dict[str, Any]:
    from beaconhouse.ingest.files_pipeline import ingest_files
    from beaconhouse.warehouse.client import connect
    from beaconhouse.warehouse.process import EmbeddedWarehouse

    visitors, days = (3_000, 2) if quick else (10_000, 4)
    # about 5 million events in the full run, as the goal states
    rss_visitors, rss_days = (6_000, 2) if quick else (22_000, 14)
    work = Path(tempfile.mkdtemp(prefix="bh-bench-ingest-"))
    try:
        with MotoS3() as s3, EmbeddedWarehouse(work / "warehouse" / "data") as server:
            s3.client().create_bucket(Bucket="bench")
            from beaconhouse.config import Settings

            seed_settings = Settings.model_validate({"s3": s3.settings.model_dump()})
            generated = _generate(seed_settings, "s3://bench/landing", visitors, days)
            shutil.copy(generated.truth_dir / "sites.toml", work / "sites.toml")
            settings = _settings(server.url, s3, work / "sites.toml", "bench")
            client = connect(settings.warehouse)
            _migrate(client, settings)

            assert server.process is not None
            assert s3.process is not None
            cpu_before = {
                **own_cpu_seconds(),
                "warehouse": process_cpu_seconds(server.process.pid),
                "s3_server": process_cpu_seconds(s3.process.pid),
            }
            started = time.perf_counter()
            report = ingest_files(settings, "s3://bench/landing", pipelines_dir=work / "dlt")
            ours = time.perf_counter() - started
            cpu_after = {
                **own_cpu_seconds(),
                "warehouse": process_cpu_seconds(server.process.pid),
                "s3_server": process_cpu_seconds(s3.process.pid),
            }
            baseline_seconds, baseline_rows = _clickhouse_baseline(client, s3, "bench/landing")
            dlt_seconds, dlt_rows = _row_by_row_dlt(
                settings, s3, "bench/landing", work / "dlt-rows", max_files=40 if quick else 120
            )
            rss = _peak_rss_run(server.url, rss_visitors, rss_days, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    events_in = report.events_loaded + report.duplicates + report.quarantined_total
    ours_rate = events_in / ours
    # the parse workers are waited for when their pool shuts down, inside ingest_files
    names = {"self": "loader", "children": "parse_workers", "warehouse": "warehouse", "s3_server": "s3"}
    cpu_seconds = {names[key]: cpu_after[key] - cpu_before[key] for key in names}
    baseline_rate = baseline_rows / baseline_seconds
    dlt_rate = dlt_rows / dlt_seconds
    return {
        "benchmark": "ingest",
        "machine": {"cpus": os.cpu_count()},
        "generated": {
            "events": generated.events,
            "payload_lines": generated.payload_lines,
            "files": generated.files,
            "bytes": generated.bytes_written,
        },
        "beaconhouse": {
            "seconds": ours,
            "events_in": events_in,
            "events_loaded": report.events_loaded,
            "duplicates": report.duplicates,
            "quarantined": report.quarantined_total,
            "events_per_second": ours_rate,
        },
        "cpu": {"seconds": cpu_seconds, **per_event_summary(cpu_seconds, events_in, os.cpu_count() or 1)},
        "clickhouse_insert_select_s3_jsoneachrow": {
            "seconds": baseline_seconds,
            "rows": baseline_rows,
            "rows_per_second": baseline_rate,
        },
        "dlt_row_by_row": {"seconds": dlt_seconds, "rows": dlt_rows, "rows_per_second": dlt_rate},
        "peak_rss": rss,
        "bench_process_max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "goals": [
            {
                "name": "speed_vs_clickhouse_jsoneachrow",
                "value": ours_rate / baseline_rate,
                "goal": ">= 0.5",
                "met": ours_rate / baseline_rate >= 0.5,
            },
            {
                "name": "speed_vs_row_by_row_dlt",
                "value": ours_rate / dlt_rate,
                "goal": ">= 10",
                "met": ours_rate / dlt_rate >= 10,
            },
            {
                "name": "peak_rss_gb_on_large_run",
                "value": rss["peak_rss_bytes"] / 1e9,
                "goal": "<= 1.0",
                "met": max(rss["peak_rss_bytes"], rss["largest_worker_peak_rss_bytes"]) <= 1e9,
            },
        ],
    }
