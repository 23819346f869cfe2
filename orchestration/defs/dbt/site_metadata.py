"""The site metadata the marts read (``meta/sites``, ``meta/site_goals``,
``meta/timezone_offsets``), published from the configuration by ``sites sync``."""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from beaconhouse.site_metadata import sync_sites
from beaconhouse.warehouse.client import connect
from orchestration.defs.clickhouse.schema import SCHEMA
from orchestration.defs.resources import BeaconhouseResource

SITE_METADATA = [dg.AssetKey(["meta", name]) for name in ("sites", "site_goals", "timezone_offsets")]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key, deps=[SCHEMA], group_name="configuration", kinds={"clickhouse"}, description=description
        )
        for key, description in zip(
            SITE_METADATA,
            (
                "The configured [[sites]]: domain, time zone, bot filtering; one snapshot per sync.",
                "The sites' conversion goals.",
                "Each site time zone's UTC-offset periods, for site-local days and hours.",
            ),
            strict=True,
        )
    ],
    name="site_metadata",
    op_tags={"beaconhouse/warehouse": "write"},
)
def site_metadata(
    context: AssetExecutionContext, beaconhouse: BeaconhouseResource
) -> Iterator[dg.MaterializeResult[None]]:
    settings = beaconhouse.settings()
    report = sync_sites(connect(settings.warehouse), settings)
    context.log.info(f"synced {report.sites} sites, {report.goals} goals, {report.timezones} time zones")
    counts = {
        SITE_METADATA[0]: {"sites": report.sites},
        SITE_METADATA[1]: {"goals": report.goals},
        SITE_METADATA[2]: {"timezones": report.timezones, "offset_periods": report.offset_periods},
    }
    for key, metadata in counts.items():
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)
