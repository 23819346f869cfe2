"""Druid's documented rules for a native batch task, as a validator for the stand-in.

Encoded from Druid's documentation: "Ingestion spec reference" (dataSchema:
dataSource, timestampSpec, dimensionsSpec, metricsSpec, granularitySpec,
transformSpec), "JSON-based batch" (index_parallel's ioConfig, tuningConfig,
partitionsSpec), "Input sources" (s3, local), "Source input formats" (parquet) and the
DataSketches theta and HLL modules (aggregator fields). Where Druid ignores an unknown
key, this validator rejects it: a typo in a spec should fail a test, not pass unseen.

``spec_errors`` returns every problem it finds, one line each; empty means accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

TASK_TYPES = ("index_parallel", "index")
#: Druid's named granularities, finest first (``none`` keeps timestamps as they are)
GRANULARITIES = (
    "none",
    "second",
    "minute",
    "five_minute",
    "ten_minute",
    "fifteen_minute",
    "thirty_minute",
    "hour",
    "six_hour",
    "eight_hour",
    "day",
    "week",
    "month",
    "quarter",
    "year",
    "all",
)
TIMESTAMP_FORMATS = ("iso", "posix", "millis", "micro", "nano", "auto")
DIMENSION_TYPES = ("string", "long", "float", "double", "json", "auto")
SUM_AGGREGATORS = (
    "longSum",
    "doubleSum",
    "floatSum",
    "longMin",
    "longMax",
    "doubleMin",
    "doubleMax",
    "floatMin",
    "floatMax",
    "longFirst",
    "longLast",
    "doubleFirst",
    "doubleLast",
)
SKETCH_AGGREGATORS = (
    "thetaSketch",
    "HLLSketchBuild",
    "HLLSketchMerge",
    "hyperUnique",
    "quantilesDoublesSketch",
)
INPUT_FORMATS = ("json", "csv", "tsv", "delimited", "parquet", "orc", "avro_ocf", "avro_stream", "protobuf")
PARTITION_TYPES = ("dynamic", "hashed", "single_dim", "range")
HLL_TYPES = ("HLL_4", "HLL_6", "HLL_8")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant as Druid reads it (no zone: UTC)."""
    if not _ISO_INSTANT.match(text):
        raise ValueError(f"{text!r} is not an ISO 8601 instant")
    value = text.replace("Z", "+00:00")
    if "T" not in value:
        value += "T00:00:00"
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_interval(text: str) -> tuple[dt.datetime, dt.datetime]:
    """``start/end`` (two instants) as an interval; ``ValueError`` if malformed or empty."""
    if not isinstance(text, str) or text.count("/") != 1:
        raise ValueError(f"{text!r} is not an ISO 8601 interval start/end")
    start, end = (parse_instant(part) for part in text.split("/"))
    if end <= start:
        raise ValueError(f"{text!r}: its end is not after its start")
    return start, end


def granularity_rank(value: Any) -> int | None:
    """The position of a named granularity (case-insensitive); ``None`` if unknown."""
    if isinstance(value, str) and value.lower() in GRANULARITIES:
        return GRANULARITIES.index(value.lower())
    if isinstance(value, dict) and value.get("type") in ("period", "duration"):
        return -1  # a custom period: accepted, not ranked
    return None


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def keys(self, where: str, obj: Any, allowed: set[str], required: set[str] = frozenset()) -> bool:
        if not isinstance(obj, dict):
            self.add(where, "must be a JSON object")
            return False
        for key in sorted(set(obj) - allowed):
            self.add(f"{where}.{key}", "unknown property")
        for key in sorted(required - set(obj)):
            self.add(f"{where}.{key}", "is required")
        return True


