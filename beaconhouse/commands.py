"""The ``beaconhouse warehouse …`` commands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from beaconhouse.cli import CommandError
from beaconhouse.config import Settings


def warehouse_serve(args: argparse.Namespace, settings: Settings) -> int:
    from beaconhouse.warehouse.engine import DataDirLockedError
    from beaconhouse.warehouse.server import serve

    server_settings = settings.warehouse.server.model_copy(
        update={
            k: v
            for k, v in (("data_dir", args.data_dir), ("host", args.host), ("port", args.port))
            if v is not None
        }
    )
    try:
        return serve(server_settings, announce=lambda line: print(line, file=sys.stderr, flush=True))
    except DataDirLockedError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(
            f"cannot listen on {server_settings.host}:{server_settings.port}: {exc.strerror}"
        ) from None


def _client(settings: Settings, database: str | None = None) -> Any:
    from beaconhouse.warehouse.client import connect

    return connect(settings.warehouse, database=database)


def _database_error(exc: Exception) -> CommandError:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "DB::Exception" in line or line.startswith("Code:"):
            return CommandError(line.strip())
    return CommandError(lines[0] if lines else type(exc).__name__)


def warehouse_query(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse_connect.driver.exceptions import DatabaseError
    from rich.console import Console
    from rich.table import Table

    client = _client(settings, args.database)
    try:
        result = client.query(args.sql)
    except DatabaseError as exc:
        raise _database_error(exc) from None
    console = Console()
    if not result.column_names:
        console.print("OK")
        return 0
    table = Table(show_lines=False, header_style="bold")
    for name, type_ in zip(result.column_names, result.column_types, strict=True):
        table.add_column(f"{name}\n[dim]{type_.name}[/dim]", overflow="fold")
    rows = result.result_rows
    for row in rows[: args.max_rows]:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    console.print(table)
    more = f" (showing {args.max_rows})" if len(rows) > args.max_rows else ""
    console.print(f"[dim]{len(rows)} row{'s' if len(rows) != 1 else ''}{more}[/dim]")
    return 0


def schema_context(settings: Settings) -> Any:
    from beaconhouse.warehouse.migrations import SchemaContext

    wh = settings.warehouse
    return SchemaContext(
        raw_db=wh.raw_database, meta_db=wh.meta_database, marts_db=wh.marts_database, cluster=wh.cluster
    )


def warehouse_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse_connect.driver.exceptions import DatabaseError

    from beaconhouse.warehouse.migrations import apply_migrations

    client = _client(settings)
    try:
        report = apply_migrations(client, schema_context(settings))
    except DatabaseError as exc:
        raise _database_error(exc) from None
    for migration in report.applied:
        print(f"applied  {migration.label}")
    for migration in report.skipped:
        print(f"current  {migration.label}")
    for warning in report.warnings:
        print(f"WARNING  {warning}")
    print(f"{len(report.applied)} applied, {len(report.skipped)} already current")
    return 0


def warehouse_schema(args: argparse.Namespace, settings: Settings) -> int:
    print_schema(settings)
    return 0


def print_schema(settings: Settings) -> None:
    """Print the raw layer's tables and columns."""
    from rich.console import Console
    from rich.table import Table

    client = _client(settings)
    databases = [settings.warehouse.raw_database, settings.warehouse.meta_database]
    tables = client.query(
        "SELECT database, name, engine, partition_key, sorting_key FROM system.tables "
        "WHERE database IN {dbs:Array(String)} ORDER BY database, name",
        parameters={"dbs": databases},
    ).result_rows
    console = Console()
    for database, name, engine, partition_key, sorting_key in tables:
        columns = client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
            "ORDER BY position",
            parameters={"db": database, "t": name},
        ).result_rows
        table = Table(title=f"{database}.{name}  [dim]{engine}[/dim]", title_justify="left")
        table.add_column("column")
        table.add_column("type")
        for column, type_ in columns:
            table.add_row(column, type_)
        console.print(table)
        if partition_key or sorting_key:
            console.print(f"  [dim]PARTITION BY {partition_key or '-'}  ORDER BY ({sorting_key})[/dim]")


