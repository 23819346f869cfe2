"""``beaconhouse-dbt`` behaves as dbt's command line: exit codes, output, logs, artifacts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from beaconhouse.transform import DBT_PROJECT_DIR, dbt_executable

pytestmark = pytest.mark.unit

LAUNCHER = Path(sys.executable).parent / "beaconhouse-dbt"
STOCK_DBT = Path(sys.executable).parent / "dbt"


def run(executable: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(executable), *args],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def last_line(output: str) -> str:
    """The last line of dbt's output without its time stamp."""
    lines = output.splitlines() or [""]
    return re.sub(r"^(\x1b\[0m)?\d\d:\d\d:\d\d\s+", "", lines[-1])


def test_beaconhouse_runs_dbt_through_the_launcher():
    assert Path(dbt_executable()) == LAUNCHER


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["no-such-command"], 2),  # a usage error, from the command line parser
        (["run-operation", "no_such_macro", "--project-dir", str(DBT_PROJECT_DIR)], 2),  # from dbt itself
    ],
)
def test_exit_codes_and_messages_are_dbts(args, code, tmp_path):
    # nothing answers on this port: a command that got as far as connecting would fail too
    env = {"BEACONHOUSE_WAREHOUSE__URL": "http://127.0.0.1:9", "DBT_TARGET_PATH": str(tmp_path / "t")}
    ours, stock = run(LAUNCHER, *args, env=env), run(STOCK_DBT, *args, env=env)
    assert (ours.returncode, stock.returncode) == (code, code)
    assert ours.stderr.replace("beaconhouse-dbt", "dbt") == stock.stderr
    assert last_line(ours.stdout) == last_line(stock.stdout)


def test_logs_and_artifacts_are_complete_at_exit(tmp_path):
    result = run(
        LAUNCHER,
        "parse",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    # the process ends with os._exit: what dbt wrote last must still be on disk
    log_lines = (tmp_path / "logs" / "dbt.log").read_text().splitlines()
    assert any("Command `beaconhouse-dbt parse` succeeded" in line for line in log_lines[-5:]), log_lines[-5:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert "model.beaconhouse.fct_sessions" in manifest["nodes"]
    # and so must dbt's last line of output
    assert "Performance info" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["run", "--select", "fct_sessions"], "run"),
        (["--log-format", "json", "build", "--select", "x"], "build"),
        (["--log-level", "debug", "ls", "--select", "run"], "ls"),
        (["run-operation", "create_marts_database"], "run-operation"),
        (["--version"], None),
        (["docs", "generate"], "docs"),
    ],
)
def test_the_command_is_found_as_dbts_command_line_parses_it(args, command):
    from dbt.cli.main import cli

    from beaconhouse.dbt_launcher import command_of

    assert command_of(cli, args) == command


def test_dbt_functions_the_launcher_replaces_keep_their_signatures():
    """A dbt upgrade that changes them must fail here, not skip or break a write."""
    import inspect

    import dbt.cli.requires as requires
    import dbt.compilation as compilation

    assert list(inspect.signature(requires.parse_manifest).parameters) == [
        "runtime_config",
        "write_perf_info",
        "write",
        "write_json",
        "active_integrations",
    ]
    assert list(inspect.signature(compilation.Compiler.write_graph_file).parameters) == [
        "self",
        "linker",
        "manifest",
    ]


def test_mashumaro_still_has_the_option_the_launcher_sets():
    """Setting an option mashumaro no longer reads would do nothing, silently."""
    import mashumaro.config

    assert mashumaro.config.BaseConfig.__dict__["lazy_compilation"] is False  # its default


#: what differs between two parses of the same project, whichever program ran them
PARSE_TIME_FIELDS = frozenset(
    {"created_at", "generated_at", "invocation_id", "invocation_started_at", "run_started_at"}
)


def without_parse_times(value):
    if isinstance(value, dict):
        return {key: without_parse_times(item) for key, item in value.items() if key not in PARSE_TIME_FIELDS}
    if isinstance(value, list):
        return [without_parse_times(item) for item in value]
    return value


