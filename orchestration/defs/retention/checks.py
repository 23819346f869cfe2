"""Asset checks on raw.events: no unverified drops, the manifest agrees with the partitions."""

import dagster as dg

from orchestration.defs.ingestion import RAW_EVENTS
from orchestration.defs.resources import BeaconhouseResource


def _result(problems: list[str], warnings: list[str] | None = None) -> dg.AssetCheckResult:
    warnings = warnings or []
    return dg.AssetCheckResult(
        passed=not problems and not warnings,
        severity=dg.AssetCheckSeverity.ERROR if problems else dg.AssetCheckSeverity.WARN,
        metadata={
            "problems": len(problems),
            "details": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems + warnings) or "none"),
        },
    )


@dg.asset_check(
    asset=RAW_EVENTS,
    description="Every dropped site-day was verified in the archive first; the TTL outlasts every "
    "site's retention; expired days are archived (a warning if the job is behind).",
)
def no_unverified_drops(beaconhouse: BeaconhouseResource) -> dg.AssetCheckResult:
    from beaconhouse.retention.checks import expired_days_left, ttl_too_short, unverified_drops
    from beaconhouse.warehouse.client import connect

    settings = beaconhouse.settings()
    client = connect(settings.warehouse)
    problems = unverified_drops(client, settings) + ttl_too_short(client, settings)
    return _result(problems, expired_days_left(client, settings))


@dg.asset_check(
    asset=RAW_EVENTS,
    description="The archive manifest agrees with raw.events: dropped site-days hold no rows, "
    "verified and restored ones hold exactly the rows recorded.",
)
def manifest_matches_partitions(beaconhouse: BeaconhouseResource) -> dg.AssetCheckResult:
    from beaconhouse.retention.checks import manifest_disagreements
    from beaconhouse.warehouse.client import connect

    settings = beaconhouse.settings()
    return _result(manifest_disagreements(connect(settings.warehouse), settings))
