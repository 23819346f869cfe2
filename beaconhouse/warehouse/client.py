"""The one way beaconhouse code reaches ClickHouse: clickhouse-connect over HTTP.

The same client talks to the embedded server and to a production server or cluster.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from beaconhouse.config import WarehouseSettings


class WarehouseUnreachableError(Exception):
    """The warehouse did not answer; the message is one line."""


def connect(settings: WarehouseSettings, database: str | None = None, **kwargs: Any) -> Any:
    """A clickhouse-connect client for ``settings`` (compression on, as by default)."""
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import OperationalError

    url = urlsplit(settings.url)
    secure = url.scheme == "https"
    try:
        return clickhouse_connect.get_client(
            host=url.hostname or "127.0.0.1",
            port=url.port or (8443 if secure else 8123),
            username=settings.user,
            password=settings.password,
            database=database or "default",
            secure=secure,
            connect_timeout=settings.connect_timeout,
            send_receive_timeout=settings.send_receive_timeout,
            **kwargs,
        )
    except OperationalError as exc:
        raise WarehouseUnreachableError(
            f"cannot reach the warehouse at {settings.url} ({_first_line(exc)}); "
            "is it running? start it with `beaconhouse warehouse serve`"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
