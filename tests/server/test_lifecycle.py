"""Starting, owning the data folder, and stopping the embedded server."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from beaconhouse.warehouse.process import EmbeddedWarehouse, free_port

pytestmark = pytest.mark.server


def test_sigterm_then_restart_keeps_all_data(tmp_path):
    data = tmp_path / "data"
    server = EmbeddedWarehouse(data).start()
    client = server_client(server)
    client.command("CREATE DATABASE IF NOT EXISTS keep")
    client.command("CREATE TABLE keep.t (n UInt64, s String) ENGINE = MergeTree ORDER BY n")
    client.insert("keep.t", [[n, f"row{n}"] for n in range(50_000)], column_names=["n", "s"])
    expected = client.query("SELECT count(), sum(n), groupBitXor(cityHash64(s)) FROM keep.t").result_rows

    # An insert in flight when SIGTERM arrives completes before the server exits.
    body = b"INSERT INTO keep.t FORMAT CSV\n" + b"".join(
        b"%d,late\n" % n for n in range(1_000_000, 1_200_000)
    )
    outcome: dict[str, int] = {}

    def late_insert() -> None:
        try:
            outcome["status"] = requests.post(server.url, data=body, timeout=60).status_code
        except requests.ConnectionError:
            outcome["status"] = -1  # the server had already stopped listening

    inserter = threading.Thread(target=late_insert)
    inserter.start()
    time.sleep(0.05)
    assert server.stop() == 0  # a clean exit code
    inserter.join()

    restarted = EmbeddedWarehouse(data, port=free_port()).start()
    try:
        again = server_client(restarted)
        assert (
            again.query(
                "SELECT count(), sum(n), groupBitXor(cityHash64(s)) FROM keep.t WHERE n < 1000000"
            ).result_rows
            == expected
        )
        late = again.query("SELECT count() FROM keep.t WHERE n >= 1000000").result_rows[0][0]
        # An acknowledged insert is all there; a refused one left nothing: never half.
        if outcome["status"] == 200:
            assert late == 200_000
        else:
            assert late == 0
    finally:
        restarted.stop()


def serve_once(*args: str) -> subprocess.CompletedProcess[str]:
    """``beaconhouse warehouse serve ARGS`` expected to exit by itself."""
    command = [sys.executable, "-m", "beaconhouse", "warehouse", "serve", *args, "--port", str(free_port())]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1
    for needle in needles:
        assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_second_server_on_same_folder_exits_with_clear_message(tmp_path):
    data = tmp_path / "data"
    with EmbeddedWarehouse(data):
        result = serve_once("--data-dir", str(data))
    assert_one_line_failure(result, "is in use by process")


def test_non_loopback_bind_without_passwords_refuses_to_start(tmp_path):
    result = serve_once("--data-dir", str(tmp_path / "d"), "--host", "0.0.0.0")
    assert_one_line_failure(result, "refusing to listen on 0.0.0.0", "default")


def test_non_loopback_bind_with_passwords_starts(tmp_path):
    digest = hashlib.sha256(b"pw").hexdigest()
    config = tmp_path / "bh.toml"
    config.write_text(f'[[warehouse.server.users]]\nname = "default"\npassword_sha256 = "{digest}"\n')
    port = free_port("0.0.0.0")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "beaconhouse",
            "--config",
            str(config),
            "warehouse",
            "serve",
            "--data-dir",
            str(tmp_path / "d"),
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert requests.post(f"http://127.0.0.1:{port}/", data="SELECT 1", timeout=5).status_code == 403
        assert (
            requests.post(
                f"http://127.0.0.1:{port}/", data="SELECT 1", auth=("default", "pw"), timeout=5
            ).text
            == "1\n"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


def server_client(server: EmbeddedWarehouse):
    import clickhouse_connect

    return clickhouse_connect.get_client(host="127.0.0.1", port=server.port)