def spec_errors(task: Any) -> list[str]:
    """Every rule ``task`` breaks, one line each."""
    errors = _Errors()
    if not errors.keys("task", task, {"type", "id", "spec", "context", "resource"}, {"type", "spec"}):
        return errors.items
    task_type = task.get("type")
    if task_type not in TASK_TYPES:
        errors.add("task.type", f"{task_type!r} is not a native batch task ({', '.join(TASK_TYPES)})")
    if "id" in task and (not isinstance(task["id"], str) or not task["id"]):
        errors.add("task.id", "must be a non-empty string")
    spec = task.get("spec")
    if errors.keys("spec", spec, {"dataSchema", "ioConfig", "tuningConfig"}, {"dataSchema", "ioConfig"}):
        schema = spec.get("dataSchema")
        if schema is not None:
            _data_schema(errors, schema)
        if spec.get("ioConfig") is not None:
            _io_config(errors, spec["ioConfig"], task_type, schema)
        tuning = spec.get("tuningConfig")
        if tuning is not None:
            _tuning_config(errors, tuning, task_type, spec.get("ioConfig"), schema)
    return errors.items


def _data_schema(errors: _Errors, schema: Any) -> None:
    allowed = {
        "dataSource",
        "timestampSpec",
        "dimensionsSpec",
        "metricsSpec",
        "granularitySpec",
        "transformSpec",
    }
    if not errors.keys("dataSchema", schema, allowed, {"dataSource", "timestampSpec", "dimensionsSpec"}):
        return
    source = schema.get("dataSource")
    if not isinstance(source, str) or not source.strip():
        errors.add("dataSchema.dataSource", "must be a non-empty string")
    elif source.startswith(".") or "/" in source or re.search(r"[\t\n\r\f\v]", source):
        errors.add(
            "dataSchema.dataSource", "may not start with '.', contain '/' or whitespace other than space"
        )

    timestamp_column = None
    ts = schema.get("timestampSpec")
    if ts is not None and errors.keys("timestampSpec", ts, {"column", "format", "missingValue"}):
        timestamp_column = ts.get("column", "timestamp")
        if not isinstance(timestamp_column, str) or not timestamp_column:
            errors.add("timestampSpec.column", "must be a non-empty string")
        fmt = ts.get("format", "auto")
        if not isinstance(fmt, str) or not fmt:
            errors.add("timestampSpec.format", "must be a string")
        elif fmt not in TIMESTAMP_FORMATS and not re.search(r"yy|MM|dd|HH|mm|ss", fmt):
            errors.add(
                "timestampSpec.format", f"{fmt!r} is neither {'/'.join(TIMESTAMP_FORMATS)} nor a Joda pattern"
            )
        if "missingValue" in ts:
            try:
                parse_instant(str(ts["missingValue"]))
            except ValueError as exc:
                errors.add("timestampSpec.missingValue", str(exc))

    dimension_names: list[str] = []
    dims = schema.get("dimensionsSpec")
    allowed_dims = {
        "dimensions",
        "dimensionExclusions",
        "spatialDimensions",
        "includeAllDimensions",
        "useSchemaDiscovery",
    }
    if dims is not None and errors.keys("dimensionsSpec", dims, allowed_dims):
        listed = dims.get("dimensions", [])
        if not isinstance(listed, list):
            errors.add("dimensionsSpec.dimensions", "must be a list")
            listed = []
        for i, dim in enumerate(listed):
            where = f"dimensionsSpec.dimensions[{i}]"
            if isinstance(dim, str):
                name = dim
            elif isinstance(dim, dict):
                errors.keys(where, dim, {"type", "name", "createBitmapIndex", "multiValueHandling"}, {"name"})
                name = dim.get("name")
                if dim.get("type", "string") not in DIMENSION_TYPES:
                    errors.add(
                        f"{where}.type", f"{dim.get('type')!r} is not one of {', '.join(DIMENSION_TYPES)}"
                    )
                if "createBitmapIndex" in dim and dim.get("type", "string") != "string":
                    errors.add(f"{where}.createBitmapIndex", "only string dimensions have bitmap indexes")
                if dim.get("multiValueHandling", "sorted_array") not in (
                    "sorted_array",
                    "sorted_set",
                    "array",
                ):
                    errors.add(f"{where}.multiValueHandling", "must be sorted_array, sorted_set or array")
            else:
                errors.add(where, "must be a name or a dimension object")
                continue
            if not isinstance(name, str) or not name:
                errors.add(where, "has no name")
                continue
            if name == "__time":
                errors.add(where, "__time is the primary timestamp, not a dimension")
            if name in dimension_names:
                errors.add(where, f"dimension {name!r} is listed twice")
            dimension_names.append(name)
        exclusions = dims.get("dimensionExclusions", [])
        both = sorted(set(dimension_names) & set(exclusions if isinstance(exclusions, list) else []))
        if both:
            errors.add("dimensionsSpec", f"{', '.join(both)} both included and excluded")

    metric_names: list[str] = []
    metrics = schema.get("metricsSpec", [])
    if not isinstance(metrics, list):
        errors.add("metricsSpec", "must be a list")
        metrics = []
    for i, metric in enumerate(metrics):
        name = _metric(errors, f"metricsSpec[{i}]", metric)
        if name is None:
            continue
        if name in metric_names:
            errors.add(f"metricsSpec[{i}]", f"metric {name!r} is defined twice")
        if name in dimension_names:
            errors.add(f"metricsSpec[{i}]", f"{name!r} is both a dimension and a metric")
        if name == "__time":
            errors.add(f"metricsSpec[{i}]", "__time is the primary timestamp, not a metric")
        metric_names.append(name)

    gran = schema.get("granularitySpec")
    if gran is not None:
        _granularity(errors, gran)
    if "transformSpec" in schema:
        errors.keys("transformSpec", schema["transformSpec"], {"transforms", "filter"})


