"""The dbt models as Dagster assets, in two groups.

- ``daily_models``: the models dbt builds a site-local day at a time (the
  ``daily_partitions`` selector: sessionised events, facts and daily aggregates). One
  partition is one site-local day for every site; the partition window reaches dbt as
  ``DBT_VAR_MIN_DATE``/``DBT_VAR_MAX_DATE`` (the vars ``min_date``/``max_date`` by the
  environment, which keeps dbt's partial parse valid from day to day), and a backfill
  of many days is one dbt run.
- ``setup_models``: staging views, and tables rebuilt whole (``dim_websites``): built
  before the daily models, which read them.
- ``monitoring_models``: views over the built marts (``late_data_days``): built after.

dbt's tests run with the models (``dbt build``) and appear as asset checks; a failing
test stops the models below it. The dbt source ``raw.events`` is the loader's asset
``raw/events``, and the ``meta`` sources are the site metadata ``sites sync`` publishes.
"""

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from beaconhouse.config import Settings
from beaconhouse.transform import dbt_environment, window_environment
from orchestration.defs.dbt.project import DBT_PROJECT, manifest_path
from orchestration.defs.ingestion import KAFKA_EVENTS, RAW_EVENTS
from orchestration.defs.partitions import daily
from orchestration.defs.resources import BeaconhouseResource

#: the folders of the project, and the asset key prefix and group of their models
LAYERS = ("staging", "intermediate", "marts", "monitoring")
DAILY_SELECTOR = "daily_partitions"
SETUP_SELECTION = "path:models/staging config.materialized:view config.materialized:table"
MONITORING_SELECTION = "path:models/monitoring"
#: tests run with the build whose models they all read: a relationship test between a
#: daily fact and dim_websites runs with the daily build, when both exist
CAUTIOUS = ["--indirect-selection", "cautious"]


class BeaconhouseDbtTranslator(DagsterDbtTranslator):
    """Models are keyed by layer (``marts/fct_sessions``); sources by schema name
    (``raw/events``, ``meta/sites``), which the loader and the site sync produce.

    raw.events has two writers: the landing files (``raw/events``) and the Kafka
    micro-batch (``raw/kafka_events``); what reads the source depends on both.
    """

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec: dg.AssetSpec = super().get_asset_spec(manifest, unique_id, project)
        if any(dep.asset_key == RAW_EVENTS for dep in spec.deps):
            spec = spec.merge_attributes(deps=[KAFKA_EVENTS])
        return spec

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return _layer(dbt_resource_props)


def _layer(props: Mapping[str, Any]) -> str:
    parts = str(props.get("original_file_path", "")).split("/")
    return next((part for part in parts if part in LAYERS), "models")


TRANSLATOR = BeaconhouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@contextlib.contextmanager
def dbt_environment_of(
    settings: Settings, first: dt.date | None = None, last: dt.date | None = None
) -> Iterator[None]:
    """The environment dbt reads, set for the duration of one dbt call: the profile's
    warehouse and databases (the same BEACONHOUSE_* variables as beaconhouse), and the
    build window ``first``..``last`` (unbounded without one).

    DbtCliResource starts dbt with this process's environment.
    """
    wanted = {**dbt_environment(settings, base={}), **window_environment(first, last)}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def window_days(window: dg.TimeWindow) -> tuple[dt.date, dt.date]:
    """The first and last site-local day of a partition window, inclusive."""
    return window.start.date(), window.end.date() - dt.timedelta(days=1)


@dbt_assets(
    manifest=manifest_path(),
    project=DBT_PROJECT,
    selector=DAILY_SELECTOR,
    name="daily_models",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=TRANSLATOR,
    op_tags={"beaconhouse/warehouse": "write"},
)
def daily_models(
    context: AssetExecutionContext, dbt: DbtCliResource, beaconhouse: BeaconhouseResource
) -> Any:
    settings = beaconhouse.settings()
    first, last = window_days(context.partition_time_window)
    context.log.info(f"dbt build --selector {DAILY_SELECTOR}, site-local days {first}..{last}")
    with dbt_environment_of(settings, first, last):
        yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=manifest_path(),
    project=DBT_PROJECT,
    select=SETUP_SELECTION,
    exclude=MONITORING_SELECTION,
    name="setup_models",
    dagster_dbt_translator=TRANSLATOR,
    op_tags={"beaconhouse/warehouse": "write"},
)
def setup_models(
    context: AssetExecutionContext, dbt: DbtCliResource, beaconhouse: BeaconhouseResource
) -> Any:
    with dbt_environment_of(beaconhouse.settings()):
        yield from dbt.cli(["build", *CAUTIOUS], context=context).stream()


@dbt_assets(
    manifest=manifest_path(),
    project=DBT_PROJECT,
    select=MONITORING_SELECTION,
    name="monitoring_models",
    dagster_dbt_translator=TRANSLATOR,
    op_tags={"beaconhouse/warehouse": "write"},
)
def monitoring_models(
    context: AssetExecutionContext, dbt: DbtCliResource, beaconhouse: BeaconhouseResource
) -> Any:
    with dbt_environment_of(beaconhouse.settings()):
        yield from dbt.cli(["build", *CAUTIOUS], context=context).stream()
