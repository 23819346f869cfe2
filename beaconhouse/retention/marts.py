"""Rebuild the marts of site-local days after rows came back or were removed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from beaconhouse.config import Settings
from beaconhouse.transform import dbt_command, run_dbt


class MartsRebuildError(RuntimeError):
    """dbt failed; the message carries the end of its output."""


def utc_days_of(timezone: str, first_local: dt.date, last_local: dt.date) -> tuple[dt.date, dt.date]:
    """The UTC days (raw.events partitions) that hold a range of a site's local days."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(first_local, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last_local + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start.date(), (end - dt.timedelta(milliseconds=1)).date()


def rebuild_marts(settings: Settings, first_local: dt.date, last_local: dt.date) -> None:
    """``dbt build`` of the site-local days (every site's; insert_overwrite per day).

    dbt's window is in site-local days for every site at once; a site whose rows did
    not change gets the same rows back.
    """
    command = dbt_command("build", extra=["--exclude-resource-type", "unit_test"])
    result = run_dbt(settings, command, min_date=first_local, max_date=last_local, capture=True)
    if result.returncode != 0:
        tail = " | ".join(result.stdout.strip().splitlines()[-5:])
        raise MartsRebuildError(f"dbt build {first_local}..{last_local} failed: {tail}")


def contiguous_ranges(days: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """``{1, 2, 3, 7}`` as ``[(1, 3), (7, 7)]`` (first and last day of each run)."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if ranges and day - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges
