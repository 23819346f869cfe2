"""dlt's ClickHouse destination, with every request over HTTP(S) through clickhouse-connect.

dlt's stock ClickHouse destination sends its SQL over ClickHouse's native TCP protocol
(clickhouse-driver) and only file uploads over HTTP. Our warehouse has no native port:
the embedded server speaks HTTP only, and ClickHouse Cloud prefers HTTPS. This module
keeps the whole stock destination (type mapping, DDL, merge and replace jobs, state,
schema versions, ``_dlt_loads``) and swaps only the SQL client underneath it.

It also lets a pipeline name *frozen tables*: tables that dlt loads into but must never
create, alter, drop or truncate, because our migrations own them (``raw.events`` and
friends, see docs/schema.md).

Pinned to dlt 1.31.0: the overrides follow that version's method signatures, and
``tests/server/test_dlt_clickhouse_http.py`` fails, naming the method, when an upgrade
changes one of them. ``docs/dlt-clickhouse-http.md`` has the design, the naming recipe
for ``raw.events`` and the upgrade steps.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, AnyStr
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import Error as ClickHouseConnectError
from clickhouse_connect.driver.exceptions import OperationalError as ConnectOperationalError
from clickhouse_connect.driver.exceptions import ProgrammingError as ConnectProgrammingError
from clickhouse_connect.driver.query import QueryResult
from clickhouse_connect.driver.summary import QuerySummary
from clickhouse_connect.driver.tools import insert_file as connect_insert_file
from dlt.common.configuration import configspec
from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.destination.configuration import ParquetCompression, ParquetFormatConfiguration
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.schema import Schema
from dlt.destinations.exceptions import (
    DatabaseTerminalException,
    DatabaseTransientException,
    DatabaseUndefinedRelation,
)
from dlt.destinations.impl.clickhouse.clickhouse import ClickHouseClient
from dlt.destinations.impl.clickhouse.configuration import ClickHouseClientConfiguration
from dlt.destinations.impl.clickhouse.factory import clickhouse
from dlt.destinations.impl.clickhouse.sql_client import (
    ClickHouseDBApiCursorImpl,
    ClickHouseSqlClient,
)
from dlt.destinations.sql_client import (
    DBApiCursorImpl,
    raise_database_error,
    raise_open_connection_error,
)

PINNED_DLT_VERSION = "1.31.0"
"""The dlt version whose ClickHouse destination this module extends."""

#: The dlt methods this module overrides, by the dlt class that defines them.
OVERRIDES: dict[type, tuple[str, ...]] = {
    ClickHouseSqlClient: (
        "open_connection",
        "close_connection",
        "native_connection",
        "commit_transaction",
        "rollback_transaction",
        "execute_query",
        "insert_file",
        "_make_database_exception",
        "is_dbapi_exception",
    ),
    ClickHouseClient: ("__init__",),
    clickhouse: ("client_class", "spec"),
}

#: The dlt methods this module calls or builds on without overriding them.
RELIES_ON: dict[type, tuple[str, ...]] = {
    ClickHouseSqlClient: (
        "__init__",  # called with the stock client's arguments
        "begin_transaction",  # yields without touching the connection
        "execute_sql",  # a result has a description, a command has None
        "make_qualified_table_name",
        "make_qualified_table_name_path",
        "_ensure_native_conn",
        "_sanitise_dbargs",
    ),
    clickhouse: ("__init__",),
    DBApiCursorImpl: ("__init__",),
}

# ClickHouse error codes, classified as dlt's stock client classifies them
# (https://github.com/ClickHouse/ClickHouse/blob/master/src/Common/ErrorCodes.cpp).
_UNDEFINED_RELATION_CODES = frozenset({60, 81})  # UNKNOWN_TABLE, UNKNOWN_DATABASE
# ILLEGAL_COLUMN, UNKNOWN_IDENTIFIER, TABLE_ALREADY_EXISTS, DATABASE_ALREADY_EXISTS
_TERMINAL_CODES = frozenset({44, 47, 57, 82})
_CODE_RE = re.compile(r"\bCode:\s*(\d+)")

# Statements that answer with rows; everything else (DDL, INSERT, DELETE, ALTER,
# TRUNCATE, EXCHANGE, ...) is a command without a result set, as in DB-API.
_RESULT_STATEMENT_RE = re.compile(
    r"^(?:\s|--[^\n]*\n|/\*.*?\*/|\()*(?:SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b",
    re.IGNORECASE | re.DOTALL,
)

# The statements that change a table rather than its rows, and the table(s) they
# change, in the form dlt writes them: `database`.`table`, quoted.
_TABLE_DDL_RE = re.compile(
    r"^\s*(?:CREATE(?:\s+OR\s+REPLACE)?\s+TABLE(?:\s+IF\s+NOT\s+EXISTS)?|ALTER\s+TABLE"
    r"|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|TRUNCATE(?:\s+TABLE)?(?:\s+IF\s+EXISTS)?"
    r"|RENAME\s+TABLE|EXCHANGE\s+TABLES)"
    r"\s+(?P<first>`(?:[^`]|``)*`(?:\.`(?:[^`]|``)*`)?)"
    r"(?:\s+(?:AND|TO)\s+(?P<second>`(?:[^`]|``)*`(?:\.`(?:[^`]|``)*`)?))?",
    re.IGNORECASE,
)

# dlt passes a load file's compression as ClickHouse's table-function hint ("gz",
# "none", "auto"). Over HTTP it is the Content-Encoding header, which takes
# content-coding names: "gzip", or no header at all for an uncompressed body.
_CONTENT_ENCODING: dict[str, str | None] = {"gz": "gzip", "gzip": "gzip", "none": None, "auto": None}

_FROZEN_HINTS = {
    "CREATE": "The table does not exist: apply the migrations (beaconhouse warehouse migrate).",
    "ALTER": "The resource yields columns the table lacks: fix the resource, or add a migration.",
    "DROP": "Load frozen tables with write_disposition='append' and without refresh.",
}


class FrozenTableError(DestinationTerminalException):
    """dlt tried to create, alter, drop or truncate a table that the migrations own."""


@configspec
class ClickHouseHttpClientConfiguration(ClickHouseClientConfiguration):
    """dlt's ClickHouse configuration plus the tables dlt must not change."""

    frozen_tables: list[str] | None = None
    """dlt table names (e.g. ``events``) that dlt may insert into but never create,
    alter, drop or truncate. A load that would need it fails with FrozenTableError."""

    insert_settings: dict[str, Any] | None = None
    """ClickHouse settings sent with every load-file insert (e.g. ``optimize_on_insert``)."""


