"""The ``beaconhouse druid …`` commands: print a day's spec, ingest days, check them."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from beaconhouse.cli import CommandError
from beaconhouse.config import Settings


def _days(args: argparse.Namespace) -> list[dt.date]:
    first, last = args.min_date, args.max_date or args.min_date
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def druid_spec(args: argparse.Namespace, settings: Settings) -> int:
    from beaconhouse.druid.export import export_location
    from beaconhouse.druid.spec import ingestion_spec

    print(json.dumps(ingestion_spec(settings.druid, args.day, export_location(settings, args.day)), indent=2))
    return 0


def druid_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from beaconhouse.druid.export import ExportError
    from beaconhouse.druid.ingest import ingest_day
    from beaconhouse.druid.overlord import DruidError

    for day in _days(args):
        try:
            done = ingest_day(
                settings,
                day,
                on_poll=lambda s: print(f"{s.task_id}: {s.status_code}", file=sys.stderr, flush=True),
            )
        except (ExportError, DruidError) as exc:
            raise CommandError(f"{day}: {exc}") from None
        print(
            f"{day}: {done.export.rows} rows exported to {done.export.location}; "
            f"task {done.task_id} {done.status.status_code} in {done.seconds:.1f} s"
        )
    return 0


def druid_check(args: argparse.Namespace, settings: Settings) -> int:
    from beaconhouse.druid.overlord import DruidError
    from beaconhouse.druid.totals import check_day

    failed = 0
    for day in _days(args):
        try:
            comparison = check_day(settings, day)
        except DruidError as exc:
            raise CommandError(f"{day}: {exc}") from None
        print(("OK    " if comparison.passed else "DIFF  ") + comparison.summary())
        failed += not comparison.passed
    return 1 if failed else 0
