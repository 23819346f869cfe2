"""A loopback stand-in for Druid's Overlord and Broker, for tests.

It is not Druid. What it does, on 127.0.0.1 and a free port:

- ``POST /druid/indexer/v1/task`` validates the task against Druid's documented spec
  rules (tests/druid_spec_rules.py) and answers 400 with every problem, or
  ``{"task": id}``;
- ``GET /druid/indexer/v1/task/{id}/status`` plays the lifecycle: ``RUNNING`` for
  ``running_polls`` polls, then it ingests and answers ``SUCCESS``, or ``FAILED`` with
  ``errorMsg`` (on demand, or when ingestion fails);
- ingestion reads the Parquet files the spec's ``inputSource`` names (S3 through the
  endpoint it was given, as Druid's druid.s3 settings would; or local files), applies
  ``timestampSpec``, the ``intervals``, ``queryGranularity``, the dimensions and the
  metrics, rolls rows up, and replaces the intervals' rows (``appendToExisting`` false).
  It is stricter than Druid: a column the spec names but the file lacks fails the task
  (Druid would read nulls);
- ``POST /druid/v2`` answers ``timeseries`` and ``topN`` queries over the ingested rows.
  Sketch metrics are kept as exact sets, so distinct counts are exact here, unlike
  Druid's estimates;
- ``unavailable_next`` answers that many task requests with 503 first.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import io
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from beaconhouse.config import S3Settings
from tests.druid_spec_rules import parse_interval, spec_errors

TASK_PATH = "/druid/indexer/v1/task"
_MS = {
    "none": 1,
    "second": 1000,
    "minute": 60_000,
    "five_minute": 300_000,
    "ten_minute": 600_000,
    "fifteen_minute": 900_000,
    "thirty_minute": 1_800_000,
    "hour": 3_600_000,
    "six_hour": 21_600_000,
    "eight_hour": 28_800_000,
    "day": 86_400_000,
}
_SKETCHES = ("thetaSketch", "HLLSketchBuild", "HLLSketchMerge")


class IngestionError(Exception):
    """The task cannot ingest its input (the message becomes errorMsg)."""


@dataclass
class Task:
    task_id: str
    spec: dict[str, Any]
    polls: int = 0
    status: str = "RUNNING"
    error: str | None = None
    fail_with: str | None = None
    rows_ingested: int = 0


@dataclass
class StandInState:
    s3: S3Settings | None
    running_polls: int = 2
    unavailable_next: int = 0
    fail_next_task: str | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    #: datasource -> rolled-up rows: {"__time": ms, dimensions…, metrics…}
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: every task spec accepted, in order
    submitted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class DruidStandIn:
    """Start with ``with DruidStandIn(s3_settings) as druid:``; ``druid.url`` is both services."""

    def __init__(self, s3: S3Settings | None = None, running_polls: int = 2) -> None:
        self.state = StandInState(s3=s3, running_polls=running_polls)
        state = self.state

        class Handler(_Handler):
            standin = state

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> DruidStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    standin: StandInState

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def _unavailable(self) -> bool:
        with self.standin.lock:
            if self.standin.unavailable_next > 0:
                self.standin.unavailable_next -= 1
                return True
        return False

    def do_POST(self) -> None:
        if self.path == TASK_PATH:
            if self._unavailable():
                self._send(503, {"error": "Overlord is not the leader"})
                return
            self._submit(self._body())
        elif self.path.rstrip("/") == "/druid/v2":
            try:
                self._send(200, _query(self.standin, self._body()))
            except (KeyError, ValueError, TypeError) as exc:
                self._send(400, {"error": "Invalid query", "errorMessage": str(exc)})
        else:
            self._send(404, {"error": f"no such resource {self.path}"})

    def do_GET(self) -> None:
        parts = self.path.split("/")
        if self.path.startswith(TASK_PATH + "/") and parts[-1] == "status":
            if self._unavailable():
                self._send(503, {"error": "Overlord is not the leader"})
                return
            self._status(parts[-2])
        else:
            self._send(404, {"error": f"no such resource {self.path}"})

    def _submit(self, task: Any) -> None:
        problems = spec_errors(task)
        state = self.standin
        if problems:
            state.rejected.append(problems)
            self._send(400, {"error": "; ".join(problems)})
            return
        with state.lock:
            source = task["spec"]["dataSchema"]["dataSource"]
            task_id = task.get("id") or f"index_parallel_{source}_{next(state.ids):04d}"
            state.tasks[task_id] = Task(task_id, task, fail_with=state.fail_next_task)
            state.fail_next_task = None
            state.submitted.append(task)
        self._send(200, {"task": task_id})

    def _status(self, task_id: str) -> None:
        state = self.standin
        with state.lock:
            task = state.tasks.get(task_id)
            if task is None:
                self._send(404, {"task": task_id, "status": None})
                return
            task.polls += 1
            if task.status == "RUNNING" and task.polls > state.running_polls:
                if task.fail_with:
                    task.status, task.error = "FAILED", task.fail_with
                else:
                    try:
                        task.rows_ingested = _ingest(state, task.spec)
                        task.status = "SUCCESS"
                    except IngestionError as exc:
                        task.status, task.error = "FAILED", str(exc)
            body = {
                "id": task_id,
                "type": task.spec["type"],
                "dataSource": task.spec["spec"]["dataSchema"]["dataSource"],
                "statusCode": task.status,
                "status": task.status,
                "runnerStatusCode": "RUNNING" if task.status == "RUNNING" else "NONE",
                "duration": -1 if task.status == "RUNNING" else 100 * task.polls,
                "errorMsg": task.error,
            }
        self._send(200, {"task": task_id, "status": body})


# -- ingestion -------------------------------------------------------------------------


def _read_inputs(state: StandInState, source: dict[str, Any]) -> list[Any]:
    import pyarrow.parquet as pq

    tables = []
    if source["type"] == "local":
        paths = source.get("files") or sorted(
            str(p) for p in Path(source["baseDir"]).glob("**/*") if fnmatch.fnmatch(p.name, source["filter"])
        )
        if not paths:
            raise IngestionError(f"no input files in {source.get('baseDir')} matching {source.get('filter')}")
        for path in paths:
            if not Path(path).is_file():
                raise IngestionError(f"input file {path} does not exist")
            tables.append(pq.read_table(path))
        return tables
    if source["type"] != "s3":
        raise IngestionError(f"the stand-in reads s3 and local input sources, not {source['type']}")
    if state.s3 is None:
        raise IngestionError("no S3 endpoint configured (druid.s3 settings)")
    import boto3

    s3 = state.s3
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
    )
    keys: list[tuple[str, str]] = []
    for uri in source.get("uris") or []:
        parts = urlsplit(uri)
        keys.append((parts.netloc, parts.path.lstrip("/")))
    for prefix in source.get("prefixes") or []:
        parts = urlsplit(prefix)
        listed = client.list_objects_v2(Bucket=parts.netloc, Prefix=parts.path.lstrip("/"))
        keys += [(parts.netloc, item["Key"]) for item in listed.get("Contents", [])]
    glob = source.get("objectGlob")
    if glob:
        keys = [(b, k) for b, k in keys if fnmatch.fnmatch(k, glob)]
    for bucket, key in keys:
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            raise IngestionError(f"s3://{bucket}/{key} does not exist") from None
        tables.append(pq.read_table(io.BytesIO(body)))
    if not tables:
        raise IngestionError("the input source matched no objects")
    return tables


def _timestamp_ms(value: Any, fmt: str) -> int:
    if value is None:
        raise IngestionError("a row has no timestamp")
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1000)
    if fmt in ("millis", "auto") and isinstance(value, int):
        return value
    if fmt == "posix":
        return int(value) * 1000
    if fmt == "micro":
        return int(value) // 1000
    if fmt == "nano":
        return int(value) // 1_000_000
    if fmt in ("iso", "auto") and isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        return int(parsed.timestamp() * 1000)
    raise IngestionError(f"cannot read timestamp {value!r} as {fmt}")


def _granularity_ms(value: Any) -> int:
    name = str(value).lower()
    if name not in _MS:
        raise IngestionError(f"the stand-in does not truncate to {value!r}")
    return _MS[name]


def _dimension_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "long":
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    return str(value)


def _ingest(state: StandInState, task: dict[str, Any]) -> int:
    spec = task["spec"]
    schema, io_config = spec["dataSchema"], spec["ioConfig"]
    ts_spec = schema["timestampSpec"]
    ts_column, ts_format = ts_spec.get("column", "timestamp"), ts_spec.get("format", "auto")
    dims = [
        (d, "string") if isinstance(d, str) else (d["name"], d.get("type", "string"))
        for d in schema["dimensionsSpec"].get("dimensions", [])
    ]
    metrics = schema.get("metricsSpec", [])
    gran = schema.get("granularitySpec", {})
    truncate = _granularity_ms(gran.get("queryGranularity", "none"))
    rollup = gran.get("rollup", True)
    intervals = [
        tuple(int(t.timestamp() * 1000) for t in parse_interval(i)) for i in gran.get("intervals") or []
    ]
    needed = {ts_column} | {name for name, _ in dims} | {m["fieldName"] for m in metrics if "fieldName" in m}
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    read = 0
    for table in _read_inputs(state, io_config["inputSource"]):
        missing = sorted(needed - set(table.column_names))
        if missing:
            raise IngestionError(f"the input has no column(s) {', '.join(missing)}")
        for row in table.select(sorted(needed)).to_pylist():
            ms = _timestamp_ms(row[ts_column], ts_format)
            if intervals and not any(start <= ms < end for start, end in intervals):
                continue  # Druid drops rows outside the intervals
            read += 1
            ms -= ms % truncate
            key = (ms, *(_dimension_value(row[name], kind) for name, kind in dims))
            if not rollup:
                key = (*key, read)
            target = grouped.setdefault(
                key, {"__time": ms, **dict(zip([n for n, _ in dims], key[1:], strict=False))}
            )
            for metric in metrics:
                _accumulate(target, metric, row)
    rows = list(grouped.values())
    if not intervals:
        raise IngestionError("the stand-in needs granularitySpec.intervals")
    with_existing = io_config.get("appendToExisting", False)
    existing = state.rows.setdefault(schema["dataSource"], [])
    if not with_existing:
        # replace: every existing row of the intervals goes (dropExisting: even if none come)
        existing[:] = [r for r in existing if not any(s <= r["__time"] < e for s, e in intervals)]
    existing.extend(rows)
    return len(rows)


def _accumulate(target: dict[str, Any], metric: dict[str, Any], row: dict[str, Any]) -> None:
    name, kind = metric["name"], metric["type"]
    if kind == "count":
        target[name] = target.get(name, 0) + 1
        return
    value = row[metric["fieldName"]]
    if kind in _SKETCHES:
        target.setdefault(name, set())
        if value is not None:
            target[name].add(str(value))
    elif kind in ("longSum", "doubleSum", "floatSum"):
        number = 0 if value is None else (int(value) if kind == "longSum" else float(value))
        target[name] = target.get(name, 0) + number
    else:
        raise IngestionError(f"the stand-in does not aggregate {kind}")


# -- queries -----------------------------------------------------------------------------


def _intervals(query: dict[str, Any]) -> list[tuple[int, int]]:
    raw = query["intervals"]
    items = [raw] if isinstance(raw, str) else raw
    return [tuple(int(t.timestamp() * 1000) for t in parse_interval(i)) for i in items]


def _matches(row: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    if flt is None:
        return True
    kind = flt["type"]
    if kind == "selector":
        value = row.get(flt["dimension"])
        return (None if value is None else str(value)) == flt["value"]
    if kind == "in":
        value = row.get(flt["dimension"])
        return str(value) in flt["values"]
    if kind == "and":
        return all(_matches(row, f) for f in flt["fields"])
    if kind == "or":
        return any(_matches(row, f) for f in flt["fields"])
    if kind == "not":
        return not _matches(row, flt["field"])
    raise ValueError(f"the stand-in does not filter with {kind}")


def _aggregate(rows: list[dict[str, Any]], aggregations: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for agg in aggregations:
        name, kind = agg["name"], agg["type"]
        if kind == "count":
            out[name] = len(rows)
        elif kind in ("longSum", "doubleSum", "floatSum"):
            total = sum(r.get(agg["fieldName"], 0) or 0 for r in rows)
            out[name] = int(total) if kind == "longSum" else float(total)
        elif kind in _SKETCHES:
            union: set[str] = set()
            for r in rows:
                union |= r.get(agg["fieldName"], set())
            out[name] = float(len(union))  # exact: the stand-in keeps sets, not sketches
        else:
            raise ValueError(f"the stand-in does not aggregate {kind}")
    return out


def _query(state: StandInState, query: dict[str, Any]) -> list[dict[str, Any]]:
    kind = query["queryType"]
    if kind not in ("timeseries", "topN"):
        raise ValueError(f"the stand-in answers timeseries and topN, not {kind}")
    if query.get("granularity", "all") not in ("all", "ALL", {"type": "all"}):
        raise ValueError("the stand-in answers granularity all only")
    intervals = _intervals(query)
    rows = [
        r
        for r in state.rows.get(query["dataSource"], [])
        if any(s <= r["__time"] < e for s, e in intervals) and _matches(r, query.get("filter"))
    ]
    stamp = dt.datetime.fromtimestamp(intervals[0][0] / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    aggregations = query.get("aggregations", [])
    if kind == "timeseries":
        if not rows and query.get("context", {}).get("skipEmptyBuckets"):
            return []
        return [{"timestamp": stamp, "result": _aggregate(rows, aggregations)}]
    dimension = query["dimension"]
    dim_name = dimension if isinstance(dimension, str) else dimension["dimension"]
    output = dimension if isinstance(dimension, str) else dimension.get("outputName", dim_name)
    metric = query["metric"] if isinstance(query["metric"], str) else query["metric"]["metric"]
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r.get(dim_name), []).append(r)
    result = [{output: value, **_aggregate(members, aggregations)} for value, members in groups.items()]
    result.sort(key=lambda item: item[metric], reverse=True)
    return [{"timestamp": stamp, "result": result[: int(query["threshold"])]}] if rows else []
