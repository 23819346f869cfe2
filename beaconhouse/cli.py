"""The ``beaconhouse`` command line.

Every error a user can cause (a bad argument, a wrong setting, an unreachable
warehouse, a failing query) ends in one clear line on stderr, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from beaconhouse.arguments import bounded_int, iso_date, positive_float
from beaconhouse.config import ConfigError, Settings, load_settings


class UsageError(Exception):
    """A bad command-line argument."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="beaconhouse", description="Web-analytics ELT pipeline on ClickHouse.")
    parser.add_argument(
        "--config", help="beaconhouse.toml to read (default: $BEACONHOUSE_CONFIG or ./beaconhouse.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    warehouse = commands.add_parser("warehouse", help="the ClickHouse warehouse")
    wh = warehouse.add_subparsers(dest="warehouse_command", required=True, parser_class=_Parser)
    serve = wh.add_parser("serve", help="serve ClickHouse's HTTP interface over chDB (embedded server)")
    serve.add_argument("--data-dir", type=Path, help="data folder (default: warehouse.server.data_dir)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=bounded_int("port", 0, 65535), help="port (default 8123; 0 picks a free one)"
    )
    query = wh.add_parser("query", help="run one SQL statement and print the result as a table")
    query.add_argument("sql", help="the SQL statement")
    query.add_argument("--database", help="database to run it in")
    query.add_argument("--max-rows", type=int, default=1000, help="rows to print at most (default 1000)")
    wh.add_parser("migrate", help="apply the versioned DDL in sql/migrations")
    wh.add_parser("schema", help="print the tables and columns of the raw layer")

    generate = commands.add_parser(
        "generate", help="write deterministic synthetic traffic and its ground truth"
    )
    from beaconhouse.generate.cli import add_arguments as generate_arguments

    generate_arguments(generate)

    ingest = commands.add_parser("ingest", help="load events into the raw layer")
    ing = ingest.add_subparsers(dest="ingest_command", required=True, parser_class=_Parser)
    files = ing.add_parser("files", help="load new files from a folder or an s3:// prefix")
    files.add_argument("url", help="a local folder or s3://bucket/prefix")
    files.add_argument(
        "--site",
        type=bounded_int("website id", 1, 4_294_967_295),
        help="website_id of access logs that do not name their site",
    )
    files.add_argument(
        "--workers",
        type=bounded_int("worker count", 0, 64),
        help="processes that parse in parallel (default: none below 4 cores; 2 here is faster "
        "but needs about 1.2 GB instead of 0.9)",
    )
    files.add_argument(
        "--reload-changed",
        action="store_true",
        help="reload files that changed after they were loaded (events dedupe)",
    )

    kafka = ing.add_parser(
        "kafka", help="consume a Kafka topic into the raw layer, exactly once (docs/kafka.md)"
    )
    kafka.add_argument("--topic", help="the topic (default: [kafka] topic)")
    kafka.add_argument("--group", help="the consumer group (default: [kafka] group_id)")
    kafka.add_argument(
        "--max-batch",
        type=bounded_int("batch size", 1, 1_000_000),
        help="messages per batch at most (default: [kafka] max_batch_messages, 100000)",
    )
    kafka.add_argument(
        "--until-idle",
        action="store_true",
        help="stop once every assigned partition is read to its end and nothing arrives",
    )
    kafka.add_argument(
        "--idle-seconds",
        type=positive_float("idle time"),
        default=2.0,
        help="with --until-idle: how long nothing may arrive before stopping (default 2)",
    )
    kafka.add_argument(
        "--reset-offsets",
        choices=["earliest", "latest"],
        help="where to restart a partition whose recorded position the broker no longer has "
        "(a new or reset broker or topic); without it that stops the loader",
    )

    sites = commands.add_parser("sites", help="the configured sites, as dbt sees them")
    st = sites.add_subparsers(dest="sites_command", required=True, parser_class=_Parser)
    st.add_parser("sync", help="publish [[sites]] (time zones, goals) to the warehouse for the marts")

    transform = commands.add_parser("transform", help="build the marts with dbt")
    tr = transform.add_subparsers(dest="transform_command", required=True, parser_class=_Parser)
    build = tr.add_parser("build", help="dbt build: models and tests, for a window of site-local days")
    build.add_argument("--from", dest="min_date", type=iso_date, help="first site-local day (YYYY-MM-DD)")
    build.add_argument("--to", dest="max_date", type=iso_date, help="last site-local day (YYYY-MM-DD)")
    build.add_argument("--select", nargs="+", default=[], help="dbt selection (default: everything)")
    build.add_argument(
        "--full-refresh", action="store_true", help="recreate the tables (give no window to keep history)"
    )
    tr.add_parser("late-days", help="site-local days whose marts miss data that arrived since their build")

    events = commands.add_parser("events", help="the event contract")
    ev = events.add_subparsers(dest="events_command", required=True, parser_class=_Parser)
    ev.add_parser("schema", help="print the contract's JSON Schema (schemas/event.v1.schema.json)")

    commands.add_parser("demo", help="run the main job on the embedded warehouse")

    backfill = commands.add_parser(
        "backfill", help="re-materialise a range of days through Dagster: files, then marts"
    )
    backfill.add_argument(
        "--from", dest="min_date", type=iso_date, required=True, help="first day (YYYY-MM-DD)"
    )
    backfill.add_argument("--to", dest="max_date", type=iso_date, required=True, help="last day (YYYY-MM-DD)")
    druid = commands.add_parser("druid", help="the Druid aggregation store (docs/druid.md)")
    dr = druid.add_subparsers(dest="druid_command", required=True, parser_class=_Parser)
    spec = dr.add_parser("spec", help="print the index_parallel spec of a site-local day")
    spec.add_argument("--day", type=iso_date, required=True, help="the site-local day (YYYY-MM-DD)")
    for name, text in (
        ("ingest", "export days of page views to Parquet and ingest them into Druid"),
        ("check", "compare Druid's daily totals with the marts (exit code 1 on a difference)"),
    ):
        command = dr.add_parser(name, help=text)
        command.add_argument(
            "--from", dest="min_date", type=iso_date, required=True, help="first site-local day (YYYY-MM-DD)"
        )
        command.add_argument(
            "--to", dest="max_date", type=iso_date, help="last site-local day (default: --from)"
        )
    from beaconhouse.retention.commands import add_arguments as retention_arguments

    retention_arguments(commands, _Parser)
    dagster = commands.add_parser("dagster", help="serve the Dagster UI against the warehouse (make dagster)")
    dagster.add_argument("--port", type=bounded_int("port", 1, 65535), default=3000, help="UI port (3000)")
    superset = commands.add_parser("superset", help="Superset on the marts (docs/superset.md)")
    ss = superset.add_subparsers(dest="superset_command", required=True, parser_class=_Parser)
    ss.add_parser("setup", help="create or upgrade its metadata, admin user and roles (make superset)")
    provision = ss.add_parser("provision", help="apply superset/assets to a running Superset, idempotently")
    provision.add_argument("--url", help="Superset's URL (default: superset.url)")
    superset_up = ss.add_parser("up", help="set up, start on --port, provision, serve (make superset-up)")
    superset_up.add_argument("--port", type=bounded_int("port", 1, 65535), default=8088, help="port (8088)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``beaconhouse`` console script."""
    try:
        args = build_parser().parse_args(argv)
        _check_arguments(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Client libraries log retries as warnings; the command reports the outcome.
        for noisy in ("urllib3", "urllib3.connectionpool", "clickhouse_connect"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    from beaconhouse.warehouse.client import WarehouseUnreachableError

    try:
        settings = load_settings(args.config)
        return _run(args, settings)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except WarehouseUnreachableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _check_arguments(args: argparse.Namespace) -> None:
    """What argparse cannot check alone: arguments that must agree."""
    min_date, max_date = getattr(args, "min_date", None), getattr(args, "max_date", None)
    if min_date and max_date and min_date > max_date:
        raise UsageError(f"beaconhouse {args.command}: --from {min_date} is after --to {max_date}")


class CommandError(Exception):
    """A command could not do its job; the message is one line."""


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: a bad argument is reported before the commands' imports load.
    from beaconhouse import commands

    if args.command == "warehouse":
        handler = {
            "serve": commands.warehouse_serve,
            "query": commands.warehouse_query,
            "migrate": commands.warehouse_migrate,
            "schema": commands.warehouse_schema,
        }[args.warehouse_command]
        return handler(args, settings)
    if args.command == "generate":
        return commands.generate(args, settings)
    if args.command == "ingest":
        if args.ingest_command == "kafka":
            return commands.ingest_kafka(args, settings)
        return commands.ingest_files(args, settings)
    if args.command == "sites":
        return commands.sites_sync(args, settings)
    if args.command == "transform":
        handler = {
            "build": commands.transform_build,
            "late-days": commands.transform_late_days,
        }[args.transform_command]
        return handler(args, settings)
    if args.command == "events":
        return commands.events_schema(args, settings)
    if args.command == "demo":
        from beaconhouse import demo

        return demo.run(settings)
    if args.command == "backfill":
        from beaconhouse.orchestrate import backfill

        return backfill(settings, args.min_date, args.max_date, args.config)
    if args.command == "druid":
        from beaconhouse.druid import commands as druid

        handler = {"spec": druid.druid_spec, "ingest": druid.druid_ingest, "check": druid.druid_check}[
            args.druid_command
        ]
        return handler(args, settings)
    if args.command in ("archive", "privacy"):
        from beaconhouse.retention.commands import run as run_retention

        return run_retention(args, settings)
    if args.command == "dagster":
        from beaconhouse.orchestrate import serve_dagster

        return serve_dagster(settings, args.port, args.config)
    if args.command == "superset":
        from beaconhouse.superset import commands as superset

        if args.superset_command == "setup":
            return superset.setup(settings)
        if args.superset_command == "provision":
            return superset.provision_running(settings, args.url)
        return superset.up(settings, args.port)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
