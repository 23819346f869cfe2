"""``beaconhouse demo`` / ``make demo``: the main job on the embedded warehouse.

Today it starts the embedded warehouse, applies the raw layer and prints the schema,
then stops the server cleanly. Later stages (generate traffic, load, build marts)
grow from here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from beaconhouse.config import Settings
from beaconhouse.warehouse.process import EmbeddedWarehouse, free_port


def run(settings: Settings, workdir: Path = Path(".beaconhouse/demo")) -> int:
    """Run the demo end to end; returns the exit code."""
    from beaconhouse.commands import print_schema, schema_context
    from beaconhouse.warehouse.client import connect
    from beaconhouse.warehouse.migrations import apply_migrations

    started = time.monotonic()
    port = free_port()
    server = EmbeddedWarehouse(workdir / "warehouse", port=port, log_file=workdir / "warehouse.log")
    step("starting the embedded warehouse (ClickHouse over chDB)")
    with server:
        step(f"warehouse up at {server.url}, data in {server.data_dir}")
        demo_settings = settings.model_copy(
            update={
                "warehouse": settings.warehouse.model_copy(
                    update={"url": server.url, "user": "default", "password": ""}
                )
            }
        )
        client = connect(demo_settings.warehouse)
        report = apply_migrations(client, schema_context(demo_settings))
        step(f"migrated: {len(report.applied)} applied, {len(report.skipped)} already current")
        print_schema(demo_settings)
        step("stopping the warehouse")
    code = server.process.returncode if server.process is not None else 1
    step(f"done in {time.monotonic() - started:.1f}s (server exit code {code})")
    return 0 if code == 0 else 1


def step(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)
