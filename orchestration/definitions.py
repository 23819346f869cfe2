"""The code location: every integration's definitions, merged.

``dagster dev -m orchestration.definitions`` (``make dagster``) serves ``defs``;
``beaconhouse demo`` and ``beaconhouse backfill`` run the same jobs in process, with
the resource pointed at their configuration (:func:`definitions`).
"""

import dagster as dg

from orchestration.defs import clickhouse, dbt, druid, freshness, ingestion, quality, retention
from orchestration.defs.jobs import files_job, marts_job, setup_job
from orchestration.defs.resources import BeaconhouseResource


def definitions(beaconhouse: BeaconhouseResource | None = None) -> dg.Definitions:
    """All definitions, with ``beaconhouse`` as the configuration resource."""
    return dg.Definitions.merge(
        clickhouse.defs,
        ingestion.defs,
        dbt.defs,
        quality.defs,
        freshness.defs,
        druid.defs,
        retention.defs,
        dg.Definitions(
            jobs=[files_job, marts_job, setup_job],
            resources={"beaconhouse": beaconhouse or BeaconhouseResource()},
        ),
    )


defs = definitions()