def ingest_files(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse_connect.driver.exceptions import DatabaseError

    from beaconhouse.ingest.errors import IngestError
    from beaconhouse.ingest.files_pipeline import ingest_files as run
    from beaconhouse.ingest.sources import SourceError

    try:
        report = run(
            settings,
            args.url,
            default_site=args.site,
            reload_changed=args.reload_changed,
            workers=args.workers,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except (IngestError, SourceError) as exc:
        raise CommandError(str(exc)) from None
    except DatabaseError as exc:
        raise _database_error(exc) from None
    reasons = ", ".join(f"{reason} {count}" for reason, count in report.quarantined.most_common())
    print(
        f"files: {report.files_loaded} loaded, {report.files_unchanged} unchanged, "
        f"{len(report.files_changed)} changed after loading"
    )
    print(
        f"events: {report.events_loaded} loaded, {report.duplicates} duplicates dropped, "
        f"{report.quarantined_total} quarantined" + (f" ({reasons})" if reasons else "")
    )
    print(f"{report.payloads} payloads in {report.seconds:.1f}s")
    for path in report.files_changed:
        print(f"CHANGED  {path}")
    return 0


def ingest_kafka(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from clickhouse_connect.driver.exceptions import DatabaseError
    from confluent_kafka import KafkaException
    from dlt.pipeline.exceptions import PipelineStepFailed

    from beaconhouse.ingest.errors import IngestError
    from beaconhouse.ingest.kafka_pipeline import ingest_kafka as run

    stop = threading.Event()
    # SIGTERM (a deployment stopping it) ends the run after the batch in hand has landed.
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        report = run(
            settings,
            topic=args.topic,
            group=args.group,
            max_batch=args.max_batch,
            until_idle=args.until_idle,
            idle_seconds=args.idle_seconds,
            reset_offsets=args.reset_offsets,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            stop=stop,
        )
    except IngestError as exc:
        raise CommandError(str(exc)) from None
    except DatabaseError as exc:
        raise _database_error(exc) from None
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        raise CommandError(f"kafka: {error.str() if hasattr(error, 'str') else error}") from None
    except PipelineStepFailed as exc:
        # A load that failed: dlt's message spans many lines, the cause is in one of them.
        cause = _database_error(exc.exception) if isinstance(exc.exception, Exception) else exc
        raise CommandError(f"loading into the warehouse failed: {cause}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    reasons = ", ".join(f"{reason} {count}" for reason, count in report.quarantined.most_common())
    print(
        f"kafka: {report.messages} messages of {report.topic} (group {report.group}) "
        f"in {report.batches} batches, {report.seconds:.1f}s"
    )
    print(
        f"events: {report.events_loaded} loaded, {report.duplicates} duplicates dropped, "
        f"{report.quarantined_total} quarantined" + (f" ({reasons})" if reasons else "")
    )
    for line in report.cleaned_up:
        print(f"CLEANED UP  {line}")
    for line in report.resets:
        print(f"RESET  {line}")
    lags = " ".join(f"{report.topic}[{p}]={lag.lag}" for p, lag in sorted(report.lag.items()))
    print(f"lag: {report.total_lag}" + (f" ({lags})" if lags else ""))
    return 0


def generate(args: argparse.Namespace, settings: Settings) -> int:
    from beaconhouse.generate.cli import format_report, options_from_args, run

    try:
        report = run(
            settings, options_from_args(args), progress=lambda line: print(line, file=sys.stderr, flush=True)
        )
    except (ValueError, OSError) as exc:
        raise CommandError(f"generate: {exc}") from None
    print(format_report(report))
    return 0


def events_schema(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from beaconhouse.events.contract import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def sites_sync(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse_connect.driver.exceptions import DatabaseError

    from beaconhouse.site_metadata import SyncError, sync_sites

    if not settings.sites:
        raise CommandError("no [[sites]] configured: there is nothing to sync")
    client = _client(settings)
    try:
        report = sync_sites(client, settings)
    except SyncError as exc:
        raise CommandError(str(exc)) from None
    except DatabaseError as exc:
        error = _database_error(exc)
        if "UNKNOWN_TABLE" in str(error) or "UNKNOWN_DATABASE" in str(error):
            raise CommandError(
                f"{error} (run `beaconhouse warehouse migrate` first: V0005 creates the site tables)"
            ) from None
        raise error from None
    print(
        f"synced {report.sites} sites, {report.goals} goals, {report.timezones} time zones "
        f"({report.offset_periods} offset periods) at {report.synced_at.isoformat(timespec='milliseconds')}"
    )
    return 0


def transform_build(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse_connect.driver.exceptions import DatabaseError

    from beaconhouse.transform import dbt_command, run_dbt, synced_sites_differ

    try:
        problems = synced_sites_differ(_client(settings), settings)
    except DatabaseError as exc:
        raise _database_error(exc) from None
    if problems:
        raise CommandError(f"{problems[0]}: run `beaconhouse sites sync` before building the marts")
    command = dbt_command(
        "build",
        select=args.select,
        full_refresh=args.full_refresh,
        # unit tests check the code, not the data: CI runs them (make test)
        extra=["--exclude-resource-type", "unit_test"],
    )
    result = run_dbt(settings, command, min_date=args.min_date, max_date=args.max_date)
    if result.returncode != 0:
        raise CommandError(f"dbt build failed (exit code {result.returncode}); its output is above")
    return 0


def transform_late_days(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse_connect.driver.exceptions import DatabaseError

    from beaconhouse.transform import late_days

    try:
        days = late_days(_client(settings), settings)
    except DatabaseError as exc:
        raise _database_error(exc) from None
    if not days:
        print("every built day is current")
        return 0
    for day in days:
        print(
            f"{day.local_date}  site {day.website_id}  {day.reason}: raw {day.raw_events} events, "
            f"built from {day.built_events}"
        )
    first, last = days[0].local_date, max(d.local_date for d in days)
    print(f"rebuild with: beaconhouse transform build --from {first} --to {last}")
    return 0
