"""``beaconhouse warehouse serve``: ClickHouse's HTTP interface, served over chDB.

Clients (clickhouse-connect, dbt-clickhouse, Superset's ``clickhousedb://``) talk to
it exactly as to a ClickHouse server: the query in the URL and/or the body, settings
as URL parameters, sessions, compression, ClickHouse's error texts, codes, statuses
and headers. Results stream in bounded memory; ``INSERT … FORMAT X`` bodies stream
into the engine as they arrive.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from beaconhouse.config import EmbeddedServerSettings, WarehouseUser
from beaconhouse.warehouse import http_compression, sql_scan
from beaconhouse.warehouse.auth import (
    Authenticator,
    AuthError,
    check_bind_is_safe,
    credentials_from,
    is_loopback_host,
)
from beaconhouse.warehouse.engine import Connection, Engine, EngineError, Summary
from beaconhouse.warehouse.http_status import http_status_for
from beaconhouse.warehouse.sessions import Session, SessionError, SessionRegistry

log = logging.getLogger("beaconhouse.warehouse")

READ_CHUNK = 1 << 16
# URL parameters that steer the request rather than being ClickHouse settings.
_RESERVED_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "session_id",
        "session_timeout",
        "session_check",
        "query_id",
        "user",
        "password",
        "quota_key",
        "compress",
        "decompress",
        "buffer_size",
        "wait_end_of_query",
        "stacktrace",
        "role",
        "client_protocol_version",
        "default_database",
        "enable_http_compression",
        "http_zlib_compression_level",
        "http_headers_progress_interval_ms",
        "send_progress_in_http_headers",
        "http_response_buffer_size",
        "http_wait_end_of_query",
        "http_native_compression_disable_checksumming_on_decompress",
        "add_http_cors_header",
        "cancel_http_readonly_queries_on_client_close",
        "session_timezone_header",
    }
)
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ROLE_READONLY_LEVEL = {"readwrite": 0, "readonly": 2}
_GET_READONLY = (
    "Cannot execute query in readonly mode. For queries over HTTP, method GET implies "
    "readonly. You should use method POST for modifying queries"
)


class RequestError(Exception):
    """A ClickHouse exception raised by the server itself, by name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


