"""Resources shared by every integration, configured when a run starts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from beaconhouse.config import Settings, load_settings


class BeaconhouseResource(dg.ConfigurableResource["BeaconhouseResource"]):
    """The beaconhouse configuration (``beaconhouse.toml`` plus ``BEACONHOUSE_*``).

    Read when a run starts, never when the code location loads: a changed setting
    takes effect at the next run without a reload.
    """

    #: the configuration file; empty means ``BEACONHOUSE_CONFIG``, else ./beaconhouse.toml
    config_path: str = ""
    #: where dlt keeps its local pipeline folders (state is restored from the warehouse)
    pipelines_dir: str = ".beaconhouse/dlt"
    #: the Great Expectations project: suites, results and data docs
    gx_root: str = ".beaconhouse/gx"

    def settings(self) -> Settings:
        return load_settings(self.config_path or None)

    def pipelines_path(self) -> Path:
        return Path(self.pipelines_dir)

    def gx_path(self) -> Path:
        return Path(self.gx_root)