def _metric(errors: _Errors, where: str, metric: Any) -> str | None:
    if not isinstance(metric, dict):
        errors.add(where, "must be an aggregator object")
        return None
    kind = metric.get("type")
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        errors.add(f"{where}.name", "is required")
        name = None
    if kind == "count":
        errors.keys(where, metric, {"type", "name"})
    elif kind in SUM_AGGREGATORS:
        errors.keys(where, metric, {"type", "name", "fieldName", "expression"})
        if not metric.get("fieldName") and not metric.get("expression"):
            errors.add(where, f"{kind} needs fieldName or expression")
    elif kind == "thetaSketch":
        errors.keys(
            where,
            metric,
            {"type", "name", "fieldName", "isInputThetaSketch", "size", "shouldFinalize"},
            {"fieldName"},
        )
        size = metric.get("size", 16384)
        if not isinstance(size, int) or isinstance(size, bool) or size < 1 or size & (size - 1):
            errors.add(f"{where}.size", f"{size!r} is not a power of 2")
        if not isinstance(metric.get("isInputThetaSketch", False), bool):
            errors.add(f"{where}.isInputThetaSketch", "must be true or false")
    elif kind in ("HLLSketchBuild", "HLLSketchMerge"):
        errors.keys(
            where,
            metric,
            {"type", "name", "fieldName", "lgK", "tgtHllType", "round", "shouldFinalize", "stringEncoding"},
            {"fieldName"},
        )
        lg_k = metric.get("lgK", 12)
        if not isinstance(lg_k, int) or not 4 <= lg_k <= 21:
            errors.add(f"{where}.lgK", f"{lg_k!r} is not between 4 and 21")
        if metric.get("tgtHllType", "HLL_4") not in HLL_TYPES:
            errors.add(f"{where}.tgtHllType", f"must be one of {', '.join(HLL_TYPES)}")
    elif kind in SKETCH_AGGREGATORS:
        if not metric.get("fieldName"):
            errors.add(where, f"{kind} needs fieldName")
    else:
        errors.add(f"{where}.type", f"unknown aggregator {kind!r}")
    return name