def test_codecs_compiled_on_first_use_write_and_read_what_dbt_does(tmp_path):
    """The launcher compiles mashumaro's codecs lazily: every artifact field must still be
    dbt's. The first parse writes the manifest and dbt's saved parse; the second reads
    the saved parse back (partial parsing) and writes the manifest from it."""
    # dbt lists some dependencies in set order: one hash seed for all four parses
    env = {"BEACONHOUSE_WAREHOUSE__URL": "http://127.0.0.1:9", "PYTHONHASHSEED": "0"}
    manifests = {}
    for name, executable in (("ours", LAUNCHER), ("stock", STOCK_DBT)):
        target = tmp_path / name
        for parse in ("full", "partial"):
            logs = tmp_path / f"{name}-{parse}-logs"
            args = [
                "parse",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(target),
                "--log-path",
                str(logs),
            ]
            result = run(executable, *args, env=env)
            assert result.returncode == 0, result.stdout[-3000:]
            read_saved_parse = "no changes found, skipping parsing" in (logs / "dbt.log").read_text()
            assert read_saved_parse == (parse == "partial")
            manifests[name, parse] = without_parse_times(json.loads((target / "manifest.json").read_text()))
    assert manifests["ours", "full"] == manifests["stock", "full"]
    assert manifests["ours", "partial"] == manifests["stock", "full"]
    assert manifests["stock", "partial"] == manifests["stock", "full"]
    assert len(manifests["ours", "partial"]["nodes"]) > 50


def test_node_running_commands_write_their_artifacts_once_and_no_graph_pickle(tmp_path):
    """``seed`` (no seeds here, so no warehouse needed) runs as ``run`` and ``build`` do."""
    env = {"BEACONHOUSE_WAREHOUSE__URL": "http://127.0.0.1:9"}
    ours_target, stock_target = tmp_path / "ours", tmp_path / "stock"
    seed = ["seed", "--project-dir", str(DBT_PROJECT_DIR), "--target-path"]
    ours = run(LAUNCHER, *seed, str(ours_target), env=env)
    stock = run(STOCK_DBT, *seed, str(stock_target), env=env)
    assert ours.returncode == stock.returncode == 0, ours.stdout[-3000:]
    written = {p.name for p in ours_target.iterdir()}
    assert written == {p.name for p in stock_target.iterdir()} - {"graph.gpickle"}
    assert {"manifest.json", "run_results.json", "semantic_manifest.json"} <= written

    def resources(target: Path) -> dict[str, list[str]]:
        """Every resource of the manifest by section (the rest differs by parse time)."""
        manifest = json.loads((target / "manifest.json").read_text())
        sections = {key: value for key, value in manifest.items() if key != "metadata"}
        return {key: sorted(value) for key, value in sections.items() if isinstance(value, dict)}

    assert resources(ours_target) == resources(stock_target)
    assert "model.beaconhouse.fct_sessions" in resources(ours_target)["nodes"]
    assert json.loads((ours_target / "run_results.json").read_text())["args"]["which"] == "seed"


def test_a_run_that_stops_early_leaves_no_parse_time_manifest(tmp_path):
    """What the launcher's docstring says: the manifest is written once, when a node-running
    command finishes, so a run that fails before that (here: no warehouse) leaves none,
    where stock dbt leaves the one it wrote after parsing."""
    env = {"BEACONHOUSE_WAREHOUSE__URL": "http://127.0.0.1:9"}
    args = ["run", "--select", "fct_sessions", "--project-dir", str(DBT_PROJECT_DIR), "--target-path"]
    ours = run(LAUNCHER, *args, str(tmp_path / "ours"), env=env)
    stock = run(STOCK_DBT, *args, str(tmp_path / "stock"), env=env)
    assert ours.returncode == stock.returncode == 2
    assert (tmp_path / "stock" / "manifest.json").exists()
    assert not (tmp_path / "ours" / "manifest.json").exists()