class IdleClients:
    """Open clickhouse-connect clients that dlt's SQL clients have closed, for reuse.

    dlt opens and closes an SQL client for every step of a load (the job client, each
    load job, the state and the load record): about six per load. A new
    clickhouse-connect client asks the server for its version and its whole
    ``system.settings`` before the first statement. In a 650k-event file ingest that
    was 58 clients and 3.3 s. Clients are kept by everything they were opened with,
    so a reused one is the client a new one would be. HTTP keeps no session between
    requests, so a client that is idle between two loads has no state to lose.
    """

    def __init__(self, per_key: int = 4) -> None:
        self._lock = threading.Lock()
        self._idle: defaultdict[Hashable, list[Client]] = defaultdict(list)
        self._per_key = per_key

    def take(self, key: Hashable) -> Client | None:
        """An idle client opened with ``key``, now the caller's; None if there is none."""
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give_back(self, key: Hashable, client: Client) -> None:
        """Keep ``client`` for the next caller with ``key``; close it if enough are kept."""
        with self._lock:
            idle = self._idle[key]
            if len(idle) < self._per_key:
                idle.append(client)
                return
        client.close()

    def close_all(self) -> None:
        """Close every idle client."""
        with self._lock:
            clients = [client for idle in self._idle.values() for client in idle]
            self._idle.clear()
        for client in clients:
            client.close()


