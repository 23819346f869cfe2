"""The code location loads, its asset keys are the ones we mean to have, and the
webserver serves the graph, partitions and checks over GraphQL."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
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
def test_make_dagster_serves_the_asset_graph_partitions_and_checks(tmp_path):
    """`beaconhouse dagster` (make dagster): starts the embedded warehouse, since the
    configured one does not answer, and the UI; Ctrl-C stops both."""
    home = tmp_path / "dagster_home"
    warehouse_port, port = _free_port(), _free_port()
    config = tmp_path / "beaconhouse.toml"
    config.write_text(
        f'[warehouse]\nurl = "http://127.0.0.1:{warehouse_port}"\n'
        f'[warehouse.server]\ndata_dir = "{tmp_path / "warehouse"}"\n'
    )
    log = (tmp_path / "dagster.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "beaconhouse", "--config", str(config), "dagster", "--port", str(port)],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url + "/server_info", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the Dagster UI did not start:\n" + (tmp_path / "dagster.log").read_text())
                time.sleep(0.5)
        assert (home / "dagster.yaml").read_text() == (REPO / "dagster.yaml").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{warehouse_port}/ping", timeout=5) as response:
            assert response.status == 200
        data = _graphql(
            url,
            "{ assetNodes { assetKey { path } isPartitioned partitionDefinition { type } "
            "partitionKeysByDimension { partitionKeys } "
            "assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }",
        )
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
        assert sorted(nodes) == EXPECTED_KEYS.read_text().split()
        raw = nodes["raw/events"]
        assert raw["isPartitioned"]
        assert raw["partitionDefinition"]["type"] == "TIME_WINDOW"
        (dimension,) = raw["partitionKeysByDimension"]
        assert dimension["partitionKeys"][0] == "2025-01-01"
        assert {"name": "raw_events_expectations", "blocking": True} in raw["assetChecksOrError"]["checks"]
        assert not nodes["warehouse/schema"]["isPartitioned"]
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, to the whole group as a terminal does
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    # the embedded warehouse it started has stopped with it
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{warehouse_port}/ping", timeout=2)
