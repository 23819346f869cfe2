"""Run the jobs in this process: what ``beaconhouse demo`` and ``beaconhouse backfill`` do.

A run here is the same job the Dagster UI launches, recorded in the same instance
(``$DAGSTER_HOME``, or a temporary one), so it shows in the UI's run history.
"""

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from orchestration.definitions import definitions
from orchestration.defs.resources import BeaconhouseResource

#: Dagster's own log lines would drown the progress lines: only warnings and errors.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class StageResult:
    """One job run: its name, its window, whether it succeeded and how long it took."""

    job: str
    window: tuple[dt.date, dt.date] | None
    success: bool
    seconds: float
    run_id: str
    checks: int
    failed_checks: list[str]


class Runner:
    """Runs jobs of the code location against one configuration and one instance."""

    def __init__(
        self,
        config_path: Path | None,
        workdir: Path,
        instance: dg.DagsterInstance,
        say: Callable[[str], None] = print,
    ) -> None:
        self.instance = instance
        self.say = say
        #: what the runs print (dbt's log lines) goes here, not into the caller's output
        self.log_path = workdir / "runs.log"
        workdir.mkdir(parents=True, exist_ok=True)
        resource = BeaconhouseResource(
            config_path=str(config_path) if config_path else "",
            pipelines_dir=str(workdir / "dlt"),
            gx_root=str(workdir / "gx"),
        )
        self.defs = definitions(resource)

    def run(self, job: str, window: tuple[dt.date, dt.date] | None = None) -> StageResult:
        """Run ``job``, over the partitions ``window`` (first and last day) if given."""
        tags = {}
        if window is not None:
            tags = {
                "dagster/asset_partition_range_start": window[0].isoformat(),
                "dagster/asset_partition_range_end": window[1].isoformat(),
            }
        span = f" {window[0]}..{window[1]}" if window else ""
        self.say(f"running {job}{span}")
        started = time.monotonic()
        with self.log_path.open("a") as log, contextlib.redirect_stdout(log):
            result = self.defs.resolve_job_def(job).execute_in_process(
                instance=self.instance, tags=tags, run_config=QUIET, raise_on_error=False
            )
        failed = [
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
        ]
        warned = [
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == dg.AssetCheckSeverity.WARN
        ]
        checks = len(result.get_asset_check_evaluations())
        stage = StageResult(
            job, window, result.success, time.monotonic() - started, result.run_id, checks, failed
        )
        verdict = "ok" if stage.success else "FAILED"
        notes = (f", failed: {', '.join(failed)}" if failed else "") + (
            f", warnings: {', '.join(warned)}" if warned else ""
        )
        self.say(f"{job}{span}: {verdict} in {stage.seconds:.1f}s, {checks} checks{notes}")
        return stage