#: the idle clients of every ClickHouseHttpSqlClient in this process
IDLE_CLIENTS = IdleClients()


class _ResultCursor:
    """A DB-API cursor over a result that clickhouse-connect has already fetched.

    ``description`` is None after a command, and a (possibly empty) tuple after a
    query, even one without rows: dlt's ``execute_sql`` tells them apart that way.
    """

    def __init__(self, result: QueryResult | None = None) -> None:
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self._rows: list[tuple[Any, ...]] = []
        if result is not None:
            self.description = tuple(
                (name, type_.name, None, None, None, None, None)
                for name, type_ in zip(result.column_names, result.column_types, strict=True)
            )
            self._rows = [tuple(row) for row in result.result_rows]
        self._position = 0

    def execute(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectProgrammingError("run SQL through the dlt sql client, not its cursor")

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._position :]
        self._position = len(self._rows)
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows = self._rows[self._position : self._position + size]
        self._position += len(rows)
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def close(self) -> None:
        self._rows = []


def _named_parameters(
    query: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """dlt's positional ``%s`` placeholders renamed ``%(argN)s``, and every parameter by name."""
    if len(args) == 1 and isinstance(args[0], tuple):
        args = args[0]
    if not args:
        return query, dict(kwargs)
    names = [f"arg{i}" for i in range(len(args))]
    pending = iter(names)
    query, count = re.subn(r"%s", lambda _: f"%({next(pending, 'missing')})s", query)
    if count != len(args):
        raise ConnectProgrammingError(f"the query has {count} %s placeholders for {len(args)} parameters")
    return query, {**dict(zip(names, args, strict=True)), **kwargs}


class ClickHouseHttpSqlClient(ClickHouseSqlClient):
    """dlt's ClickHouse SQL client with clickhouse-connect (HTTP) in place of clickhouse-driver.

    What only builds SQL or names (``has_dataset``, ``create_dataset``, ``drop_dataset``,
    ``drop_tables``, ``_list_tables``, name qualification) stays dlt's own and runs
    through :meth:`execute_query`.
    """

    _conn: Client | None
    frozen_tables: frozenset[str] = frozenset()
    """Quoted qualified names (`db`.`table`) of the tables no statement may change."""
    insert_settings: dict[str, Any] | None = None
    """Settings sent with every load-file insert."""

    @raise_open_connection_error
    def open_connection(self) -> Client:
        key = self._client_key()
        self._conn = IDLE_CLIENTS.take(key)
        if self._conn is not None:
            return self._conn
        credentials = self.credentials
        self._conn = clickhouse_connect.get_client(
            host=credentials.host,
            port=credentials.http_port,
            username=credentials.username,
            password=credentials.password or "",
            database=credentials.database,
            secure=bool(credentials.secure),
            connect_timeout=credentials.connect_timeout,
            send_receive_timeout=credentials.send_receive_timeout,
            # dlt opens one client per load job. No statement needs a session (dlt sends
            # no SET and makes no temporary tables), and a session would serialise requests.
            autogenerate_session_id=False,
            query_limit=0,
            settings=self._client_settings(),
        )
        return self._conn

    def _client_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "date_time_input_format": "best_effort",
            "select_sequential_consistency": self.config.select_sequential_consistency,
        }
        if self.credentials.session_timezone:
            settings["session_timezone"] = self.credentials.session_timezone
        return settings

    def _client_key(self) -> Hashable:
        """Everything :meth:`open_connection` opens a client with."""
        c = self.credentials
        return (
            c.host,
            c.http_port,
            c.username,
            c.password or "",
            c.database,
            bool(c.secure),
            c.connect_timeout,
            c.send_receive_timeout,
            tuple(sorted((name, str(value)) for name, value in self._client_settings().items())),
        )

    def close_connection(self) -> None:
        """Hand the client to the next SQL client opened alike (:class:`IdleClients`)."""
        if self._conn is None:
            return
        IDLE_CLIENTS.give_back(self._client_key(), self._conn)
        self._conn = None

    @property
    def native_connection(self) -> Client | None:
        return self._conn

    def commit_transaction(self) -> None:
        """Nothing to do: ClickHouse commits each statement on its own."""

    def rollback_transaction(self) -> None:
        """Nothing to do: ClickHouse commits each statement on its own."""

    @contextmanager
    @raise_database_error
    def execute_query(self, query: AnyStr, *args: Any, **kwargs: Any) -> Iterator[ClickHouseDBApiCursorImpl]:
        """Run ``query`` (one or more ``;``-separated statements) and yield the last result.

        Parameters are dlt's: positional ``%s`` or named ``%(name)s``. They are bound
        here as SQL literals escaped by dlt's ClickHouse escaper, so the statement sent
        is final and clickhouse-connect's own parameter binding is not involved.
        """
        assert isinstance(query, str), "Query must be a string."
        self._ensure_native_conn()
        assert self._conn is not None
        query, params = _named_parameters(query, args, kwargs)
        literals = {
            name: self.capabilities.escape_literal(value)
            for name, value in self._sanitise_dbargs(params).items()
        }
        cursor = _ResultCursor()
        # As dlt's stock client does: split on ";" before binding and send one statement
        # per request, since ClickHouse's HTTP interface runs one statement per request.
        for statement in query.split(";"):
            if not (sql := statement.strip()):
                continue
            if literals:
                sql = re.sub(r"%(?!\()", "%%", sql) % literals
            self._refuse_frozen_table_ddl(sql)
            if _RESULT_STATEMENT_RE.match(sql):
                cursor = _ResultCursor(self._conn.query(sql))
            else:
                self._conn.command(sql)
                cursor = _ResultCursor()
        yield ClickHouseDBApiCursorImpl(cursor)  # type: ignore[arg-type]

    def _refuse_frozen_table_ddl(self, sql: str) -> None:
        match = _TABLE_DDL_RE.match(sql)
        if not match or not self.frozen_tables:
            return
        for target in (match["first"], match["second"]):
            if target in self.frozen_tables:
                verb = sql.split(None, 1)[0].upper()
                statement = " ".join(sql.split())
                if len(statement) > 300:
                    statement = statement[:300] + " ..."
                raise FrozenTableError(
                    f"dlt tried to {verb} {target}, a frozen table that the migrations own:"
                    f" {statement}. {_FROZEN_HINTS.get(verb, _FROZEN_HINTS['DROP'])}"
                )

    def insert_file(
        self, file_path: str, table_name: str, file_format: str, compression: str
    ) -> QuerySummary:
        """Stream a load file into ``table_name`` as ``INSERT ... FORMAT <file_format>``.

        On the open client, so with its settings (dlt's stock client opens a second
        client per file).
        """
        assert self._conn is not None
        database_name, table_name = self.make_qualified_table_name_path(table_name, quote=False)
        return connect_insert_file(
            self._conn,
            table_name,
            file_path,
            fmt=file_format,
            database=database_name,
            settings=self.insert_settings,
            compression=_CONTENT_ENCODING.get(compression, compression),
        )

    @classmethod
    def _make_database_exception(cls, ex: Exception) -> Exception:
        """Classify clickhouse-connect errors by ClickHouse error code, as the stock client does."""
        if not isinstance(ex, ClickHouseConnectError):
            return ex
        code = ex.code
        if code is None and (match := _CODE_RE.search(str(ex))):
            code = int(match.group(1))
        if code in _UNDEFINED_RELATION_CODES:
            return DatabaseUndefinedRelation(ex)
        if code in _TERMINAL_CODES:
            return DatabaseTerminalException(ex)
        if code is None and not isinstance(ex, ConnectOperationalError):
            # raised by clickhouse-connect itself (bad arguments, data it cannot encode)
            return DatabaseTerminalException(ex)
        return DatabaseTransientException(ex)

    @staticmethod
    def is_dbapi_exception(ex: Exception) -> bool:
        return isinstance(ex, ClickHouseConnectError)


