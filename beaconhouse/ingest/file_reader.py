"""Read one input file, of any supported format, into an :class:`EventBatch`.

Formats, by name and then by content: JSON lines (``.jsonl``, ``.ndjson``, ``.json``,
optionally gzipped), Parquet, and access logs (Combined Log Format). A file that cannot
be read at all (corrupt gzip, broken Parquet) becomes one quarantine row naming it:
never a crash, never silence.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from beaconhouse.config import S3Settings
from beaconhouse.ingest.access_log import add_access_log
from beaconhouse.ingest.events_builder import EventBatch, Lineage
from beaconhouse.ingest.quarantine import Reason
from beaconhouse.ingest.sources import SourceError, SourceFile, read_bytes

_SITE_IN_PATH = re.compile(r"(?:^|/)site=(\d+)(?:/|$)")
_ENCODE = msgspec.json.Encoder()


def file_format(name: str, head: bytes) -> str:
    """``jsonl``, ``parquet`` or ``access_log`` for a file's name and first bytes."""
    base = name.lower().removesuffix(".gz")
    if base.endswith(".parquet") or head[:4] == b"PAR1":
        return "parquet"
    if base.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if base.endswith((".log", ".clf")):
        return "access_log"
    first = head.lstrip()[:1]
    return "jsonl" if first in (b"{", b"[") else "access_log"


def site_of_path(path: str) -> int | None:
    """A ``site=<id>`` folder in the path names the site of an access log."""
    match = _SITE_IN_PATH.search(path)
    return int(match.group(1)) if match else None


def fetch(file: SourceFile, s3: S3Settings) -> bytes | SourceError:
    """The file's (decompressed) bytes, or the error that kept them from us."""
    try:
        return read_bytes(file, s3)
    except SourceError as exc:
        return exc
    except OSError as exc:
        return SourceError(f"{file.path}: cannot read: {exc}")


def prefetched(
    files: list[SourceFile], s3: S3Settings, workers: int = 4, ahead: int = 8
) -> Iterator[tuple[SourceFile, bytes | SourceError]]:
    """Files with their content, in order, read ``ahead`` files in advance on threads.

    Reading waits on the network (S3) and on zlib, both of which release the GIL, so
    it overlaps with parsing; the lookahead bounds the memory it holds.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        pending: deque[tuple[SourceFile, Future[bytes | SourceError]]] = deque()
        queue = iter(files)
        for file in itertools.islice(queue, ahead):
            pending.append((file, pool.submit(fetch, file, s3)))
        while pending:
            file, future = pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(fetch, following, s3)))
            yield file, future.result()


def read_into(
    batch: EventBatch,
    file: SourceFile,
    data: bytes | SourceError,
    received_ms: int,
    site_by_domain: Mapping[str, int],
    domain_of: Mapping[int, str],
    default_site: int | None = None,
) -> str:
    """Add every payload of ``file`` (its content ``data``) to ``batch``; returns the format."""
    lineage = Lineage(source_kind="file", source_file=file.path)
    if isinstance(data, SourceError):
        batch.rejections_add(Reason.UNREADABLE_FILE, str(data), file.path.encode(), None, lineage)
        return "unreadable"
    kind = file_format(file.name, data[:64])
    if kind == "parquet":
        _read_parquet(batch, data, lineage, received_ms, file.path)
    elif kind == "jsonl":
        _read_json_lines(batch, data, lineage, received_ms)
    else:
        site = site_of_path(file.path) or default_site
        add_access_log(batch, data, lineage, site, site_by_domain, domain_of)
    return kind


def _read_json_lines(batch: EventBatch, data: bytes, lineage: Lineage, received_ms: int) -> None:
    lines = data.split(b"\n")
    try:
        data.decode("utf-8")  # one C pass for the whole file; per line only if it fails
    except UnicodeDecodeError:
        pass
    else:
        batch.add_payloads(lines, range(1, len(lines) + 1), lineage, received_ms, skip_blank=True)
        return
    valid: list[bytes] = []
    numbers: list[int] = []
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            batch.payloads += 1
            batch.rejections_add(
                Reason.INVALID_UTF8,
                f"payload is not valid UTF-8 (byte {exc.start})",
                line,
                number,
                lineage,
            )
            continue
        valid.append(line)
        numbers.append(number)
    batch.add_payloads(valid, numbers, lineage, received_ms, skip_blank=True)


def _read_parquet(batch: EventBatch, data: bytes, lineage: Lineage, received_ms: int, path: str) -> None:
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        batch.rejections_add(
            Reason.UNREADABLE_FILE,
            f"{path}: not a readable Parquet file: {exc}",
            path.encode(),
            None,
            lineage,
        )
        return
    # Each row goes through the same contract as a JSON payload: one set of rules.
    payloads: list[bytes] = []
    numbers: list[int] = []
    for number, row in enumerate(table.to_pylist(), start=1):
        plain = _plain(row, table.schema)
        try:
            payload = _ENCODE.encode(plain)
        except (TypeError, msgspec.EncodeError) as exc:
            batch.payloads += 1
            batch.rejections_add(
                Reason.INVALID_PARQUET_ROW,
                f"row cannot be read as an event: {exc}",
                repr(row).encode(),
                number,
                lineage,
            )
            continue
        payloads.append(payload)
        numbers.append(number)
    batch.add_payloads(payloads, numbers, lineage, received_ms)


def _plain(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    return {f.name: _plain_value(row[f.name], f.type) for f in schema if row[f.name] is not None}


def _plain_value(value: Any, type_: pa.DataType) -> Any:
    """Arrow's Python values as JSON-shaped ones: maps as objects, UTC for naive times."""
    if value is None:
        return None
    if pa.types.is_map(type_):
        return {k: _plain_value(v, type_.item_type) for k, v in value}
    if pa.types.is_struct(type_):
        return {f.name: _plain_value(value[f.name], f.type) for f in type_ if value.get(f.name) is not None}
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return [_plain_value(v, type_.value_type) for v in value]
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # Parquet timestamps without a zone are UTC
    return value
