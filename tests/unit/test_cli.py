import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "beaconhouse", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["warehouse", "serve", "--port", "abc"], "invalid port 'abc'"),
        (["warehouse", "serve", "--port", "70000"], "invalid port 70000"),
        (["warehouse", "explode"], "invalid choice: 'explode'"),
        (["nonsense"], "invalid choice"),
        ([], "the following arguments are required"),
        (["transform", "build", "--from", "2026-13-01"], "invalid date '2026-13-01'"),
        (
            ["transform", "build", "--from", "2026-10-20", "--to", "2026-10-19"],
            "--from 2026-10-20 is after --to 2026-10-19",
        ),
        (["sites"], "the following arguments are required"),
    ],
)
def test_bad_arguments_get_one_line(args, expected):
    result = run(*args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_config_gets_one_line_naming_the_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[warehouse]\nurl = 5\n")
    result = run("--config", str(config), "warehouse", "query", "SELECT 1")
    assert result.returncode == 2
    assert result.stderr.startswith("config error: warehouse.url:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_warehouse_gets_one_line(tmp_path):
    import os

    env = {
        **os.environ,
        "BEACONHOUSE_WAREHOUSE__URL": "http://127.0.0.1:9",
        "BEACONHOUSE_WAREHOUSE__CONNECT_TIMEOUT": "2",
    }
    result = run("warehouse", "query", "SELECT 1", env=env)
    assert result.returncode == 1
    assert "cannot reach the warehouse at http://127.0.0.1:9" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_sites_sync_without_sites_says_so_in_one_line(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    result = run("--config", str(config), "sites", "sync")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no [[sites]] configured: there is nothing to sync"


@pytest.mark.parametrize(
    "argv",
    [
        ["backfill", "--from", "2026-03-05", "--to", "2026-03-01"],
        ["backfill", "--from", "2026-13-01", "--to", "2026-03-01"],
        ["backfill", "--to", "2026-03-01"],
        ["dagster", "--port", "0"],
    ],
)
def test_orchestration_commands_reject_bad_arguments_in_one_line(argv, capsys):
    from beaconhouse.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
