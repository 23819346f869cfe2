"""The retention jobs: archive (daily), restore and privacy deletion (on request), checks."""

import datetime as dt

import dagster as dg

from orchestration.defs.resources import BeaconhouseResource
from orchestration.defs.retention.checks import manifest_matches_partitions, no_unverified_drops
from orchestration.defs.tags import WAREHOUSE_TAG


@dg.op(description="Export, verify, record and drop every site's expired UTC days (docs/retention.md).")
def archive_expired_days(context: dg.OpExecutionContext, beaconhouse: BeaconhouseResource) -> None:
    from beaconhouse.retention.archive_job import ArchiveJob
    from beaconhouse.warehouse.client import connect

    settings = beaconhouse.settings()
    report = ArchiveJob(connect(settings.warehouse), settings, progress=context.log.info).run()
    context.log.info(
        f"exported {len(report.exported)}, verified {len(report.verified)}, dropped {len(report.dropped)} "
        f"site-days, {len(report.partitions_dropped)} whole partitions; {len(report.held)} restored and held"
    )
    if report.conflicts:
        raise dg.Failure(
            description="site-days not dropped: their rows differ from the archive",
            metadata={"conflicts": dg.MetadataValue.md("\n".join(f"- {c}" for c in report.conflicts))},
        )


class RestoreConfig(dg.Config):
    """Which site and which of its local days to restore."""

    site: int
    from_date: str
    to_date: str = ""


@dg.op(description="Re-load archived days of a site into raw.events and rebuild their marts.")
def restore_days(
    context: dg.OpExecutionContext, config: RestoreConfig, beaconhouse: BeaconhouseResource
) -> None:
    from beaconhouse.retention.restore import restore
    from beaconhouse.warehouse.client import connect

    first = dt.date.fromisoformat(config.from_date)
    last = dt.date.fromisoformat(config.to_date) if config.to_date else first
    if first > last:
        raise dg.Failure(description=f"from_date {first} is after to_date {last}")
    settings = beaconhouse.settings()
    report = restore(connect(settings.warehouse), settings, config.site, first, last)
    context.log.info(f"restored {len(report.restored)} site-days, {report.rows} rows; marts {first}..{last}")


class PrivacyDeleteConfig(dg.Config):
    """One person of one site: a visitor id or a user id, not both.

    Dagster keeps run config in its run history: the CLI (``beaconhouse privacy
    delete``) leaves no identifier behind, this job does (docs/retention.md).
    """

    site: int
    visitor: str = ""
    user: str = ""


@dg.op(description="Remove one person's events from raw, quarantine, archive and marts.")
def delete_person(
    context: dg.OpExecutionContext, config: PrivacyDeleteConfig, beaconhouse: BeaconhouseResource
) -> None:
    from beaconhouse.retention.privacy import PrivacyDeletion
    from beaconhouse.warehouse.client import connect

    if bool(config.visitor) == bool(config.user):
        raise dg.Failure(description="give exactly one of visitor and user")
    kind, value = ("visitor", config.visitor) if config.visitor else ("user", config.user)
    settings = beaconhouse.settings()
    report = PrivacyDeletion(connect(settings.warehouse), settings, config.site, kind, value).run()  # type: ignore[arg-type]
    context.log.info(f"privacy request {report.request_id} done")


@dg.job(tags=WAREHOUSE_TAG, description="Archive every site's expired days, verified, then drop them.")
def archive_job() -> None:
    archive_expired_days()


@dg.job(tags=WAREHOUSE_TAG, description="Restore a site's archived local days and rebuild their marts.")
def restore_job() -> None:
    restore_days()


@dg.job(tags=WAREHOUSE_TAG, description="Delete one person's events everywhere (privacy request).")
def privacy_delete_job() -> None:
    delete_person()


#: daily at 01:30 UTC; stopped until someone turns it on, as dropping data should be a choice
archive_schedule = dg.ScheduleDefinition(
    job=archive_job,
    cron_schedule="30 1 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

retention_checks_job = dg.define_asset_job(
    "retention_checks",
    selection=dg.AssetSelection.checks(no_unverified_drops, manifest_matches_partitions),
    description="Check the archive manifest against raw.events.",
)

#: an hour after the archive job
retention_checks_schedule = dg.ScheduleDefinition(
    job=retention_checks_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
