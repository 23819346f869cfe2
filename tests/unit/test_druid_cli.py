"""``beaconhouse druid``: the spec printed, bad arguments and settings in one line."""

import json
import os
import subprocess
import sys

import pytest

from tests.druid_spec_rules import spec_errors

pytestmark = pytest.mark.unit


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "beaconhouse", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_druid_spec_prints_a_valid_spec_for_the_day():
    result = run("druid", "spec", "--day", "2026-03-02", env={"BEACONHOUSE_ARCHIVE__URL": "s3://arch/x"})
    assert result.returncode == 0, result.stderr
    task = json.loads(result.stdout)
    assert spec_errors(task) == []
    assert task["spec"]["ioConfig"]["inputSource"]["uris"] == [
        "s3://arch/x/druid/beaconhouse_page_views/day=2026-03-02/page_views.parquet"
    ]


@pytest.mark.parametrize(
    ("args", "env", "expected", "code"),
    [
        (["druid", "spec"], {}, "the following arguments are required: --day", 2),
        (["druid", "spec", "--day", "2026-02-30"], {}, "invalid date '2026-02-30'", 2),
        (["druid", "ingest", "--from", "2026-03-03", "--to", "2026-03-02"], {}, "is after --to", 2),
        (["druid", "purge"], {}, "invalid choice: 'purge'", 2),
        (
            ["druid", "spec", "--day", "2026-03-02"],
            {"BEACONHOUSE_DRUID__SKETCH_SIZE": "100"},
            "power of 2",
            2,
        ),
        (
            ["druid", "check", "--from", "2026-03-02"],
            {
                "BEACONHOUSE_DRUID__BROKER_URL": "http://127.0.0.1:9",
                "BEACONHOUSE_WAREHOUSE__URL": "http://127.0.0.1:9",
            },
            "query to the Broker at http://127.0.0.1:9 failed",
            1,
        ),
    ],
)
def test_bad_druid_arguments_get_one_line(args, env, expected, code):
    result = run(*args, env=env)
    assert result.returncode == code
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
