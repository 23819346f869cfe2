"""The index_parallel spec beaconhouse builds, and the stand-in's validator of Druid's
documented spec rules: it accepts ours and rejects broken ones, naming the field."""

import copy
import datetime as dt

import pytest

from beaconhouse.config import ConfigError, DruidSettings, Settings, load_settings
from beaconhouse.druid.export import export_location, rollup_query, s3_http_url
from beaconhouse.druid.spec import day_interval, ingestion_spec
from tests.druid_spec_rules import spec_errors

pytestmark = pytest.mark.unit
DAY = dt.date(2026, 3, 29)
S3_FILE = "s3://exports/druid/beaconhouse_page_views/day=2026-03-29/page_views.parquet"


def _spec(**settings):
    return ingestion_spec(DruidSettings(**settings), DAY, S3_FILE)


def test_the_spec_is_one_replaced_day_of_rolled_up_page_views():
    task = _spec(query_granularity="minute")
    assert spec_errors(task) == []
    spec = task["spec"]
    gran = spec["dataSchema"]["granularitySpec"]
    assert gran == {
        "type": "uniform",
        "segmentGranularity": "DAY",
        "queryGranularity": "MINUTE",
        "rollup": True,
        "intervals": ["2026-03-29T00:00:00.000Z/2026-03-30T00:00:00.000Z"],
    }
    assert spec["ioConfig"]["appendToExisting"] is False
    assert spec["ioConfig"]["inputSource"] == {"type": "s3", "uris": [S3_FILE]}
    assert spec["ioConfig"]["inputFormat"]["type"] == "parquet"
    metrics = {m["name"]: m["type"] for m in spec["dataSchema"]["metricsSpec"]}
    assert metrics == {
        "input_rows": "count",
        "pageviews": "longSum",
        "bounces": "doubleSum",
        "time_on_page_ms": "doubleSum",
        "visitors": "thetaSketch",
        "sessions": "thetaSketch",
    }
    dims = [d["name"] for d in spec["dataSchema"]["dimensionsSpec"]["dimensions"]]
    assert dims[0] == "website_id"
    assert {"page_path", "country_code", "device_type", "browser_name", "os_name", "traffic_channel"} <= set(
        dims
    )


def test_a_local_export_gets_a_local_input_source(tmp_path):
    settings = Settings(archive={"url": str(tmp_path / "archive")})
    location = export_location(settings, DAY)
    assert location == f"{tmp_path}/archive/druid/beaconhouse_page_views/day=2026-03-29/page_views.parquet"
    task = ingestion_spec(settings.druid, DAY, location)
    assert spec_errors(task) == []
    assert task["spec"]["ioConfig"]["inputSource"] == {
        "type": "local",
        "baseDir": f"{tmp_path}/archive/druid/beaconhouse_page_views/day=2026-03-29",
        "filter": "page_views.parquet",
    }


def test_the_export_query_rolls_up_to_the_configured_granularity():
    assert "INTERVAL 15 MINUTE" in rollup_query("fifteen_minute")
    assert "INTERVAL 1 HOUR" in rollup_query("hour")
    assert (
        s3_http_url("s3://b/k/x.parquet", Settings(s3={"endpoint_url": "http://h:1/"}).s3)
        == "http://h:1/b/k/x.parquet"
    )
    assert s3_http_url("s3://b/k", Settings().s3) == "https://b.s3.us-east-1.amazonaws.com/k"


def test_day_interval_spans_the_day():
    assert day_interval(dt.date(2026, 12, 31)) == "2026-12-31T00:00:00.000Z/2027-01-01T00:00:00.000Z"


def _broken(change):
    task = copy.deepcopy(_spec())
    change(task)
    return spec_errors(task)


def _set(path, value):
    def change(task):
        node = task
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _drop(path):
    def change(task):
        node = task
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


