"""A sensor that loads the days of newly landed files."""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import SensorEvaluationContext

from beaconhouse.ingest.sources import SourceError, list_files
from orchestration.defs.ingestion.assets import RAW_EVENTS
from orchestration.defs.partitions import daily
from orchestration.defs.resources import BeaconhouseResource


def newly_landed(files: list[Any], cursor: str | None) -> tuple[list[Any], str]:
    """The files modified after the cursor, and the cursor after them.

    The cursor is the newest modification time seen plus the paths modified at that
    very time: a store with one-second timestamps may list a second file of that
    second only on the next look.
    """
    state = json.loads(cursor) if cursor else {"t": 0.0, "paths": []}
    newest, at_newest = float(state["t"]), set(state["paths"])
    fresh = [
        f
        for f in files
        if f.modified is not None
        and (f.modified > newest or (f.modified == newest and f.path not in at_newest))
    ]
    if fresh:
        top = max(f.modified for f in fresh)
        if top > newest:
            newest, at_newest = top, set()
        at_newest |= {f.path for f in fresh if f.modified == newest}
    return fresh, json.dumps({"t": newest, "paths": sorted(at_newest)})


@dg.sensor(
    name="new_landing_files",
    asset_selection=[RAW_EVENTS],
    minimum_interval_seconds=60,
    description="Loads the day partitions of files that landed since the last look.",
)
def new_landing_files(
    context: SensorEvaluationContext, beaconhouse: BeaconhouseResource
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    settings = beaconhouse.settings()
    try:
        files = list_files(settings.landing.url, settings.s3)
    except SourceError as exc:
        yield dg.SkipReason(f"cannot list the landing location: {exc}")
        return
    fresh, cursor = newly_landed(files, context.cursor)
    days = sorted({f.day for f in fresh if f.day is not None})
    known = set(daily.get_partition_keys())
    for day in days:
        key = day.isoformat()
        if key not in known:
            context.log.warning(
                f"files of {key} are outside the daily partitions; load them with `ingest files`"
            )
            continue
        yield dg.RunRequest(run_key=f"{key}:{cursor}", partition_key=key)
    context.update_cursor(cursor)
    if not days:
        yield dg.SkipReason("no new files")
