"""The Kafka loader's parse step, in its worker process and in the loader: same result,
in order, nothing left behind, and a clear failure when the worker cannot run; and the
worker guards both loaders share (beaconhouse/ingest/parse_workers.py, spool.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from beaconhouse.config import Settings
from beaconhouse.ingest.message_parser import MessageParser
from beaconhouse.ingest.spool import spool_dir

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
#: an hour ago, fixed for the module: both sides must see the same payloads
EVENT_TS = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3600))
RECEIVED_MS = int(time.time() * 1000)
SITES = [{"website_id": 1, "domain": "shop.example", "tracking_id": "BH-1", "timezone": "Europe/Berlin"}]


def event(number: int, **fields: object) -> bytes:
    payload = {
        "v": 1,
        "type": "pageview",
        "event_id": f"00000000-0000-4000-8000-{number:012d}",
        "tracking_id": "BH-1",
        "visitor_id": f"visitor-{number % 7}",
        "ts": EVENT_TS,
        "page": {"url": f"https://shop.example/p/{number}", "title": "A page"},
        "context": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
    }
    payload.update(fields)
    return json.dumps(payload).encode()


def batch() -> dict[int, tuple[list[bytes], list[int]]]:
    """Two partitions, with poison messages among good events."""
    first = [event(1), b"not json", event(2, type="bogus"), event(3), b""]
    second = [event(4, tracking_id="BH-404"), event(5), b"[" + event(6) + b"," + event(7) + b"]"]
    return {3: (first, [10, 11, 12, 13, 14]), 0: (second, [7, 8, 9])}


def rejections(parsed):
    return [
        (r.reason.value, r.detail, r.source_line, r.lineage.kafka_partition, r.raw_payload)
        for r in parsed.rejections
    ]


def spool_files() -> set[str]:
    return {name for name in os.listdir(spool_dir()) if name.startswith("beaconhouse-chunk-")}


def test_the_worker_parses_as_the_loader_does_and_gives_batches_back_in_order():
    settings = Settings.model_validate({"sites": SITES})
    here = MessageParser(settings, "events", worker=False)
    there = MessageParser(settings, "events", worker=True)
    before = spool_files()
    try:
        # as the loader runs it: the next batch is submitted before the last is taken back
        first = there.submit(batch(), received_ms=RECEIVED_MS)
        second = there.submit({1: ([event(8)], [0])}, received_ms=RECEIVED_MS)
        parsed_first, parsed_second = first(), second()
        expected = here.submit(batch(), received_ms=RECEIVED_MS)()
    finally:
        there.close()
    assert parsed_first.events.equals(expected.events)
    assert rejections(parsed_first) == rejections(expected)
    assert sorted(parsed_first.events["kafka_partition"].to_pylist()) == [0, 0, 0, 3, 3]
    assert {reason for reason, *_ in rejections(expected)} >= {
        "malformed_json",
        "unknown_website",
        "empty_payload",
    }
    assert parsed_second.events["kafka_offset"].to_pylist() == [0]
    assert spool_files() == before


def test_closing_with_batches_in_flight_leaves_no_files():
    settings = Settings.model_validate({"sites": SITES})
    parser = MessageParser(settings, "events", worker=True)
    before = spool_files()
    parser.submit(batch(), received_ms=RECEIVED_MS)
    parser.submit(batch(), received_ms=RECEIVED_MS)
    parser.close()
    assert spool_files() == before


def run_script(source: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "loader_script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_failed_for_want_of_a_main_guard(
    process: subprocess.Popen[str], loader: str, function: str
) -> None:
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    # the worker refused to start a loader of its own, and the loader says why it failed
    assert f"{function} was called while a parse worker process was starting" in stderr
    assert f"IngestError: the {loader} loader's parse worker process stopped" in stderr
    assert "if __name__ == '__main__':" in stderr.splitlines()[-1]


def test_a_script_without_a_main_guard_fails_with_the_reason_and_does_not_hang(tmp_path):
    """Python starts the worker by importing the loader's script; unguarded, the script
    would start a second loader there (for Kafka: a second group member)."""
    process = run_script(
        f"""
        from beaconhouse.config import Settings
        from beaconhouse.ingest.parse_workers import refuse_in_starting_worker
        from beaconhouse.ingest.message_parser import MessageParser

        refuse_in_starting_worker("ingest_kafka")  # what ingest_kafka does first
        parser = MessageParser(Settings.model_validate({{"sites": {SITES!r}}}), "events", worker=True)
        try:
            parser.submit({{0: ([b"{{}}"], [0])}}, 0)()
        finally:
            parser.close()
        """,
        tmp_path,
    )
    assert_failed_for_want_of_a_main_guard(process, "Kafka", "ingest_kafka")


def test_the_worker_exits_when_its_loader_is_killed(tmp_path):
    process = run_script(
        f"""
        import os, sys, time
        from beaconhouse.config import Settings
        from beaconhouse.ingest.message_parser import MessageParser

        if __name__ == "__main__":
            parser = MessageParser(Settings.model_validate({{"sites": {SITES!r}}}), "events", worker=True)
            parser.submit({{0: ([b"{{}}"], [0])}}, 0)()
            print(*parser._pool._processes, flush=True)
            time.sleep(600)
        """,
        tmp_path,
    )
    assert process.stdout is not None
    worker = int(process.stdout.readline())
    os.kill(worker, 0)  # alive
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        # a zombie (exited, waiting to be reaped by init) counts as gone
        if Path(f"/proc/{worker}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.2)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the parse worker outlived its loader")


def test_a_loader_removes_the_spool_files_of_loaders_that_no_longer_run(tmp_path):
    """A loader killed with SIGKILL leaves the batches it had in flight in shared memory."""
    import pyarrow as pa

    from beaconhouse.ingest.spool import PREFIX, remove_stale_spools, spooled

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    table = pa.table({"x": [1, 2, 3]})
    dead = Path(spooled(table, loader_pid=dead_pid)["path"][0].as_py())
    ours = Path(spooled(table, loader_pid=os.getpid())["path"][0].as_py())
    unowned_old = Path(spool_dir()) / f"{PREFIX}oldstyle.arrow"
    unowned_new = Path(spool_dir()) / f"{PREFIX}newstyle.arrow"
    unowned_old.write_bytes(b"")
    unowned_new.write_bytes(b"")
    os.utime(unowned_old, (time.time() - 7200, time.time() - 7200))
    try:
        removed = remove_stale_spools()
        assert {dead.name, unowned_old.name} <= set(removed)
        assert (dead.exists(), unowned_old.exists()) == (False, False)
        assert (ours.exists(), unowned_new.exists()) == (True, True)  # a running loader's, a recent one
    finally:
        for path in (dead, ours, unowned_old, unowned_new):
            path.unlink(missing_ok=True)


def _spool_owner() -> int:
    from beaconhouse.ingest.parse_workers import loader_pid

    return loader_pid()


def test_a_worker_names_its_files_after_the_loader_that_started_it(monkeypatch):
    """Not after its current parent: a worker that finishes a batch just after its loader
    was killed has init (pid 1) for a parent, and a file named after pid 1 would never
    count as stale (one was found in /dev/shm after the SIGKILL test)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from beaconhouse.ingest import parse_workers

    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn, initializer=parse_workers.watch_parent) as pool:
        assert pool.submit(_spool_owner).result(timeout=60) == os.getpid()
    # the loader recorded at start wins over the parent the worker has now
    monkeypatch.setattr(parse_workers, "_LOADER_PID", 4242)
    monkeypatch.setattr(parse_workers.os, "getppid", lambda: 1)
    assert parse_workers.loader_pid() == 4242


def test_the_file_loader_fails_the_same_way_without_a_main_guard(tmp_path):
    """The file loader's parse workers come from the same pool factory."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "events.jsonl").write_bytes(event(1) + b"\n")
    process = run_script(
        f"""
        from beaconhouse.config import Settings
        from beaconhouse.ingest.chunk_parser import ChunkParser, ParseContext
        from beaconhouse.ingest.parse_workers import refuse_in_starting_worker
        from beaconhouse.ingest.sources import list_files

        refuse_in_starting_worker("ingest_files")  # what ingest_files does first
        settings = Settings.model_validate({{"sites": {SITES!r}}})
        files = list_files({str(landing)!r}, settings.s3)
        for parsed in ChunkParser(ParseContext(settings), workers=1).parse([files]):
            print(parsed.events.num_rows)
        """,
        tmp_path,
    )
    assert_failed_for_want_of_a_main_guard(process, "file", "ingest_files")