def _granularity(errors: _Errors, gran: Any) -> None:
    allowed = {"type", "segmentGranularity", "queryGranularity", "rollup", "intervals"}
    if not errors.keys("granularitySpec", gran, allowed):
        return
    kind = gran.get("type", "uniform")
    if kind not in ("uniform", "arbitrary"):
        errors.add("granularitySpec.type", f"{kind!r} is not uniform or arbitrary")
    segment = granularity_rank(gran.get("segmentGranularity", "day"))
    query = granularity_rank(gran.get("queryGranularity", "none"))
    if segment is None:
        errors.add(
            "granularitySpec.segmentGranularity", f"unknown granularity {gran.get('segmentGranularity')!r}"
        )
    if query is None:
        errors.add(
            "granularitySpec.queryGranularity", f"unknown granularity {gran.get('queryGranularity')!r}"
        )
    if segment is not None and query is not None and segment >= 0 and query > segment:
        errors.add("granularitySpec", "queryGranularity must be equal to or finer than segmentGranularity")
    if segment == GRANULARITIES.index("none"):
        errors.add("granularitySpec.segmentGranularity", "none is not a time chunk")
    if not isinstance(gran.get("rollup", True), bool):
        errors.add("granularitySpec.rollup", "must be true or false")
    intervals = gran.get("intervals")
    if intervals is not None:
        if not isinstance(intervals, list):
            errors.add("granularitySpec.intervals", "must be a list")
            return
        for i, interval in enumerate(intervals):
            try:
                parse_interval(interval)
            except ValueError as exc:
                errors.add(f"granularitySpec.intervals[{i}]", str(exc))


def _io_config(errors: _Errors, io: Any, task_type: Any, schema: Any) -> None:
    allowed = {"type", "inputSource", "inputFormat", "appendToExisting", "dropExisting"}
    if not errors.keys("ioConfig", io, allowed, {"type", "inputSource", "inputFormat"}):
        return
    if io.get("type") != task_type:
        errors.add("ioConfig.type", f"must be the task's type {task_type!r}")
    for flag in ("appendToExisting", "dropExisting"):
        if not isinstance(io.get(flag, False), bool):
            errors.add(f"ioConfig.{flag}", "must be true or false")
    if io.get("dropExisting") is True:
        if io.get("appendToExisting") is True:
            errors.add("ioConfig.dropExisting", "cannot be true with appendToExisting true")
        gran = schema.get("granularitySpec") if isinstance(schema, dict) else None
        if not (isinstance(gran, dict) and gran.get("intervals")):
            errors.add("ioConfig.dropExisting", "needs granularitySpec.intervals")
    source = io.get("inputSource")
    if source is not None and errors.keys(
        "ioConfig.inputSource", source, set(source) if isinstance(source, dict) else set(), {"type"}
    ):
        _input_source(errors, source)
    fmt = io.get("inputFormat")
    if fmt is not None and errors.keys(
        "ioConfig.inputFormat", fmt, set(fmt) if isinstance(fmt, dict) else set(), {"type"}
    ):
        if fmt["type"] not in INPUT_FORMATS:
            errors.add("ioConfig.inputFormat.type", f"unknown input format {fmt['type']!r}")
        elif fmt["type"] == "parquet":
            errors.keys("ioConfig.inputFormat", fmt, {"type", "binaryAsString", "flattenSpec"})
            if not isinstance(fmt.get("binaryAsString", False), bool):
                errors.add("ioConfig.inputFormat.binaryAsString", "must be true or false")


def _input_source(errors: _Errors, source: dict[str, Any]) -> None:
    where = "ioConfig.inputSource"
    kind = source["type"]
    if kind == "s3":
        errors.keys(
            where,
            source,
            {
                "type",
                "uris",
                "prefixes",
                "objects",
                "objectGlob",
                "properties",
                "endpointConfig",
                "clientConfig",
                "proxyConfig",
            },
        )
        given = [key for key in ("uris", "prefixes", "objects") if source.get(key)]
        if len(given) != 1:
            errors.add(where, "s3 needs exactly one of uris, prefixes or objects")
        for key in ("uris", "prefixes"):
            values = source.get(key) or []
            if not isinstance(values, list):
                errors.add(f"{where}.{key}", "must be a list")
                continue
            for value in values:
                if not isinstance(value, str) or not re.match(
                    r"^s3://[^/]+/", value + ("/" if key == "prefixes" else "")
                ):
                    errors.add(f"{where}.{key}", f"{value!r} is not an s3://bucket/… URI")
    elif kind == "local":
        errors.keys(where, source, {"type", "baseDir", "filter", "files"})
        if source.get("files"):
            if not all(isinstance(f, str) and f.startswith("/") for f in source["files"]):
                errors.add(f"{where}.files", "must be absolute paths")
        elif not (source.get("baseDir") and source.get("filter")):
            errors.add(where, "local needs baseDir and filter, or files")
    elif kind not in (
        "http",
        "inline",
        "hdfs",
        "google",
        "azure",
        "azureStorage",
        "druid",
        "sql",
        "combining",
        "delta",
        "iceberg",
    ):
        errors.add(f"{where}.type", f"unknown input source {kind!r}")


