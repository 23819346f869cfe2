"""Ingestion: landing files (daily partitions) into the raw layer, and the sensor for them."""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from orchestration.defs.ingestion.assets import RAW_EVENTS, landing_files
from orchestration.defs.ingestion.sensors import new_landing_files

__all__ = ["RAW_EVENTS", "defs"]

defs = dg.Definitions(
    assets=[landing_files],
    sensors=[new_landing_files],
    resources={"dlt": DagsterDltResource()},
)
