"""``beaconhouse backfill`` and ``beaconhouse dagster``: the Dagster side, from the CLI.

``backfill --from D1 --to D2`` re-materialises a range: the landing files of those UTC
days into the raw layer, then the marts of those site-local days, each as one run of
the code location's jobs, recorded in the Dagster instance (``$DAGSTER_HOME``, else
``.beaconhouse/dagster``) so that the UI shows them. Loads skip files already loaded
and the marts replace whole days, so running it twice changes nothing.

``dagster`` serves the UI on port 3000 (``make dagster``): it starts the embedded
warehouse when the configured one is this machine's and does not answer, applies the
migrations, and runs ``dagster dev`` against the code location.
"""

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from beaconhouse.config import Settings

REPO = Path(__file__).resolve().parents[1]
DAGSTER_HOME = Path(".beaconhouse/dagster")


def _instance_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return home


def backfill(settings: Settings, first: dt.date, last: dt.date, config: str | None) -> int:
    """Run the files, then the marts, for ``first``..``last``; returns the exit code."""
    import dagster as dg

    from orchestration.defs.partitions import FIRST_DAY
    from orchestration.runner import Runner

    if first < dt.date.fromisoformat(FIRST_DAY):
        print(f"error: --from {first} is before the first daily partition ({FIRST_DAY})", file=sys.stderr)
        return 2
    home = _instance_home()
    config_path = Path(config).resolve() if config else None
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runner = Runner(config_path, Path(".beaconhouse").resolve(), instance, say=lambda line: print(line))
        if not settings.sites:
            print("error: no sites are configured ([[sites]] in beaconhouse.toml)", file=sys.stderr)
            return 2
        for job, window in (
            ("publish_sites_and_views", None),
            ("load_landing_files", (first, last)),
            ("build_daily_marts", (first, last)),
        ):
            result = runner.run(job, window)
            if not result.success:
                print(f"error: {job} failed (run {result.run_id}; see the Dagster UI)", file=sys.stderr)
                return 1
    print(f"backfill {first}..{last}: done, runs recorded in {home}")
    return 0


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/ping", timeout=2) as response:  # noqa: S310 - configured URL
            return bool(response.status == 200)
    except OSError:
        return False


def serve_dagster(settings: Settings, port: int, config: str | None) -> int:
    """Serve the Dagster UI against the configured warehouse (the embedded one if need be)."""
    from beaconhouse.commands import schema_context
    from beaconhouse.warehouse.client import connect
    from beaconhouse.warehouse.migrations import apply_migrations
    from beaconhouse.warehouse.process import EmbeddedWarehouse

    home = _instance_home()
    url = settings.warehouse.url
    parts = urlsplit(url)
    embedded = None
    if not _answers(url):
        if parts.hostname not in ("127.0.0.1", "localhost"):
            print(f"error: the warehouse at {url} does not answer", file=sys.stderr)
            return 1
        data_dir = settings.warehouse.server.data_dir
        print(f"starting the embedded warehouse on {url} (data in {data_dir})", file=sys.stderr)
        embedded = EmbeddedWarehouse(data_dir, port=parts.port or 8123, host=parts.hostname or "127.0.0.1")
        embedded.start()
    try:
        apply_migrations(connect(settings.warehouse), schema_context(settings))
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        if config:
            env["BEACONHOUSE_CONFIG"] = str(Path(config).resolve())
        dagster = str(Path(sys.executable).parent / "dagster")
        command = [dagster, "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)]
        print(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C stops it)", file=sys.stderr)
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        if embedded is not None:
            embedded.stop()