class WarehouseHTTPServer(ThreadingHTTPServer):
    """One thread per client connection; chDB runs their queries in parallel."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, settings: EmbeddedServerSettings, engine: Engine) -> None:
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        self.address_family = family
        super().__init__((settings.host, settings.port), WarehouseRequestHandler)
        self.settings = settings
        self.engine = engine
        self.users = {u.name: u for u in settings.users}
        self.authenticator = Authenticator(settings.users, loopback_only=is_loopback_host(settings.host))
        self.sessions = SessionRegistry(self._session_connection, float(settings.max_session_timeout))
        self.running: set[str] = set()
        self.running_lock = threading.Lock()
        self.active_requests = 0
        self.idle_sockets: set[socket.socket] = set()
        self.stopping = threading.Event()
        self._track = threading.Lock()

    def _session_connection(self, user: str) -> Connection:
        return self.engine.connect(_ROLE_READONLY_LEVEL[self.users[user].role])

    # -- bookkeeping for a clean stop -------------------------------------------------
    def connection_opened(self, sock: socket.socket) -> None:
        with self._track:
            self.idle_sockets.add(sock)

    def request_started(self, sock: socket.socket) -> None:
        with self._track:
            self.active_requests += 1
            self.idle_sockets.discard(sock)

    def request_finished(self, sock: socket.socket) -> None:
        with self._track:
            self.active_requests -= 1
            self.idle_sockets.add(sock)

    def connection_closed(self, sock: socket.socket) -> None:
        with self._track:
            self.idle_sockets.discard(sock)

    def drain(self, grace_seconds: float) -> None:
        """Wait for requests in flight, then close idle keep-alive connections."""
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            with self._track:
                if self.active_requests == 0:
                    break
            time.sleep(0.05)
        with self._track:
            for sock in list(self.idle_sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Body:
    """The request body as a stream of raw (still encoded) chunks."""

    def __init__(self, handler: WarehouseRequestHandler) -> None:
        self._rfile = handler.rfile
        self.chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        length = handler.headers.get("Content-Length")
        self._remaining = int(length) if length and not self.chunked else 0
        self.done = not self.chunked and self._remaining == 0

    def __iter__(self) -> Iterator[bytes]:
        if self.chunked:
            yield from self._chunks()
        else:
            while self._remaining > 0:
                data = self._rfile.read(min(READ_CHUNK, self._remaining))
                if not data:
                    raise ConnectionError("client closed the connection mid-body")
                self._remaining -= len(data)
                yield data
        self.done = True

    def _chunks(self) -> Iterator[bytes]:
        while True:
            line = self._rfile.readline(1024)
            if not line:
                raise ConnectionError("client closed the connection mid-body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, then the blank line that ends the body.
                while self._rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                return
            remaining = size
            while remaining:
                data = self._rfile.read(min(READ_CHUNK, remaining))
                if not data:
                    raise ConnectionError("client closed the connection mid-body")
                remaining -= len(data)
                yield data
            self._rfile.readline(8)

    def discard(self) -> None:
        for _ in self:
            pass


class _Prefix:
    """Reads the start of the request text; the rest stays a stream."""

    def __init__(self, stream: Iterator[bytes], limit: int) -> None:
        parts: list[bytes] = []
        size = 0
        self.exhausted = False
        for chunk in stream:
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        else:
            self.exhausted = True
        self.head = b"".join(parts)
        self._stream = stream

    def data_from(self, offset: int) -> Iterator[bytes]:
        first = self.head[offset:]
        return itertools.chain([first] if first else [], self._stream)


class ResponseWriter:
    """Buffers the first part of a response, then streams the rest chunked."""

    def __init__(
        self,
        handler: WarehouseRequestHandler,
        headers: dict[str, str],
        encoding: str | None,
        buffer_limit: int,
        compression_level: int,
    ) -> None:
        self._handler = handler
        self._headers = headers
        self._encoding = encoding
        self._encoder = http_compression.new_encoder(encoding, compression_level) if encoding else None
        self._limit = buffer_limit
        self._buffer: list[bytes] = []
        self._buffered = 0
        self.started = False
        self.summary = Summary()

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._encoder is not None:
            data = self._encoder.compress(data)
            if not data:
                return
        if self.started:
            self._send_chunk(data)
            return
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered > self._limit:
            self._start_streaming()

    def _start_streaming(self) -> None:
        handler = self._handler
        handler.send_response(200)
        self._send_headers()
        if handler.request_version == "HTTP/1.0":
            handler.close_connection = True
            self._chunked = False
        else:
            handler.send_header("Transfer-Encoding", "chunked")
            self._chunked = True
        handler.end_headers()
        self.started = True
        for part in self._buffer:
            self._send_chunk(part)
        self._buffer = []

    def _send_headers(self) -> None:
        handler = self._handler
        for name, value in self._headers.items():
            handler.send_header(name, value)
        if self._encoding:
            handler.send_header("Content-Encoding", self._encoding)
        handler.send_header("X-ClickHouse-Summary", _summary_json(self.summary))

    def _send_chunk(self, data: bytes) -> None:
        wfile = self._handler.wfile
        if self._chunked:
            wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            wfile.write(data)

    def finish(self) -> None:
        tail = self._encoder.flush() if self._encoder is not None else b""
        if self.started:
            if tail:
                self._send_chunk(tail)
            if self._chunked:
                self._handler.wfile.write(b"0\r\n\r\n")
            return
        body = b"".join(self._buffer) + tail
        handler = self._handler
        handler.send_response(200)
        self._send_headers()
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        self.started = True

    def abort_with(self, text: bytes) -> None:
        """An exception after the response began: say so and break the response off."""
        with contextlib.suppress(OSError):
            data = text
            if self._encoder is not None:
                data = self._encoder.compress(text) + self._encoder.flush()
            self._send_chunk(data)
            self._handler.wfile.flush()
        # No terminating chunk: the client sees an incomplete response, never a
        # silently truncated result.
        self._handler.close_connection = True


def _summary_json(summary: Summary) -> str:
    fields = {
        "read_rows": summary.read_rows,
        "read_bytes": summary.read_bytes,
        "written_rows": summary.written_rows,
        "written_bytes": summary.written_bytes,
        "total_rows_to_read": 0,
        "result_rows": summary.result_rows,
        "result_bytes": summary.result_bytes,
        "elapsed_ns": summary.elapsed_ns,
    }
    return json.dumps({k: str(v) for k, v in fields.items()}, separators=(",", ":"))


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class WarehouseRequestHandler(BaseHTTPRequestHandler):
    """One HTTP request: route, authenticate, run on the engine, answer."""

    protocol_version = "HTTP/1.1"
    server_version = "beaconhouse-warehouse"
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body
    # waits for the client's delayed ACK of the headers (about 40 ms per query).
    disable_nagle_algorithm = True
    server: WarehouseHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.connection_opened(self.connection)

    def finish(self) -> None:
        self.server.connection_closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(
            "Access-Control-Allow-Headers",
            "origin, x-requested-with, x-clickhouse-format, "
            "x-clickhouse-user, x-clickhouse-key, Authorization",
        )
        self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # ---------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        self.server.request_started(self.connection)
        try:
            self._route(method)
        except (BrokenPipeError, ConnectionResetError, ConnectionError) as exc:
            log.debug("client went away: %s", exc)
            self.close_connection = True
        finally:
            self.server.request_finished(self.connection)

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        body = _Body(self)
        if path in ("/ping", "/replicas_status") or (
            path == "/" and method in ("GET", "HEAD") and "query" not in params
        ):
            body.discard()
            self._send_plain(200, b"Ok.\n")
            return
        if path not in ("/", "/query"):
            body.discard()
            self._send_plain(
                404,
                f"There is no handle {path}\n\nUse / or /ping for health checks.\n"
                "Or /replicas_status for more sophisticated health checks.\n\n"
                "Send queries from your program with POST method or GET /?query=...\n".encode(),
            )
            return
        if self.server.stopping.is_set():
            body.discard()
            self._send_exception("ABORTED", "Server is shutting down.", status=503)
            self.close_connection = True
            return
        self._query(method, params, body)

    def _send_plain(self, status: int, text: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text)

    def _exception_text(self, name: str, message: str) -> tuple[int, bytes]:
        code = self.server.engine.code(name)
        message = message.rstrip()
        if not message.endswith("."):
            message += "."
        text = f"Code: {code}. DB::Exception: {message} ({name}) (version {self.server.engine.version})\n"
        return code, text.encode()

    def _send_exception(
        self, name: str, message: str, status: int | None = None, query_id: str | None = None
    ) -> None:
        code, text = self._exception_text(name, message)
        self.send_response(status or http_status_for(name))
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("X-ClickHouse-Exception-Code", str(code))
        self.send_header("X-ClickHouse-Server-Display-Name", self.server.settings.display_name)
        if query_id:
            self.send_header("X-ClickHouse-Query-Id", query_id)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _query(self, method: str, params: dict[str, str], body: _Body) -> None:
        server = self.server
        query_id = params.get("query_id") or str(uuid.uuid4())
        session: Session | None = None
        connection: Connection | None = None
        writer: ResponseWriter | None = None
        registered = False
        try:
            try:
                user = server.authenticator.authenticate(
                    credentials_from(self.headers, params), self.client_address[0]
                )
            except AuthError as exc:
                raise RequestError(exc.name, exc.message) from None
            if params.get("compress") == "1" or params.get("decompress") == "1":
                raise RequestError(
                    "NOT_IMPLEMENTED",
                    "ClickHouse's native block compression (compress/decompress=1) is not supported "
                    "by the embedded server; use HTTP Content-Encoding instead",
                )
            self._register_query(query_id)
            registered = True
            readonly = _ROLE_READONLY_LEVEL[user.role]
            if params.get("session_id"):
                session = self._acquire_session(user, params)
                connection = session.connection
            else:
                connection = server.engine.connect(max(readonly, 2 if method == "GET" else 0))
            stream = self._request_text(params, body)
            prefix = _Prefix(stream, server.settings.max_query_size)
            text = prefix.head.decode("latin-1")
            try:
                statement = sql_scan.scan(text)
            except sql_scan.ScanError as exc:
                if not prefix.exhausted:
                    raise RequestError("SYNTAX_ERROR", "Max query size exceeded") from None
                raise RequestError("SYNTAX_ERROR", str(exc)) from None
            if statement.data_offset is None and not prefix.exhausted:
                raise RequestError(
                    "SYNTAX_ERROR",
                    f"Syntax error: failed at position {server.settings.max_query_size}: "
                    f"Max query size exceeded ({server.settings.max_query_size} bytes)",
                )
            if method == "GET" and statement.kind not in sql_scan.READ_ONLY_KINDS:
                raise RequestError("READONLY", _GET_READONLY)
            self._apply_settings(connection, session, user, params)
            output_format = statement.format or params.get("default_format") or "TabSeparated"
            headers = {
                "Content-Type": sql_scan.content_type(output_format),
                "X-ClickHouse-Server-Display-Name": server.settings.display_name,
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Format": output_format,
                "X-ClickHouse-Timezone": params.get("session_timezone") or server.engine.timezone,
                "Keep-Alive": "timeout=10",
            }
            if session is not None:
                headers["X-ClickHouse-Session-Id"] = params["session_id"]
            encoding = None
            if params.get("enable_http_compression") == "1":
                encoding = http_compression.choose_encoding(self.headers.get("Accept-Encoding", ""))
            buffer_limit = (
                sys.maxsize
                if params.get("wait_end_of_query") == "1"
                else server.settings.response_buffer_bytes
            )
            writer = ResponseWriter(
                self, headers, encoding, buffer_limit, int(params.get("http_zlib_compression_level") or 3)
            )
            query_params = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
            # A VALUES insert that arrived whole runs as one query, so that query
            # parameters inside VALUES work; bigger ones and FORMAT data stream.
            streamed_insert = statement.data_offset is not None and not (
                statement.insert_format == "Values" and prefix.exhausted
            )
            if streamed_insert:
                assert statement.insert_head is not None
                assert statement.insert_format is not None
                head = statement.insert_head.encode("latin-1").decode("utf-8")
                assert statement.data_offset is not None
                writer.summary = connection.insert(
                    head, statement.insert_format, prefix.data_from(statement.data_offset)
                )
            else:
                sql = prefix.head.decode("utf-8", errors="strict")
                self._run_query(connection, sql, statement, output_format, query_params, writer)
            if session is not None:
                if statement.kind in ("SET", "USE"):
                    session.url_settings.clear()  # what SET/USE chose is the session's now
                # Release before the last byte goes out: a client may send its next
                # request in this session the moment it has read the response.
                server.sessions.release(session)
                session = connection = None  # the session keeps its connection
            writer.finish()
        except (
            RequestError,
            EngineError,
            SessionError,
            http_compression.UnsupportedEncodingError,
            UnicodeDecodeError,
        ) as exc:
            name, message = _exception_name_and_message(exc)
            if not body.done:
                self.close_connection = True
            if writer is not None and writer.started:
                writer.abort_with(b"\n" + self._exception_text(name, message)[1])
            else:
                self._send_exception(name, message, query_id=query_id)
        finally:
            if registered:
                with server.running_lock:
                    server.running.discard(query_id)
            if session is not None:
                server.sessions.release(session)
            elif connection is not None:
                connection.close()

    def _register_query(self, query_id: str) -> None:
        with self.server.running_lock:
            if query_id in self.server.running:
                raise RequestError(
                    "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING", f"Query with id = {query_id} is already running"
                )
            self.server.running.add(query_id)

    def _acquire_session(self, user: WarehouseUser, params: dict[str, str]) -> Session:
        settings = self.server.settings
        try:
            timeout = float(params.get("session_timeout") or settings.session_timeout)
        except ValueError:
            raise RequestError(
                "INVALID_SESSION_TIMEOUT", f"Invalid session timeout: '{params['session_timeout']}'"
            ) from None
        return self.server.sessions.acquire(
            user.name, params["session_id"], timeout, check=params.get("session_check") == "1"
        )

    def _request_text(self, params: dict[str, str], body: _Body) -> Iterator[bytes]:
        decoded: Iterable[bytes] = body
        if self.command == "POST":
            decoded = http_compression.decode_stream(body, self.headers.get("Content-Encoding", ""))
        else:
            body.discard()
            decoded = []
        query = params.get("query")
        if query is not None:
            # As ClickHouse does: the parameter, a newline, then the body.
            return itertools.chain([query.encode() + b"\n"], decoded)
        return iter(decoded)

    def _apply_settings(
        self, connection: Connection, session: Session | None, user: WarehouseUser, params: dict[str, str]
    ) -> None:
        wanted = {k: v for k, v in params.items() if k not in _RESERVED_PARAMS and not k.startswith("param_")}
        for name in wanted:
            if not _SETTING_NAME.match(name):
                raise RequestError("UNKNOWN_SETTING", f"Unknown setting '{name}'")
        database = params.get("database") or params.get("default_database")
        if session is None:
            if wanted:
                # One SET for them all: each statement is a round into the engine
                # (0.15 ms of CPU), and clickhouse-connect sends four with every request.
                connection.execute("SET " + ", ".join(f"{n} = {_quote(v)}" for n, v in wanted.items()), "TSV")
            if database:
                connection.execute(f"USE `{database.replace('`', '')}`", "TSV")
            return
        # In a session, URL settings apply to this request only; SET statements stay.
        applied = session.url_settings
        if database:
            wanted["database"] = database
        for name in [n for n in applied if n not in wanted]:
            self._set_on(connection, name, applied.pop(name)[1])
        new = [n for n in wanted if n not in applied]
        baseline = self._current_values(connection, new) if new else {}
        for name, value in wanted.items():
            current, before = applied.get(name) or (None, baseline[name])
            if current != value:
                self._set_on(connection, name, value)
            applied[name] = (value, before)

    @staticmethod
    def _set_on(connection: Connection, name: str, value: str) -> None:
        if name == "database":
            connection.execute(f"USE `{value.replace('`', '')}`", "TSV")
        else:
            connection.execute(f"SET {name} = {_quote(value)}", "TSV")

    @staticmethod
    def _current_values(connection: Connection, names: list[str]) -> dict[str, str]:
        values: dict[str, str] = {}
        settings = [n for n in names if n != "database"]
        if settings:
            out, _ = connection.execute(
                "SELECT name, value FROM system.settings WHERE has({names:Array(String)}, name)",
                "JSONCompactEachRow",
                {"names": "[" + ",".join(_quote(n) for n in settings) + "]"},
            )
            for line in out.decode().splitlines():
                name, value = json.loads(line)
                values[name] = value
            unknown = [n for n in settings if n not in values]
            if unknown:
                raise RequestError("UNKNOWN_SETTING", f"Unknown setting '{unknown[0]}'")
        if "database" in names:
            out, _ = connection.execute("SELECT currentDatabase()", "TSVRaw")
            values["database"] = out.decode().strip()
        return values

    def _run_query(
        self,
        connection: Connection,
        sql: str,
        statement: sql_scan.Statement,
        output_format: str,
        query_params: dict[str, str],
        writer: ResponseWriter,
    ) -> None:
        mode = sql_scan.stream_mode(output_format)
        if statement.kind in sql_scan.STREAMABLE_KINDS and mode != "buffer":
            reframe = _Reframer(mode, output_format)
            try:
                for chunk, summary in connection.stream(sql, output_format, query_params):
                    writer.summary = writer.summary + summary
                    writer.write(reframe.feed(chunk))
                writer.write(reframe.close())
                return
            except EngineError as exc:
                # chDB streams plain SELECTs only; anything else runs whole.
                if writer.started or "Streaming query is not supported" not in exc.message:
                    raise
        data, summary = connection.execute(sql, output_format, query_params)
        writer.summary = summary
        writer.write(data)


class _ByteCollector(io.RawIOBase):
    """A file the Arrow IPC writer writes into; ``take`` empties it."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class _Reframer:
    """Turns the engine's per-chunk outputs into one continuous result."""

    def __init__(self, mode: str, output_format: str) -> None:
        self._mode = mode
        self._format = output_format
        self._first = True
        self._arrow_sink: Any = None
        self._arrow_writer: Any = None

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        first, self._first = self._first, False
        if self._mode == "concat":
            return chunk
        if self._mode == "text-header":
            if first:
                return chunk
            lines = sql_scan.text_header_lines(self._format)
            pos = 0
            for _ in range(lines):
                pos = chunk.index(b"\n", pos) + 1
            return chunk[pos:]
        if self._mode == "binary-header":
            return (
                chunk
                if first
                else chunk[_rowbinary_header_length(chunk, sql_scan.binary_header_has_types(self._format)) :]
            )
        return self._arrow(chunk)

    def _arrow(self, chunk: bytes) -> bytes:
        import pyarrow as pa

        reader = pa.ipc.open_stream(chunk)
        if self._arrow_writer is None:
            self._arrow_sink = _ByteCollector()
            self._arrow_writer = pa.ipc.new_stream(self._arrow_sink, reader.schema)
        for batch in reader:
            self._arrow_writer.write_batch(batch)
        data: bytes = self._arrow_sink.take()
        return data

    def close(self) -> bytes:
        if self._mode != "arrow-stream" or self._arrow_writer is None:
            return b""
        self._arrow_writer.close()
        return bytes(self._arrow_sink.take())


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _rowbinary_header_length(chunk: bytes, with_types: bool) -> int:
    columns, pos = _read_varint(chunk, 0)
    for _ in range(columns * (2 if with_types else 1)):
        length, pos = _read_varint(chunk, pos)
        pos += length
    return pos


