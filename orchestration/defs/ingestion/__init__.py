"""Ingestion: landing files (daily partitions) and the Kafka micro-batch into the raw layer."""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from orchestration.defs.ingestion.assets import RAW_EVENTS, landing_files
from orchestration.defs.ingestion.kafka import KAFKA_EVENTS, kafka_events, kafka_job, kafka_schedule
from orchestration.defs.ingestion.sensors import new_landing_files

__all__ = ["KAFKA_EVENTS", "RAW_EVENTS", "defs"]

defs = dg.Definitions(
    assets=[landing_files, kafka_events],
    jobs=[kafka_job],
    schedules=[kafka_schedule],
    sensors=[new_landing_files],
    resources={"dlt": DagsterDltResource()},
)
