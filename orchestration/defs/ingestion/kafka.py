"""The Kafka micro-batch: every five minutes, load what the topic has, exactly once.

Not partitioned: Kafka positions, not days, say what is new. A run consumes until every
partition is read to its end (or four minutes pass, so that runs never pile up) and
records offsets, rows, lag and quarantined counts as metadata.
"""

import threading
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from beaconhouse.ingest.kafka_pipeline import ingest_kafka
from orchestration.defs.clickhouse.schema import SCHEMA
from orchestration.defs.resources import BeaconhouseResource

KAFKA_EVENTS = dg.AssetKey(["raw", "kafka_events"])
#: a run stops by then, landing the batch in hand, so the next 5-minute run can start
RUN_BUDGET_SECONDS = 240.0


@dg.asset(
    key=KAFKA_EVENTS,
    deps=[SCHEMA],
    group_name="ingestion",
    kinds={"kafka", "dlt", "clickhouse"},
    description="Events from the Kafka topic into raw.events (and its quarantine and counters), "
    "exactly once: positions are kept in raw.kafka_offsets and move only with the data.",
    op_tags={"beaconhouse/warehouse": "write"},
)
def kafka_events(
    context: AssetExecutionContext, beaconhouse: BeaconhouseResource
) -> dg.MaterializeResult[Any]:
    settings = beaconhouse.settings()
    stop = threading.Event()
    timer = threading.Timer(RUN_BUDGET_SECONDS, stop.set)
    timer.start()
    try:
        report = ingest_kafka(
            settings,
            until_idle=True,
            pipelines_dir=beaconhouse.pipelines_path() / "kafka",
            progress=context.log.info,
            stop=stop,
        )
    finally:
        timer.cancel()
    positions = {str(p): lag.position for p, lag in sorted(report.lag.items())}
    return dg.MaterializeResult(
        metadata={
            "topic": report.topic,
            "group": report.group,
            "messages": report.messages,
            "events_loaded": report.events_loaded,
            "duplicates_dropped": report.duplicates,
            "quarantined": report.quarantined_total,
            "quarantine_reasons": dg.MetadataValue.json(dict(report.quarantined)),
            "offsets": dg.MetadataValue.json(positions),
            "lag": report.total_lag,
            "lag_by_partition": dg.MetadataValue.json(
                {str(p): lag.lag for p, lag in sorted(report.lag.items())}
            ),
            "batches": report.batches,
            "stopped_by_budget": stop.is_set(),
        }
    )


kafka_job = dg.define_asset_job(
    "load_kafka",
    selection=dg.AssetSelection.assets(kafka_events),
    tags={"beaconhouse/warehouse": "write"},
    description="One Kafka micro-batch run: consume to the end of the topic, exactly once.",
)

kafka_schedule = dg.ScheduleDefinition(
    name="kafka_every_5_minutes",
    job=kafka_job,
    cron_schedule="*/5 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="The Kafka micro-batch. Off until turned on: a deployment without Kafka has no topic.",
)
