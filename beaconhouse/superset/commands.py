"""``beaconhouse superset setup|provision|up``: Superset from the CLI (docs/superset.md)."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from beaconhouse.cli import CommandError
from beaconhouse.config import ConfigError, Settings, WarehouseSettings
from beaconhouse.superset.api import SupersetApi, SupersetApiError
from beaconhouse.superset.assets import load_assets
from beaconhouse.superset.provision import ProvisionReport, provision
from beaconhouse.superset.runtime import SupersetMissingError, SupersetRuntime, SupersetServer


def setup(settings: Settings) -> int:
    """Create or upgrade Superset's metadata, admin user and roles."""
    runtime = SupersetRuntime(settings.superset)
    try:
        runtime.setup()
    except (SupersetMissingError, RuntimeError) as exc:
        raise CommandError(str(exc)) from None
    print(f"Superset is set up in {runtime.home} (admin user {settings.superset.admin_user})")
    return 0


def provision_running(settings: Settings, url: str | None = None) -> int:
    """Provision the Superset at ``url`` (default ``superset.url``) from superset/assets."""
    check_read_only_user(settings)
    runtime = SupersetRuntime(settings.superset)
    try:
        api = SupersetApi(
            url or settings.superset.url, settings.superset.admin_user, runtime.admin_password()
        )
        report = provision(api, load_assets(), settings)
    except SupersetApiError as exc:
        raise CommandError(str(exc)) from None
    _print(report)
    return 0


def up(settings: Settings, port: int) -> int:
    """Set up, start Superset on ``port``, provision it, and serve until interrupted."""
    check_read_only_user(settings)
    setup(settings)
    runtime = SupersetRuntime(settings.superset)
    server = SupersetServer(runtime, port)
    try:
        server.start()
        url = server.url
        provision_running(settings, url)
        print(
            f"Superset: {url}/superset/dashboard/traffic-overview/ (log in as {settings.superset.admin_user};"
        )
        print(
            f"  password: superset.admin_password, else {runtime.home / 'admin_password'}). Ctrl-C stops it."
        )
        sys.stdout.flush()
        return server.wait()
    except RuntimeError as exc:
        raise CommandError(str(exc)) from None
    finally:
        server.stop()


def check_read_only_user(settings: Settings) -> None:
    """Refuse to hand Superset a warehouse user that can write, or one that cannot log in."""
    from beaconhouse.warehouse.client import connect

    if not settings.superset.database_password:
        raise ConfigError(
            "superset.database_password: required setting is missing "
            "(the read-only warehouse user's password; BEACONHOUSE_SUPERSET__DATABASE_PASSWORD)"
        )
    as_user: WarehouseSettings = settings.warehouse.model_copy(
        update={"user": settings.superset.database_user, "password": settings.superset.database_password}
    )
    from clickhouse_connect.driver.exceptions import DatabaseError

    try:
        client = connect(as_user)
        try:
            readonly = client.query("SELECT getSetting('readonly')").result_rows[0][0]
        finally:
            client.close()
    except DatabaseError as exc:
        reason = str(exc).split("DB::Exception: ")[-1].split(" (version")[0].strip()
        raise CommandError(
            f"superset.database_user {settings.superset.database_user} cannot query the warehouse: {reason}"
        ) from None
    if str(readonly) == "0":
        host = urlsplit(settings.warehouse.url).netloc
        raise ConfigError(
            f"superset.database_user: {settings.superset.database_user} can write to the warehouse at "
            f'{host}; give Superset a read-only user (role = "readonly")'
        )


def _print(report: ProvisionReport) -> None:
    for kind, name, action in report.actions:
        if action != "unchanged":
            print(f"{action:9} {kind} {name}")
    unchanged = len(report.actions) - len(report.changed)
    print(f"{len(report.changed)} changed, {unchanged} unchanged")
