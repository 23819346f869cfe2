"""Landing files → the raw layer, one daily partition per run, through dagster-dlt.

A partition is the UTC day the files were delivered (``date=`` folders, or the
files' modification dates; see :attr:`beaconhouse.ingest.sources.SourceFile.day`).
Its run is one dlt load of those files (:func:`landing_files_source`): rerunning a
day loads only files that arrived since, so a backfill over loaded days changes
nothing.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from beaconhouse.config import Settings
from beaconhouse.ingest.files_pipeline import PIPELINE_NAME, IngestReport
from beaconhouse.ingest.landing_source import landing_files_source
from beaconhouse.ingest.loading import raw_pipeline
from orchestration.defs.clickhouse.schema import SCHEMA
from orchestration.defs.partitions import daily, days_of
from orchestration.defs.resources import BeaconhouseResource

#: raw.events; the dbt source of the same table maps to this key
RAW_EVENTS = dg.AssetKey(["raw", "events"])


class RawLayerTranslator(DagsterDltTranslator):
    """The dlt resource that loads the raw tables is the asset ``raw/events``."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec: dg.AssetSpec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=RAW_EVENTS,
            deps=[SCHEMA],
            group_name="ingestion",
            description=(
                "Validated, enriched, deduplicated web events (raw.events), with their "
                "quarantine (raw.events_quarantine) and per-minute counters "
                "(raw.ingest_counters), loaded from the landing files of one UTC day."
            ),
            kinds={"dlt", "clickhouse"},
        )


def _report_metadata(report: IngestReport) -> dict[str, Any]:
    return {
        "files_loaded": report.files_loaded,
        "files_already_loaded": report.files_unchanged,
        "files_changed_after_loading": len(report.files_changed),
        "payloads": report.payloads,
        "events_loaded": report.events_loaded,
        "duplicates_dropped": report.duplicates,
        "quarantined": report.quarantined_total,
        "quarantine_reasons": dg.MetadataValue.json(dict(report.quarantined)),
    }


@dlt_assets(
    # The shape of the source (its one resource) at load time; the run builds the
    # real one from the settings.
    dlt_source=landing_files_source(Settings(), ".beaconhouse/landing"),
    dlt_pipeline=raw_pipeline(Settings(), PIPELINE_NAME),
    name="landing_files",
    dagster_dlt_translator=RawLayerTranslator(),
    partitions_def=daily,
    # A backfill of many days is one run and one dlt load, not one per day.
    backfill_policy=dg.BackfillPolicy.single_run(),
    op_tags={"beaconhouse/warehouse": "write"},
)
def landing_files(
    context: AssetExecutionContext, dlt: DagsterDltResource, beaconhouse: BeaconhouseResource
) -> Iterator[Any]:
    settings = beaconhouse.settings()
    days = days_of(context.partition_time_window)
    report = IngestReport()
    source = landing_files_source(settings, settings.landing.url, days=days, report=report)
    pipeline = raw_pipeline(settings, PIPELINE_NAME, beaconhouse.pipelines_path())
    context.log.info(f"loading the files of {days[0]}..{days[-1]} from {settings.landing.url}")
    for result in dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline):
        # dlt's own metadata (load ids, rows per table) plus what the loader counted.
        yield dg.MaterializeResult(
            asset_key=result.asset_key, metadata={**(result.metadata or {}), **_report_metadata(report)}
        )