SCHEMA = ("spec", "dataSchema")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set(("type",), "index_hadoop"), "task.type"),
        (_drop((*SCHEMA, "dataSource")), "dataSchema.dataSource: is required"),
        (_set((*SCHEMA, "dataSource"), "bad/name"), "may not start with '.', contain '/'"),
        (_drop((*SCHEMA, "timestampSpec")), "dataSchema.timestampSpec: is required"),
        (_set((*SCHEMA, "timestampSpec", "format"), "sometimes"), "timestampSpec.format"),
        (
            _set((*SCHEMA, "granularitySpec", "queryGranularity"), "MONTH"),
            "equal to or finer than segmentGranularity",
        ),
        (
            _set((*SCHEMA, "granularitySpec", "segmentGranularity"), "fortnight"),
            "unknown granularity 'fortnight'",
        ),
        (
            _set((*SCHEMA, "granularitySpec", "intervals"), ["2026-03-30/2026-03-29"]),
            "end is not after its start",
        ),
        (_set((*SCHEMA, "granularitySpec", "intervals"), ["2026-03-29"]), "not an ISO 8601 interval"),
        (
            _set((*SCHEMA, "granularitySpec", "rollup"), "yes"),
            "granularitySpec.rollup: must be true or false",
        ),
        (_set((*SCHEMA, "granularitySpec", "queryGranulariy"), "HOUR"), "queryGranulariy: unknown property"),
        (
            lambda t: t["spec"]["dataSchema"]["metricsSpec"].append(
                {"type": "longSum", "name": "page_path", "fieldName": "x"}
            ),
            "'page_path' is both a dimension and a metric",
        ),
        (
            lambda t: t["spec"]["dataSchema"]["metricsSpec"].append({"type": "count", "name": "pageviews"}),
            "metric 'pageviews' is defined twice",
        ),
        (
            lambda t: t["spec"]["dataSchema"]["metricsSpec"].append({"type": "longSum", "name": "x"}),
            "longSum needs fieldName",
        ),
        (
            lambda t: t["spec"]["dataSchema"]["metricsSpec"].append(
                {"type": "median", "name": "m", "fieldName": "x"}
            ),
            "unknown aggregator 'median'",
        ),
        (lambda t: t["spec"]["dataSchema"]["metricsSpec"][4].update(size=10000), "10000 is not a power of 2"),
        (
            lambda t: t["spec"]["dataSchema"]["metricsSpec"].append(
                {"type": "HLLSketchBuild", "name": "h", "fieldName": "x", "lgK": 30}
            ),
            "lgK: 30 is not between 4 and 21",
        ),
        (
            lambda t: t["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"].append("page_path"),
            "dimension 'page_path' is listed twice",
        ),
        (
            lambda t: t["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"].append(
                {"type": "text", "name": "t"}
            ),
            "'text' is not one of",
        ),
        (_set(("spec", "ioConfig", "type"), "index"), "ioConfig.type: must be the task's type"),
        (_drop(("spec", "ioConfig", "inputFormat")), "ioConfig.inputFormat: is required"),
        (_set(("spec", "ioConfig", "inputFormat"), {"type": "xlsx"}), "unknown input format 'xlsx'"),
        (
            _set(
                ("spec", "ioConfig", "inputSource"),
                {"type": "s3", "uris": [S3_FILE], "prefixes": ["s3://b/p"]},
            ),
            "exactly one of uris, prefixes or objects",
        ),
        (
            _set(("spec", "ioConfig", "inputSource"), {"type": "s3", "uris": ["/tmp/x.parquet"]}),
            "is not an s3://bucket/",
        ),
        (
            _set(("spec", "ioConfig", "inputSource"), {"type": "local", "baseDir": "/tmp"}),
            "local needs baseDir and filter",
        ),
        (_set(("spec", "ioConfig", "appendToExisting"), True), "cannot append"),
        (_drop((*SCHEMA, "granularitySpec", "intervals")), "dropExisting: needs granularitySpec.intervals"),
        (
            _set(("spec", "tuningConfig", "forceGuaranteedRollup"), False),
            "hashed partitions need forceGuaranteedRollup true",
        ),
        (
            _set(("spec", "tuningConfig", "partitionsSpec"), {"type": "dynamic"}),
            "dynamic partitions cannot guarantee rollup",
        ),
        (
            _set(("spec", "tuningConfig", "partitionsSpec", "partitionDimensions"), ["site"]),
            "site not among the dimensions",
        ),
        (
            _set(("spec", "tuningConfig", "partitionsSpec", "numShards"), 4),
            "numShards and targetRowsPerSegment cannot both",
        ),
        (_set(("spec", "tuningConfig", "maxNumConcurrentSubTasks"), 0), "must be 1 or more"),
    ],
)
def test_the_validator_rejects_a_broken_spec_naming_the_problem(change, expected):
    errors = _broken(change)
    assert errors, "the broken spec was accepted"
    assert any(expected in error for error in errors), errors


def test_druid_settings_are_checked_and_the_export_defaults_beside_the_archive():
    settings = load_settings(
        environ={"BEACONHOUSE_ARCHIVE__URL": "s3://arch/p", "BEACONHOUSE_DRUID__QUERY_GRANULARITY": "minute"}
    )
    assert settings.druid_export_url() == "s3://arch/p/druid"
    assert settings.druid.query_granularity == "minute"
    for key, value, message in (
        ("QUERY_GRANULARITY", "week", "druid.query_granularity"),
        ("SKETCH_SIZE", "1000", "power of 2"),
        ("OVERLORD_URL", "overlord:8081", "http:// or https://"),
        ("DATASOURCE", "page views", "plain identifier"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_settings(environ={f"BEACONHOUSE_DRUID__{key}": value})