class ClickHouseHttpClient(ClickHouseClient):
    """dlt's ClickHouse job client with :class:`ClickHouseHttpSqlClient` as its SQL client."""

    def __init__(
        self,
        schema: Schema,
        config: ClickHouseClientConfiguration,
        capabilities: DestinationCapabilitiesContext,
    ) -> None:
        super().__init__(schema, config, capabilities)
        # The stock constructor made a clickhouse-driver client, which connects only
        # when opened: replace it before anything opens it.
        stock = self.sql_client
        sql_client = ClickHouseHttpSqlClient(
            stock.dataset_name,
            stock.staging_dataset_name,
            stock.known_table_names,
            config.credentials,
            capabilities,
            config,
        )
        sql_client.frozen_tables = frozenset(
            sql_client.make_qualified_table_name(name)
            for name in getattr(config, "frozen_tables", None) or ()
        )
        sql_client.insert_settings = getattr(config, "insert_settings", None)
        self.sql_client = sql_client


class ClickHouseHttp(clickhouse):
    """dlt's ClickHouse destination factory, with the HTTP-only job client."""

    spec = ClickHouseHttpClientConfiguration

    @property
    def client_class(self) -> type[ClickHouseClient]:
        return ClickHouseHttpClient


def clickhouse_http(
    url: str,
    user: str = "default",
    password: str = "",
    database: str = "default",
    *,
    frozen_tables: Sequence[str] = (),
    insert_settings: Mapping[str, Any] | None = None,
    parquet_compression: ParquetCompression | None = None,
    connect_timeout: int = 15,
    send_receive_timeout: int = 300,
    destination_name: str = "clickhouse_http",
    **config: Any,
) -> ClickHouseHttp:
    """A dlt destination that loads into ClickHouse at ``url`` over HTTP(S) only.

    ``url`` is ``http://host:port`` or ``https://host:port`` (TLS, as ClickHouse Cloud
    wants); the port defaults to 8123 or 8443. ``database`` must exist: with the
    pipeline's ``dataset_name`` left out, a resource ``events`` loads into
    ``<database>.events`` and dlt keeps its own ``_dlt_*`` tables beside it.
    ``frozen_tables`` names the tables dlt may insert into but never change;
    ``insert_settings`` go with every load-file insert. ``parquet_compression``
    sets the codec inside the Parquet load files (dlt's default is snappy; ``"none"``
    is cheapest to write when the server is near). ``config``
    goes to dlt's ClickHouse configuration (``dataset_table_separator``,
    ``table_engine_type``, ...). See docs/dlt-clickhouse-http.md.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL of a ClickHouse server, got {url!r}")
    secure = parts.scheme == "https"
    port = parts.port or (8443 if secure else 8123)
    credentials = {
        "host": parts.hostname,
        # The native `port` is never used; it mirrors the HTTP port so that dlt's
        # data location ("host:port") names the port in use.
        "port": port,
        "http_port": port,
        "username": user,
        "password": password,
        "database": database,
        "secure": 1 if secure else 0,
        "connect_timeout": connect_timeout,
        "send_receive_timeout": send_receive_timeout,
    }
    config.setdefault("dataset_sentinel_table_name", "_dlt_sentinel")
    if frozen_tables:
        config["frozen_tables"] = list(frozen_tables)
    if insert_settings:
        config["insert_settings"] = dict(insert_settings)
    if parquet_compression is not None:
        # a capability: dlt's Parquet writer starts from it, then applies any
        # [normalize.data_writer] settings on top
        config["parquet_format"] = ParquetFormatConfiguration(compression=parquet_compression)
    return ClickHouseHttp(credentials=credentials, destination_name=destination_name, **config)
