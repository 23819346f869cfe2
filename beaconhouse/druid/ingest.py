"""One day into Druid: export the rollup, submit its spec, wait for the task."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.druid.export import DayExport, export_day
from beaconhouse.druid.overlord import OverlordClient, TaskStatus
from beaconhouse.druid.spec import ingestion_spec


@dataclass(frozen=True)
class DayIngestion:
    """What one day's ingestion did."""

    export: DayExport
    task_id: str
    status: TaskStatus
    #: wall-clock seconds from submission to the task's end
    seconds: float
    #: HTTP requests to the Overlord that were retried
    retried_requests: int


def ingest_day(
    settings: Settings,
    day: dt.date,
    client: Any | None = None,
    on_poll: Callable[[TaskStatus], None] | None = None,
    overlord: OverlordClient | None = None,
) -> DayIngestion:
    """Export ``day``, submit its ``index_parallel`` task and wait until it succeeds.

    Raises :class:`~beaconhouse.druid.export.ExportError` or
    :class:`~beaconhouse.druid.overlord.DruidError` (task failed, timed out, refused).
    """
    export = export_day(settings, day, client)
    overlord = overlord or OverlordClient(settings.druid)
    started = time.monotonic()
    task_id = overlord.submit(ingestion_spec(settings.druid, day, export.location))
    status = overlord.wait(task_id, on_poll)
    return DayIngestion(export, task_id, status, time.monotonic() - started, overlord.http.retried)
