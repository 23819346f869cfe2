"""bench/kafka: events/s from a Kafka topic into raw.events, exactly once, on this machine.

Generated traffic (the generator's malformed payloads and duplicate deliveries
included) is produced to a Tansu topic first. Then ``ingest_kafka`` drains the backlog
in a process of its own, with the embedded warehouse on the same cores, until every
partition's lag is 0. Measured:

- sustained events/s: rows in (loaded + duplicates + quarantined, as bench/ingest counts
  them) over the time from the first message consumed to the last batch committed.
  Goal: ≥ 100k/s on 2 cores;
- the whole run's rate, start-up and group join included (for reference);
- the peak RSS of the loader process, and of its parse worker. Goal: ≤ 1 GB each;
- that lag ended at 0 and raw.events holds every event once;
- the CPU seconds of the loader, its parse worker, the warehouse and the broker over
  the loader's run (start-up included), per event: on two busy cores the rate follows
  their sum, so this is where a change shows what it saves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cpu_time import per_event_summary, process_cpu_seconds
from tests.kafka_broker import TansuBroker

REPO = Path(__file__).resolve().parents[1]
PARTITIONS = 6

#: The loader in a process of its own, so that its peak RSS is its own (VmHWM:
#: ru_maxrss reported the bench's own RSS, the generator's 1.17 GB, through exec).
LOADER = """
import json, resource, sys, tomllib
from pathlib import Path
from bench.cpu_time import own_cpu_seconds
from bench.peak_memory import own_peak_rss_bytes
from beaconhouse.config import Settings
from beaconhouse.ingest.kafka_pipeline import ingest_kafka

# under a main guard: the loader parses in a worker process, which Python starts by
# importing this script
if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    config["sites"] = tomllib.loads(Path(sys.argv[2]).read_text())["sites"]
    report = ingest_kafka(
        Settings.model_validate(config), topic=sys.argv[3], group="bench", max_batch=int(sys.argv[4]),
        until_idle=True, idle_seconds=1.0, pipelines_dir=Path(sys.argv[5]),
    )
    print(json.dumps({
        "seconds": report.seconds, "active_seconds": report.active_seconds, "batches": report.batches,
        "messages": report.messages, "events_loaded": report.events_loaded, "duplicates": report.duplicates,
        "quarantined": report.quarantined_total, "total_lag": report.total_lag,
        "phase_seconds": dict(report.phase_seconds),
        "peak_rss_bytes": own_peak_rss_bytes(),
        "parse_worker_peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "cpu_seconds": own_cpu_seconds(),
    }))
"""


def run(quick: bool = False) -> dict[str, Any]:
    from beaconhouse.config import KafkaSettings, Settings
    from beaconhouse.generate.cli import GenerateOptions
    from beaconhouse.generate.cli import run as generate
    from beaconhouse.warehouse.client import connect
    from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations
    from beaconhouse.warehouse.process import EmbeddedWarehouse

    # about 1 million events in the full run, 65 thousand in the quick one
    visitors, days = (2_000, 2) if quick else (9_000, 7)
    max_batch = KafkaSettings().max_batch_messages  # the default: what users get
    work = Path(tempfile.mkdtemp(prefix="bh-bench-kafka-"))
    try:
        with TansuBroker() as broker, EmbeddedWarehouse(work / "warehouse" / "data") as server:
            broker.create_topic("bench", partitions=PARTITIONS)
            started = time.perf_counter()
            generated = generate(
                Settings(),
                GenerateOptions(
                    to=f"kafka://{broker.bootstrap_servers}/bench",
                    sites=3,
                    days=days,
                    start=dt.date(2026, 3, 1),
                    visitors=visitors,
                    seed=11,
                    truth=work / "truth",
                ),
            )
            produce_seconds = time.perf_counter() - started
            config = {
                "warehouse": {"url": server.url, "raw_database": "raw", "meta_database": "beaconhouse"},
                "kafka": {
                    "bootstrap_servers": broker.bootstrap_servers,
                    "session_timeout_ms": 6000,
                    "heartbeat_interval_ms": 500,
                },
            }
            client = connect(Settings.model_validate(config).warehouse)
            apply_migrations(client, SchemaContext())
            script = work / "loader.py"
            script.write_text(LOADER)
            assert server.process is not None
            assert broker.process is not None
            others_before = {
                "warehouse": process_cpu_seconds(server.process.pid),
                "broker": process_cpu_seconds(broker.process.pid),
            }
            result = subprocess.run(
                [
                    sys.executable,
                    str(script),
                    json.dumps(config),
                    str(work / "truth" / "sites.toml"),
                    "bench",
                    str(max_batch),
                    str(work / "dlt"),
                ],
                check=True,
                capture_output=True,
                text=True,
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            loader = json.loads(result.stdout.strip().splitlines()[-1])
            others = {
                "warehouse": process_cpu_seconds(server.process.pid) - others_before["warehouse"],
                "broker": process_cpu_seconds(broker.process.pid) - others_before["broker"],
            }
            counts = client.query("SELECT count(), uniqExact(event_id) FROM raw.events").result_rows[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    events_in = loader["events_loaded"] + loader["duplicates"] + loader["quarantined"]
    sustained = events_in / loader["active_seconds"]
    cpu_seconds = {
        "loader": loader["cpu_seconds"]["self"],
        "parse_worker": loader["cpu_seconds"]["children"],
        **others,
    }
    return {
        "benchmark": "kafka",
        "machine": {"cpus": os.cpu_count()},
        "generated": {
            "events": generated.events,
            "payload_lines": generated.payload_lines,
            "partitions": PARTITIONS,
            "produce_seconds": produce_seconds,
        },
        "loader": {
            **loader,
            "max_batch": max_batch,
            "events_in": events_in,
            "sustained_events_per_second": sustained,
            "whole_run_events_per_second": events_in / loader["seconds"],
            "messages_per_second": loader["messages"] / loader["active_seconds"],
        },
        # Over the loader's whole run, start-up included: where the CPU goes, per process
        "cpu": {"seconds": cpu_seconds, **per_event_summary(cpu_seconds, events_in, os.cpu_count() or 1)},
        "raw_events": {"rows": counts[0], "distinct_event_ids": counts[1]},
        "goals": [
            {
                "name": "sustained_events_per_second",
                "value": sustained,
                "goal": ">= 100000",
                "met": sustained >= 100_000,
            },
            {
                # each process's own peak: the loader's, and its parse worker's (ru_maxrss
                # of the children, which counts the loader's RSS when the worker started:
                # an upper bound)
                "name": "peak_rss_gb",
                "value": max(loader["peak_rss_bytes"], loader["parse_worker_peak_rss_bytes"]) / 1e9,
                "goal": "<= 1.0",
                "met": max(loader["peak_rss_bytes"], loader["parse_worker_peak_rss_bytes"]) <= 1e9,
            },
            {
                "name": "lag_at_end",
                "value": float(loader["total_lag"]),
                "goal": "== 0",
                "met": loader["total_lag"] == 0 and counts[0] == counts[1] == loader["events_loaded"],
            },
        ],
    }
