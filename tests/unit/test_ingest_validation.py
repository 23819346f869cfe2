"""A corpus of bad inputs: each is quarantined with a precise reason, none crashes."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beaconhouse.config import S3Settings
from beaconhouse.ingest.events_builder import EventBatch, Lineage, SiteKeys, to_epoch_ms
from beaconhouse.ingest.file_reader import fetch, read_into
from beaconhouse.ingest.quarantine import Reason
from beaconhouse.ingest.sources import SourceFile

pytestmark = pytest.mark.unit

SITES = SiteKeys(by_tracking_id={"BH-1": 1, "BH-2": 2}, tracking_id_of={1: "BH-1", 2: "BH-2"})
NOW_MS = to_epoch_ms(__import__("datetime").datetime(2026, 3, 1, 12, 0, tzinfo=__import__("datetime").UTC))
GOOD = {
    "type": "pageview",
    "ts": "2026-03-01T11:59:00.000Z",
    "tracking_id": "BH-1",
    "page": {"url": "https://shop.example/", "title": "Home"},
    "context": {"user_agent": "Mozilla/5.0", "ip": "81.2.69.160"},
}


def with_(**changes):
    event = json.loads(json.dumps(GOOD))
    for path, value in changes.items():
        node = event
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return json.dumps(event).encode()


DELETE = object()

CORPUS = [
    # (kind, payload, reason, fragment of the detail)
    ("truncated JSON", b'{"type": "pageview", "ts": ', Reason.MALFORMED_JSON, "malformed JSON"),
    ("trailing garbage", with_() + b" xyz", Reason.MALFORMED_JSON, "trailing characters"),
    ("not JSON at all", b"hello world", Reason.MALFORMED_JSON, "malformed JSON"),
    ("single quotes", b"{'type': 'pageview'}", Reason.MALFORMED_JSON, "malformed JSON"),
    ("a JSON number", b"42", Reason.NOT_AN_OBJECT, "not an event object"),
    ("a JSON string", b'"pageview"', Reason.NOT_AN_OBJECT, "not an event object"),
    ("empty array", b"[]", Reason.EMPTY_BATCH, "empty array"),
    ("array over 20", b"[" + b",".join([with_()] * 21) + b"]", Reason.BATCH_TOO_LARGE, "21 events"),
    ("broken array", b"[" + with_() + b",", Reason.MALFORMED_JSON, "malformed JSON"),
    ("whitespace only", b"   \t ", Reason.EMPTY_PAYLOAD, "empty"),
    (
        "oversize payload",
        with_(properties={"blob": "x" * 70_000}),
        Reason.PAYLOAD_TOO_LARGE,
        "65536-byte limit",
    ),
    ("missing type", with_(type=DELETE), Reason.MISSING_FIELD, "$.type"),
    ("missing ts", with_(ts=DELETE), Reason.MISSING_FIELD, "$.ts"),
    ("missing site", with_(tracking_id=DELETE), Reason.MISSING_FIELD, "$.tracking_id"),
    ("unknown type", with_(type="click"), Reason.INVALID_VALUE, "$.type"),
    ("type is a number", with_(type=3), Reason.WRONG_TYPE, "$.type"),
    ("url is a number", with_(page__url=5), Reason.WRONG_TYPE, "$.page.url"),
    (
        "screen width negative",
        with_(context__screen={"width": -1, "height": 10}),
        Reason.INVALID_VALUE,
        "$.context.screen.width",
    ),
    (
        "value is a string",
        with_(type="event", event={"action": "a", "value": "1.5"}),
        Reason.WRONG_TYPE,
        "$.event.value",
    ),
    ("dimension not a string", with_(dimensions={"plan": 3}), Reason.WRONG_TYPE, "$.dimensions"),
    ("metric not a number", with_(metrics={"score": "high"}), Reason.WRONG_TYPE, "$.metrics"),
    ("unknown top-level field", with_(colour="red"), Reason.UNKNOWN_FIELD, "$.colour"),
    ("unknown nested field", with_(page__colour="red"), Reason.UNKNOWN_FIELD, "$.page.colour"),
    ("version 2", with_(v=2), Reason.UNSUPPORTED_VERSION, "version must be 1"),
    ("bad event id", with_(event_id="not-a-uuid"), Reason.INVALID_VALUE, "$.event_id"),
    ("website id zero", with_(tracking_id=DELETE, website_id=0), Reason.INVALID_VALUE, "$.website_id"),
    ("unknown tracking id", with_(tracking_id="BH-999"), Reason.UNKNOWN_WEBSITE, "BH-999"),
    ("unknown website id", with_(tracking_id=DELETE, website_id=77), Reason.UNKNOWN_WEBSITE, "77"),
    ("tracking id and website id disagree", with_(website_id=2), Reason.WEBSITE_MISMATCH, "not website_id 2"),
    ("timestamp without offset", with_(ts="2026-03-01T11:00:00"), Reason.TIMESTAMP_WITHOUT_OFFSET, "$.ts"),
    ("timestamp not RFC 3339", with_(ts="01/03/2026 11:00"), Reason.INVALID_VALUE, "$.ts"),
    ("timestamp years ahead", with_(ts="2031-01-01T00:00:00Z"), Reason.TIMESTAMP_IN_FUTURE, "after"),
    ("timestamp years back", with_(ts="2019-01-01T00:00:00Z"), Reason.TIMESTAMP_TOO_OLD, "days before"),
    ("epoch seconds, not ms", with_(ts=1_772_366_340), Reason.TIMESTAMP_TOO_OLD, "days before"),
    ("pageview without url", with_(page__url=DELETE), Reason.MISSING_FIELD, "$.page.url"),
    ("url not http", with_(page__url="javascript:alert(1)"), Reason.INVALID_URL, "$.page.url"),
    ("event without action", with_(type="event"), Reason.MISSING_FIELD, "$.event"),
    (
        "event action missing",
        with_(type="event", event={"category": "video"}),
        Reason.MISSING_FIELD,
        "$.event.action",
    ),
    ("transaction without ecommerce", with_(type="transaction"), Reason.MISSING_FIELD, "$.ecommerce"),
    (
        "transaction without revenue",
        with_(type="transaction", ecommerce={"transaction_id": "T1"}),
        Reason.MISSING_FIELD,
        "$.ecommerce.revenue",
    ),
    (
        "currency lowercase",
        with_(type="transaction", ecommerce={"transaction_id": "T1", "revenue": 5, "currency": "eur"}),
        Reason.INVALID_VALUE,
        "$.ecommerce.currency",
    ),
    (
        "item without sku",
        with_(type="transaction", ecommerce={"transaction_id": "T1", "revenue": 5, "items": [{"price": 5}]}),
        Reason.MISSING_FIELD,
        "$.ecommerce.items[0].sku",
    ),
    ("invalid IP", with_(context__ip="999.1.1.1"), Reason.INVALID_IP, "999.1.1.1"),
    ("visitor id empty", with_(visitor_id=""), Reason.INVALID_VALUE, "$.visitor_id"),
    ("title too long", with_(page__title="t" * 3000), Reason.INVALID_VALUE, "$.page.title"),
    # A Kafka message is not checked as a whole file is: the payload itself must say it.
    (
        "invalid UTF-8 in a string",
        with_(page__title="T").replace(b'"T"', b'"\xc3("'),
        Reason.INVALID_UTF8,
        "UTF-8",
    ),
    (
        "invalid UTF-8 in an array",
        b"[" + with_().replace(b"Home", b"\xffome") + b"]",
        Reason.INVALID_UTF8,
        "UTF-8",
    ),
    ("not UTF-8 at all", b"\xff\xfe\x00{", Reason.INVALID_UTF8, "byte 0"),
]


@pytest.mark.parametrize(("kind", "payload", "reason", "fragment"), CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_payload_is_quarantined_with_its_reason(kind, payload, reason, fragment):
    batch = EventBatch(SITES)
    batch.add_payload(payload, Lineage("file", "corpus.jsonl"), 7, NOW_MS)
    assert len(batch) == 0, kind
    assert len(batch.rejections) == 1, kind
    rejection = batch.rejections[0]
    assert rejection.reason == reason, (kind, rejection)
    assert fragment in rejection.detail, (kind, rejection.detail)
    assert rejection.raw_payload  # the payload is kept
    assert rejection.source_line == 7


def test_corpus_covers_at_least_thirty_kinds_and_most_reasons():
    assert len(CORPUS) >= 30
    used = {reason for _, _, reason, _ in CORPUS}
    assert len(used) >= 15


def test_the_good_payload_is_accepted():
    batch = EventBatch(SITES)
    batch.add_payload(with_(), Lineage("file", "f"), 1, NOW_MS)
    assert len(batch) == 1
    assert not batch.rejections


def test_one_bad_event_in_a_batch_does_not_sink_the_others():
    batch = EventBatch(SITES)
    payload = (
        b"[" + with_() + b"," + with_(type="click") + b"," + with_(page__url="https://shop.example/b") + b"]"
    )
    batch.add_payload(payload, Lineage("file", "f"), 1, NOW_MS)
    assert len(batch) == 2
    assert [r.reason for r in batch.rejections] == [Reason.INVALID_VALUE]
    assert batch.rejections[0].raw_payload == with_(type="click")  # that event's own JSON


def file_in(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return SourceFile(str(path), "v1", len(data))


def read(tmp_path, name, data):
    batch = EventBatch(SITES)
    file = file_in(tmp_path, name, data)
    read_into(
        batch,
        file,
        fetch(file, S3Settings()),
        NOW_MS,
        {"shop.example": 1},
        {1: "shop.example", 2: "news.example"},
    )
    return batch


def test_invalid_utf8_line_is_quarantined_and_the_rest_loads(tmp_path):
    batch = read(
        tmp_path, "mixed.jsonl", with_() + b"\n" + b'{"type": "pageview\xff\xfe"}\n' + with_() + b"\n"
    )
    assert len(batch) == 2
    assert [(r.reason, r.source_line) for r in batch.rejections] == [(Reason.INVALID_UTF8, 2)]


def test_corrupt_gzip_file_is_one_quarantine_row(tmp_path):
    data = gzip.compress(with_() + b"\n" + with_() + b"\n")
    batch = read(tmp_path, "cut.jsonl.gz", data[: len(data) // 2])
    assert len(batch) == 0
    assert [r.reason for r in batch.rejections] == [Reason.UNREADABLE_FILE]
    assert "cut.jsonl.gz" in batch.rejections[0].detail


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (lambda data: data[:20] + b"not deflate at all" * 4 + data[92:], "corrupt gzip data"),
        (lambda data: data[:-8] + bytes(b ^ 0xFF for b in data[-8:-4]) + data[-4:], "corrupt gzip data"),
        (lambda data: data[:-4] + bytes(b ^ 0xFF for b in data[-4:]), "corrupt gzip data"),
        (lambda data: data + data[: len(data) // 2], "truncated gzip data"),
    ],
    ids=["bad deflate stream", "wrong crc", "wrong length", "truncated second member"],
)
def test_damaged_gzip_file_is_one_quarantine_row_naming_the_damage(tmp_path, damage, detail):
    data = gzip.compress(b"\n".join(with_(page__url=f"https://shop.example/{i}") for i in range(20)) + b"\n")
    batch = read(tmp_path, "damaged.jsonl.gz", damage(data))
    assert len(batch) == 0
    assert [r.reason for r in batch.rejections] == [Reason.UNREADABLE_FILE]
    assert detail in batch.rejections[0].detail


def test_broken_parquet_file_is_one_quarantine_row(tmp_path):
    batch = read(tmp_path, "broken.parquet", b"PAR1 this is not parquet")
    assert [r.reason for r in batch.rejections] == [Reason.UNREADABLE_FILE]


def test_parquet_rows_follow_the_same_contract(tmp_path):
    table = pa.table(
        {
            "type": ["pageview", "click"],
            "ts": pa.array([1_772_366_340_000, 1_772_366_340_000], type=pa.timestamp("ms")),
            "tracking_id": ["BH-1", "BH-1"],
            "page": [{"url": "https://shop.example/a"}, {"url": "https://shop.example/b"}],
            "dimensions": pa.array([[("plan", "pro")], []], type=pa.map_(pa.string(), pa.string())),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    batch = read(tmp_path, "events.parquet", sink.getvalue())
    assert len(batch) == 1
    assert [(r.reason, r.source_line) for r in batch.rejections] == [(Reason.INVALID_VALUE, 2)]
    arrow = batch.to_arrow()
    assert arrow["custom_dimensions"].to_pylist() == [[("plan", "pro")]]


def test_gzip_with_several_members_reads_whole(tmp_path):
    data = gzip.compress(with_() + b"\n") + gzip.compress(with_(page__url="https://shop.example/2") + b"\n")
    assert len(read(tmp_path, "two.jsonl.gz", data)) == 2


def test_truncated_json_with_an_unknown_key_is_malformed_not_unknown_field():
    batch = EventBatch(SITES)
    batch.add_payload(b'{"broken": ', Lineage("file", "f"), 1, NOW_MS)
    assert [r.reason for r in batch.rejections] == [Reason.MALFORMED_JSON]
