"""``beaconhouse archive run|restore`` and ``beaconhouse privacy delete``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from beaconhouse.arguments import bounded_int, iso_date
from beaconhouse.config import Settings


def add_arguments(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """The retention subcommands, added to the top-level ``commands`` subparsers."""
    archive = commands.add_parser("archive", help="retention: archive expired days, restore them")
    ar = archive.add_subparsers(dest="archive_command", required=True, parser_class=parser_class)
    run = ar.add_parser("run", help="export, verify and drop every site's expired days (docs/retention.md)")
    run.add_argument(
        "--dry-run", action="store_true", help="list the site-days it would archive, change nothing"
    )
    restore = ar.add_parser("restore", help="re-load archived days of a site and rebuild their marts")
    restore.add_argument("--site", type=bounded_int("website id", 1, 4_294_967_295), required=True)
    restore.add_argument(
        "--from", dest="min_date", type=iso_date, required=True, help="first site-local day (YYYY-MM-DD)"
    )
    restore.add_argument("--to", dest="max_date", type=iso_date, help="last site-local day (default: --from)")

    privacy = commands.add_parser("privacy", help="privacy requests")
    pr = privacy.add_subparsers(dest="privacy_command", required=True, parser_class=parser_class)
    delete = pr.add_parser(
        "delete", help="remove one person's events from raw, quarantine, archive and marts"
    )
    delete.add_argument("--site", type=bounded_int("website id", 1, 4_294_967_295), required=True)
    who = delete.add_mutually_exclusive_group(required=True)
    who.add_argument("--visitor", help="the visitor id")
    who.add_argument("--user", help="the site's user id")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the parsed retention command."""
    from clickhouse_connect.driver.exceptions import DatabaseError

    from beaconhouse.cli import CommandError
    from beaconhouse.commands import _client, _database_error
    from beaconhouse.retention.archive_job import ArchiveMismatchError
    from beaconhouse.retention.marts import MartsRebuildError
    from beaconhouse.retention.privacy import PrivacyError
    from beaconhouse.retention.restore import RestoreError

    site = getattr(args, "site", None)
    if site is not None and site not in {s.website_id for s in settings.sites}:
        raise CommandError(f"unknown site {site}: it is not in [[sites]]")
    if args.command == "privacy" and not (args.visitor or args.user):
        raise CommandError(f"--{'visitor' if args.visitor is not None else 'user'} is empty")
    try:
        client = _client(settings)
        if args.command == "archive" and args.archive_command == "run":
            return _archive_run(client, settings, args.dry_run)
        assert site is not None  # argparse requires --site for restore and delete
        if args.command == "archive":
            return _restore(client, settings, site, args.min_date, args.max_date or args.min_date)
        return _privacy_delete(client, settings, site, args.visitor, args.user)
    except (ArchiveMismatchError, RestoreError, PrivacyError, MartsRebuildError, LookupError) as exc:
        raise CommandError(str(exc)) from None
    except DatabaseError as exc:
        raise _database_error(exc) from None


def _archive_run(client: Any, settings: Settings, dry_run: bool) -> int:
    from beaconhouse.retention.archive_job import ArchiveJob, site_days

    report = ArchiveJob(client, settings, progress=lambda line: print(line, file=sys.stderr)).run(dry_run)
    if dry_run:
        print(
            f"would archive {len(report.would_archive)} site-days: {site_days(report.would_archive) or '-'}"
        )
        return 0
    print(
        f"exported {len(report.exported)}, verified {len(report.verified)}, dropped {len(report.dropped)} "
        f"site-days ({len(report.partitions_dropped)} whole partitions); {len(report.held)} restored and held"
    )
    for conflict in report.conflicts:
        print(f"NOT DROPPED  {conflict}")
    return 1 if report.conflicts else 0


def _restore(client: Any, settings: Settings, site: int, first: Any, last: Any) -> int:
    from beaconhouse.retention.restore import restore

    report = restore(client, settings, site, first, last)
    print(f"restored {len(report.restored)} site-days, {report.rows} rows; marts rebuilt for {first}..{last}")
    return 0


def _privacy_delete(client: Any, settings: Settings, site: int, visitor: str | None, user: str | None) -> int:
    from beaconhouse.retention.privacy import PrivacyDeletion

    kind, value = ("visitor", visitor) if visitor is not None else ("user", user)
    assert value  # argparse requires one of the two, run() refuses an empty one
    report = PrivacyDeletion(client, settings, site, kind, value).run()  # type: ignore[arg-type]
    print(
        f"request {report.request_id}: removed {report.raw_events_deleted} events, "
        f"{report.quarantine_deleted} quarantined rows, {report.archive_rows_deleted} archived rows "
        f"in {report.archive_objects_rewritten} objects; marts rebuilt for "
        f"{len(report.mart_days_rebuilt)} days"
    )
    return 0
