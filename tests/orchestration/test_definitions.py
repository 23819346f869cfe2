"""The code location loads, its asset keys are the ones we mean to have, and the
webserver serves the graph, partitions and checks over GraphQL."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: every asset key of the code location, one per line: a change here is deliberate
EXPECTED_KEYS = REPO / "tests" / "orchestration" / "asset_keys.txt"


def _loaded() -> object:
    from orchestration.definitions import defs

    return defs.get_repository_def()


@pytest.mark.unit
def test_definitions_load_and_every_asset_key_is_listed():
    repository = _loaded()
    keys = sorted(key.to_user_string() for key in repository.asset_graph.get_all_asset_keys())
    assert keys == EXPECTED_KEYS.read_text().split()


@pytest.mark.unit
def test_loading_the_code_location_reads_no_environment(monkeypatch):
    """Resources read their configuration when a run starts, not at import: a broken
    configuration must not stop the code location from loading."""
    monkeypatch.setenv("BEACONHOUSE_CONFIG", "/nonexistent/beaconhouse.toml")
    code = (
        "from orchestration.definitions import defs\n"
        "print(len(list(defs.get_repository_def().asset_graph.get_all_asset_keys())))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=os.environ, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip()) >= 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        url + "/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


@pytest.mark.server
def test_webserver_serves_the_asset_graph_partitions_and_checks(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "orchestration.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/server_info", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "dagster-webserver did not start:\n" + (tmp_path / "webserver.log").read_text()
                    )
                time.sleep(0.5)
        data = _graphql(
            url,
            "{ assetNodes { assetKey { path } isPartitioned partitionDefinition { type } "
            "assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }",
        )
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
        assert sorted(nodes) == EXPECTED_KEYS.read_text().split()
        raw = nodes["raw/events"]
        assert raw["isPartitioned"]
        assert raw["partitionDefinition"]["type"] == "TIME_WINDOW"
        assert {"name": "raw_events_expectations", "blocking": True} in raw["assetChecksOrError"]["checks"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