def _tuning_config(errors: _Errors, tuning: Any, task_type: Any, io: Any, schema: Any) -> None:
    allowed = {
        "type",
        "partitionsSpec",
        "forceGuaranteedRollup",
        "maxNumConcurrentSubTasks",
        "maxRowsInMemory",
        "maxBytesInMemory",
        "maxRetry",
        "taskStatusCheckPeriodMs",
        "totalNumMergeTasks",
        "maxParseExceptions",
        "maxSavedParseExceptions",
        "logParseExceptions",
        "splitHintSpec",
        "indexSpec",
        "awaitSegmentAvailabilityTimeoutMillis",
    }
    if not errors.keys("tuningConfig", tuning, allowed, {"type"}):
        return
    if tuning.get("type") != task_type:
        errors.add("tuningConfig.type", f"must be the task's type {task_type!r}")
    subtasks = tuning.get("maxNumConcurrentSubTasks", 1)
    if not isinstance(subtasks, int) or subtasks < 1:
        errors.add("tuningConfig.maxNumConcurrentSubTasks", "must be 1 or more")
    guaranteed = tuning.get("forceGuaranteedRollup", False)
    if not isinstance(guaranteed, bool):
        errors.add("tuningConfig.forceGuaranteedRollup", "must be true or false")
    partitions = tuning.get("partitionsSpec", {"type": "dynamic"})
    if not errors.keys(
        "tuningConfig.partitionsSpec",
        partitions,
        set(partitions) if isinstance(partitions, dict) else set(),
        {"type"},
    ):
        return
    kind = partitions["type"]
    where = "tuningConfig.partitionsSpec"
    if kind not in PARTITION_TYPES:
        errors.add(f"{where}.type", f"{kind!r} is not one of {', '.join(PARTITION_TYPES)}")
        return
    if kind == "dynamic":
        errors.keys(where, partitions, {"type", "maxRowsPerSegment", "maxTotalRows"})
        if guaranteed:
            errors.add(where, "dynamic partitions cannot guarantee rollup (forceGuaranteedRollup)")
    else:
        if not guaranteed:
            errors.add(where, f"{kind} partitions need forceGuaranteedRollup true")
        if isinstance(io, dict) and io.get("appendToExisting") is True:
            errors.add(where, f"{kind} partitions cannot append (appendToExisting true)")
    if kind == "hashed":
        errors.keys(
            where,
            partitions,
            {
                "type",
                "numShards",
                "targetRowsPerSegment",
                "maxRowsPerSegment",
                "partitionDimensions",
                "partitionFunction",
            },
        )
        if partitions.get("numShards") is not None and partitions.get("targetRowsPerSegment") is not None:
            errors.add(where, "numShards and targetRowsPerSegment cannot both be set")
        dims = partitions.get("partitionDimensions", [])
        declared = _dimension_names(schema)
        unknown = [d for d in dims if d not in declared] if isinstance(dims, list) else ["(not a list)"]
        if unknown:
            errors.add(
                f"{where}.partitionDimensions", f"{', '.join(map(str, unknown))} not among the dimensions"
            )
    if kind in ("single_dim", "range"):
        key = "partitionDimension" if kind == "single_dim" else "partitionDimensions"
        if not partitions.get(key):
            errors.add(where, f"{kind} needs {key}")
        if (partitions.get("targetRowsPerSegment") is None) == (partitions.get("maxRowsPerSegment") is None):
            errors.add(where, f"{kind} needs exactly one of targetRowsPerSegment or maxRowsPerSegment")


def _dimension_names(schema: Any) -> set[str]:
    dims = schema.get("dimensionsSpec", {}).get("dimensions", []) if isinstance(schema, dict) else []
    return {d if isinstance(d, str) else d.get("name") for d in dims if isinstance(d, (str, dict))}
