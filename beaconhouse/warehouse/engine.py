"""The ClickHouse engine, in-process through chDB.

This is the only module in beaconhouse that imports chDB. Everything else reaches
ClickHouse over HTTP, as it would in production.

chDB hosts one engine per process, bound to one data folder. Any number of
connections to it may be open, each with its own settings, current database and
temporary tables, and queries on different connections run in parallel (the GIL is
released while the engine works). The server therefore gives every HTTP session a
connection of its own and every sessionless request a fresh one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chdb

_ERROR = re.compile(r"Code: (\d+)\. DB::Exception: (.*)", re.S)
_TRAILER = re.compile(r"(?:\s*\((?:version [^)]*|[A-Z][A-Z_0-9]+)\)\.?)+\s*$")
#: exception names by code, filled from the engine when it starts
ERROR_NAMES: dict[int, str] = {}
LOCK_FILE_NAME = ".beaconhouse-warehouse.lock"
INSERT_APPEND_BYTES = 4 << 20


class EngineError(Exception):
    """An exception raised by the engine, with ClickHouse's code and name."""

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message


class DataDirLockedError(Exception):
    """Another process owns the data folder."""


def parse_engine_error(text: str) -> EngineError:
    """Turn chDB's exception text into an :class:`EngineError`.

    The leading code is the exception's; a name in parentheses at the end may belong
    to a nested exception, so the name is looked up from the code.
    """
    # chDB prefixes some messages ("Streaming insert finish failed: Code: …").
    start = text.find("Code: ")
    body = (text[start:] if start >= 0 else text).strip()
    match = _ERROR.match(body)
    if not match:
        return EngineError(1001, "STD_EXCEPTION", body)
    code = int(match.group(1))
    message = _TRAILER.sub("", match.group(2)).strip()
    return EngineError(code, ERROR_NAMES.get(code, ""), message)


@dataclass(frozen=True)
class Summary:
    """Counters for ``X-ClickHouse-Summary``."""

    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    result_rows: int = 0
    result_bytes: int = 0
    elapsed_ns: int = 0

    def __add__(self, other: Summary) -> Summary:
        return Summary(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


def _summary_of(result: Any) -> Summary:
    return Summary(
        read_rows=int(result.storage_rows_read()),
        read_bytes=int(result.storage_bytes_read()),
        written_rows=int(result.rows_written()),
        written_bytes=int(result.bytes_written()),
        result_rows=int(result.rows_read()),
        result_bytes=int(result.bytes_read()),
        elapsed_ns=int(float(result.elapsed()) * 1e9),
    )


class Connection:
    """One engine connection: its own settings, database and temporary tables."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def execute(self, sql: str, fmt: str, params: dict[str, str] | None = None) -> tuple[bytes, Summary]:
        """Run a statement and return its whole output."""
        try:
            result = self._raw.query(sql, fmt, params=params or {})
        except Exception as exc:  # chDB raises ChdbError/RuntimeError with CH's text
            raise parse_engine_error(str(exc)) from None
        return result.bytes() or b"", _summary_of(result)

    def stream(
        self, sql: str, fmt: str, params: dict[str, str] | None = None
    ) -> Iterator[tuple[bytes, Summary]]:
        """Run a query and yield its output chunk by chunk, in bounded memory."""
        try:
            streaming = self._raw.send_query(sql, fmt, params=params or {})
        except Exception as exc:
            raise parse_engine_error(str(exc)) from None
        try:
            while True:
                try:
                    chunk = streaming.fetch()
                except Exception as exc:
                    raise parse_engine_error(str(exc)) from None
                if chunk is None:
                    return
                yield chunk.bytes() or b"", _summary_of(chunk)
        finally:
            # The stream may already be finished or broken.
            with contextlib.suppress(Exception):
                streaming.close()

    def insert(self, head: str, fmt: str, chunks: Iterator[bytes]) -> Summary:
        """Stream ``chunks`` of ``fmt``-encoded data into ``INSERT`` ``head``."""
        try:
            inserter = self._raw.send_insert(head, fmt)
        except Exception as exc:
            raise parse_engine_error(str(exc)) from None
        try:
            # Each append is a call into the engine; hand it megabytes, not packets.
            pending: list[bytes] = []
            size = 0
            for chunk in chunks:
                pending.append(chunk)
                size += len(chunk)
                if size >= INSERT_APPEND_BYTES:
                    inserter.append(b"".join(pending))
                    pending, size = [], 0
            if size:
                inserter.append(b"".join(pending))
            result = inserter.finish()
        except EngineError:
            inserter.cancel()
            raise
        except Exception as exc:
            # The insert may already be finished or aborted.
            with contextlib.suppress(Exception):
                inserter.cancel()
            if isinstance(exc, OSError | ConnectionError):
                raise
            raise parse_engine_error(str(exc)) from None
        return Summary(
            written_rows=int(result.rows_written),
            written_bytes=int(result.bytes_written),
            elapsed_ns=int(float(result.elapsed) * 1e9),
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing twice is harmless
            self._raw.close()


class Engine:
    """The process's one engine, bound to one data folder that it locks."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock_data_dir(self.data_dir)
        # A root connection keeps the engine alive between requests: chDB shuts the
        # engine down when its last connection closes.
        self._root = Connection(chdb.connect(self._dsn()))
        version, timezone = self._root.execute("SELECT version(), timezone()", "TSV")[0].decode().split("\t")
        self.version = version.strip()
        self.timezone = timezone.strip()
        # chDB has no system.error_codes; errorCodeToName() is the same table.
        codes, _ = self._root.execute(
            "SELECT errorCodeToName(number) AS name, number FROM numbers(5000) WHERE name != ''",
            "TSV",
        )
        self.error_codes: dict[str, int] = {}
        for line in codes.decode().splitlines():
            name, code = line.split("\t")
            self.error_codes[name] = int(code)
            ERROR_NAMES[int(code)] = name

    def _dsn(self, **settings: str | int) -> str:
        query = "&".join(f"{k}={v}" for k, v in settings.items())
        return f"file:{self.data_dir}" + (f"?{query}" if query else "")

    def connect(self, readonly: int = 0) -> Connection:
        """A new connection; ``readonly`` 1 or 2 is enforced by the engine itself."""
        try:
            return Connection(chdb.connect(self._dsn(readonly=readonly) if readonly else self._dsn()))
        except Exception as exc:
            raise parse_engine_error(str(exc)) from None

    def code(self, name: str) -> int:
        return self.error_codes.get(name, 1001)

    def close(self) -> None:
        """Close the engine: it flushes and releases the data folder."""
        self._root.close()
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        finally:
            os.close(self._lock_file)


def _lock_data_dir(data_dir: Path) -> int:
    path = data_dir / LOCK_FILE_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 64).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise DataDirLockedError(
            f"the data folder {data_dir} is in use by process {owner}; "
            "one warehouse server owns a data folder at a time"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd
