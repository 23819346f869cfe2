"""``beaconhouse generate --to kafka://…`` against a real broker (Tansu)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections import Counter

import pytest

from beaconhouse.config import Settings
from beaconhouse.generate.cli import GenerateOptions, run
from tests.kafka_broker import TansuBroker

pytestmark = pytest.mark.server

OPTIONS = {"sites": 2, "start": dt.date(2026, 10, 24), "days": 2, "visitors": 300, "seed": 11}


@pytest.fixture(scope="module")
def broker():
    with TansuBroker() as running:
        yield running


def test_every_payload_becomes_one_message(broker, tmp_path):
    broker.create_topic("web-events", partitions=3)
    truth_dir = tmp_path / "truth"
    report = run(
        Settings(),
        GenerateOptions(to=f"kafka://{broker.bootstrap_servers}/web-events", truth=truth_dir, **OPTIONS),
    )
    truth = json.loads((truth_dir / "truth.json").read_text())
    lines = sum(site["payload_lines"] for site in truth["totals"].values())
    assert lines == report.payload_lines > 1000
    assert report.files == 0

    messages = broker.consume_all("web-events", expected=lines)
    assert len(messages) == lines
    assert {m.partition() for m in messages} == {0, 1, 2}

    # key = the visitor id of the payload; within a partition, in delivery order
    for message in messages[:200]:
        if message.value().startswith(b'{"v":1'):
            assert json.loads(message.value())["visitor_id"].encode() == message.key()
    by_partition: dict[int, list[int]] = {}
    for message in messages:
        by_partition.setdefault(message.partition(), []).append(message.timestamp()[1])
    assert all(stamps == sorted(stamps) for stamps in by_partition.values())

    # the same options to a folder give the same payloads, and the same truth
    folder = tmp_path / "landing"
    run(Settings(), GenerateOptions(to=str(folder), **OPTIONS))
    file_lines = Counter(
        line
        for path in folder.rglob("*.jsonl.gz")
        for line in gzip.decompress(path.read_bytes()).split(b"\n")[:-1]
    )
    assert Counter(m.value() for m in messages) == file_lines
    folder_truth = json.loads((folder / "_truth" / "truth.json").read_text())
    assert folder_truth["marts_daily"] == truth["marts_daily"]
    assert folder_truth["raw_daily"] == truth["raw_daily"]


def test_rate_limit_paces_delivery(broker, tmp_path):
    broker.create_topic("paced", partitions=1)
    report = run(
        Settings(),
        GenerateOptions(
            to=f"kafka://{broker.bootstrap_servers}/paced",
            truth=tmp_path / "truth",
            sites=1,
            days=1,
            visitors=40,
            rate=100.0,
        ),
    )
    # a full bucket (one second's worth) goes at once, the rest at the rate
    sent = report.events + report.duplicate_deliveries + report.malformed_payloads
    assert sent > 200
    expected = (sent - 100) / 100
    assert report.throttled_seconds == pytest.approx(expected, rel=0.25)
    assert report.seconds >= report.throttled_seconds
    assert len(broker.consume_all("paced", expected=report.payload_lines)) == report.payload_lines