def _exception_name_and_message(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, (RequestError, SessionError)):
        return exc.name, exc.message
    if isinstance(exc, EngineError):
        return exc.name or "UNKNOWN_EXCEPTION", exc.message
    if isinstance(exc, http_compression.UnsupportedEncodingError):
        return "UNKNOWN_COMPRESSION_METHOD", str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "SYNTAX_ERROR", "Syntax error: the query text is not valid UTF-8"
    return "UNKNOWN_EXCEPTION", str(exc)


def serve(settings: EmbeddedServerSettings, announce: Any = None) -> int:
    """Run the server until SIGTERM or SIGINT; returns the process exit code."""
    check_bind_is_safe(settings.host, settings.users)
    engine = Engine(settings.data_dir)
    try:
        server = WarehouseHTTPServer(settings, engine)
    except OSError:
        engine.close()
        raise
    host, port = settings.host, int(server.server_address[1])
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        if not stop_requested.is_set():
            stop_requested.set()
            log.info("signal %s: stopping", signum)
            server.stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def reap_sessions() -> None:
        while not server.stopping.wait(1.0):
            server.sessions.reap()

    threading.Thread(target=reap_sessions, name="session-reaper", daemon=True).start()
    if announce is not None:
        announce(
            f"beaconhouse warehouse (ClickHouse {engine.version} over chDB) listening on "
            f"http://{host}:{port}, data in {engine.data_dir}"
        )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stopping.set()
        server.drain(grace_seconds=30.0)
        server.server_close()
        server.sessions.close_all()
        engine.close()
        log.info("stopped; data folder released")
    return 0
