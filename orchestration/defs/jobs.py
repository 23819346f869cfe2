"""The jobs the schedules, sensors, the demo and ``beaconhouse backfill`` run.

Every job carries the tag ``beaconhouse/warehouse``: the run queue in dagster.yaml lets
at most two of them write to the warehouse at once, so a wide backfill cannot swamp it.
"""

import dagster as dg

from orchestration.defs.clickhouse.schema import warehouse_schema
from orchestration.defs.dbt.assets import daily_models, monitoring_models, setup_models
from orchestration.defs.dbt.site_metadata import site_metadata
from orchestration.defs.freshness import freshness_checks
from orchestration.defs.ingestion.assets import landing_files
from orchestration.defs.retention.checks import manifest_matches_partitions, no_unverified_drops
from orchestration.defs.tags import WAREHOUSE_TAG

#: freshness is judged by its own sensor, not inside the runs that build the partitions
FRESHNESS = dg.AssetSelection.checks(*freshness_checks)
#: the archive's checks sit on raw/events too, but run after the archive job, on their own
RETENTION = dg.AssetSelection.checks(no_unverified_drops, manifest_matches_partitions)

#: the raw layer from the landing files, a UTC delivery day per partition
files_job = dg.define_asset_job(
    "load_landing_files",
    selection=dg.AssetSelection.assets(landing_files) - FRESHNESS - RETENTION,
    tags=WAREHOUSE_TAG,
    description="Load the landing files of a UTC day (or a range) into the raw layer, then check them.",
)

#: the marts of a site-local day (or a range), and their dbt tests
marts_job = dg.define_asset_job(
    "build_daily_marts",
    selection=dg.AssetSelection.assets(daily_models, monitoring_models) - FRESHNESS,
    tags=WAREHOUSE_TAG,
    description="Build the marts of a site-local day (or a range) with dbt, tests included.",
)

#: views, dimensions and the site metadata the marts read; cheap, run before the marts
setup_job = dg.define_asset_job(
    "publish_sites_and_views",
    selection=dg.AssetSelection.assets(warehouse_schema, site_metadata, setup_models),
    tags=WAREHOUSE_TAG,
    description=(
        "Apply pending migrations, publish the configured sites (time zones, goals) "
        "and build the views and dimensions."
    ),
)
