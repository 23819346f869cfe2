"""``druid_after_marts``: ingest a day into Druid once its marts have been (re)built.

It follows the materialisations of ``marts/fct_page_views``: every partition built
since the last look (a schedule's day, a late-data rebuild, a backfill of a range) is
requested once for ``ingest_druid``. Stopped by default: turn it on where a Druid
cluster is configured.
"""

from collections.abc import Iterator

import dagster as dg
from dagster import SensorEvaluationContext

from orchestration.defs.druid.assets import FCT_PAGE_VIEWS, druid_job

#: materialisation records read per tick; the rest wait for the next tick
BATCH = 500


def partitions_to_request(records: list[tuple[int, str | None]]) -> tuple[list[str], int | None]:
    """The distinct partition keys of ``(storage_id, partition_key)`` records, in
    order, and the highest storage id seen (the next cursor)."""
    keys: list[str] = []
    for _, key in sorted(records):
        if key is not None and key not in keys:
            keys.append(key)
    return keys, max((storage_id for storage_id, _ in records), default=None)


@dg.sensor(
    name="druid_after_marts",
    job=druid_job,
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Ingests into Druid each site-local day whose marts were built since the last look.",
)
def druid_after_marts(context: SensorEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
    after = int(context.cursor) if context.cursor else None
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=FCT_PAGE_VIEWS, after_storage_id=after), limit=BATCH, ascending=True
    )
    keys, newest = partitions_to_request([(r.storage_id, r.partition_key) for r in result.records])
    for key in keys:
        # the run key makes a re-evaluation of the same records request nothing twice
        yield dg.RunRequest(run_key=f"{key}:{newest}", partition_key=key)
    if newest is not None:
        context.update_cursor(str(newest))
    if not keys:
        yield dg.SkipReason("no marts built since the last look")
