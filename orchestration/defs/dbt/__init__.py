"""dbt: the marts, built through dagster-dbt, and the site metadata they read."""

import dagster as dg
from dagster_dbt import DbtCliResource

from beaconhouse.transform import dbt_executable
from orchestration.defs.dbt.assets import daily_models, monitoring_models, setup_models
from orchestration.defs.dbt.automation import daily_marts, late_data
from orchestration.defs.dbt.project import DBT_PROJECT
from orchestration.defs.dbt.site_metadata import site_metadata

defs = dg.Definitions(
    assets=[site_metadata, setup_models, daily_models, monitoring_models],
    schedules=[daily_marts],
    sensors=[late_data],
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())},
)
