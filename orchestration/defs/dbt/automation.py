"""When the marts are built: once every site's local day is over, and again when late
events reach a day already built.

- ``daily_marts`` (schedule, hourly): requests the partition of a site-local day once
  that day has ended in *every* site's time zone, plus a grace period for stragglers.
  With sites from Tokyo to New York, the day ends at different UTC hours; the latest
  end decides.
- ``late_data`` (sensor): reads ``monitoring/late_data_days`` and rebuilds the days
  whose marts miss events that arrived since their build.
- Freshness checks (``orchestration/defs/freshness.py``): yesterday's files and marts
  should exist by 06:00 UTC.
"""

import datetime as dt
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import ScheduleEvaluationContext, SensorEvaluationContext

from beaconhouse.config import Site
from beaconhouse.transform import late_days
from beaconhouse.warehouse.client import connect
from orchestration.defs.partitions import daily
from orchestration.defs.resources import BeaconhouseResource

#: the job in orchestration/defs/jobs.py, by name: that module imports this package
MARTS_JOB = "build_daily_marts"
#: wait this long after the last site's midnight: late beacons, the last files
GRACE = dt.timedelta(hours=2)
#: how many past days a tick looks at (a missed tick is made up for)
LOOKBACK_DAYS = 3


def day_ends_everywhere(day: dt.date, sites: Sequence[Site]) -> dt.datetime:
    """The UTC moment the site-local ``day`` has ended for every site."""
    ends = [
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZoneInfo(site.timezone)).astimezone(dt.UTC)
        for site in sites
    ] or [dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)]
    return max(ends)


def completed_days(now: dt.datetime, sites: Sequence[Site], grace: dt.timedelta = GRACE) -> list[dt.date]:
    """The recent site-local days that are over everywhere, ``grace`` included."""
    today = now.astimezone(dt.UTC).date()
    candidates = [today - dt.timedelta(days=n) for n in range(LOOKBACK_DAYS, -2, -1)]
    return [day for day in candidates if day_ends_everywhere(day, sites) + grace <= now]


@dg.schedule(
    name="daily_marts",
    job_name=MARTS_JOB,
    cron_schedule="20 * * * *",
    description="Builds each site-local day's marts once the day is over in every site's time zone.",
)
def daily_marts(
    context: ScheduleEvaluationContext, beaconhouse: BeaconhouseResource
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    settings = beaconhouse.settings()
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    known = set(daily.get_partition_keys(current_time=now))
    days = [d for d in completed_days(now, settings.sites) if d.isoformat() in known]
    for day in days:
        # The run key makes each day one request, however many ticks see it complete.
        yield dg.RunRequest(run_key=f"marts:{day}", partition_key=day.isoformat())
    if not days:
        yield dg.SkipReason("no site-local day has ended everywhere yet")


@dg.sensor(
    name="late_data",
    job_name=MARTS_JOB,
    minimum_interval_seconds=900,
    description="Rebuilds the site-local days whose marts miss events that arrived after their build.",
)
def late_data(
    context: SensorEvaluationContext, beaconhouse: BeaconhouseResource
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    settings = beaconhouse.settings()
    try:
        rows = late_days(connect(settings.warehouse), settings)
    except Exception as exc:  # the view exists once the marts were built: say why and wait
        yield dg.SkipReason(f"cannot read late_data_days: {str(exc).splitlines()[0][:300]}")
        return
    known = set(daily.get_partition_keys())
    latest: dict[str, str] = {}
    for row in rows:
        if row.reason in ("late_events", "never_built") and row.local_date.isoformat() in known:
            key = row.local_date.isoformat()
            latest[key] = max(latest.get(key, ""), str(row.last_loaded_at))
    for key, loaded in sorted(latest.items()):
        # A new late arrival (a later loaded_at) asks again; the same one does not.
        yield dg.RunRequest(run_key=f"late:{key}:{loaded}", partition_key=key)
    if not latest:
        yield dg.SkipReason("no day misses late data")
