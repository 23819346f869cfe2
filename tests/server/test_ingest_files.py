"""``beaconhouse ingest files`` against the real embedded warehouse and a real S3 endpoint."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import uuid
from pathlib import Path

import pytest

from beaconhouse.config import IngestSettings, Settings, Site, WarehouseSettings
from beaconhouse.ingest.files_pipeline import ingest_files
from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations
from tests.s3_server import MotoS3

pytestmark = pytest.mark.server
DATA = Path(__file__).resolve().parents[1] / "data"
SITES = (
    Site(website_id=1, domain="shop.example", timezone="Europe/Berlin"),
    Site(website_id=2, domain="news.example", timezone="America/New_York", ip_anonymization=False),
)


@pytest.fixture
def settings(warehouse, tmp_path):
    """Settings with a raw layer of this test's own, freshly migrated."""
    suffix = uuid.uuid4().hex[:8]
    wh = WarehouseSettings(url=warehouse.url, raw_database=f"raw_{suffix}", meta_database=f"meta_{suffix}")
    apply_migrations(warehouse.client(), SchemaContext(raw_db=wh.raw_database, meta_db=wh.meta_database))
    return Settings(
        warehouse=wh, sites=SITES, ingest=IngestSettings(visitor_id_secret="test-secret-0123456789")
    )


def run(settings, url, tmp_path, **kwargs):
    return ingest_files(settings, url, pipelines_dir=tmp_path / "dlt", **kwargs)


def query(warehouse, sql):
    return warehouse.client().query(sql).result_rows


def event(n, **extra):
    ts = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
    body = {
        "type": "pageview",
        "event_id": str(uuid.UUID(int=n + 1)),
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "received_at": (ts + dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
        "tracking_id": "BH-1",
        "visitor_id": f"visitor-{n % 3}",
        "page": {"url": f"https://shop.example/p/{n}", "referrer": "https://www.bing.com/"},
        "context": {
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.0 Safari/605.1.15",
            "ip": "81.2.69.160",
        },
    }
    body.update(extra)
    return json.dumps(body)


def jsonl_gz(lines):
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_access_log_every_line_is_a_raw_row(settings, warehouse, tmp_path):
    folder = tmp_path / "logs" / "site=1"
    folder.mkdir(parents=True)
    shutil.copy(DATA / "access_combined.log", folder / "access.log")
    report = run(settings, str(tmp_path / "logs"), tmp_path)
    raw = settings.warehouse.raw_database
    lines = [line for line in (DATA / "access_combined.log").read_text().splitlines() if line.strip()]
    events = query(warehouse, f"SELECT count() FROM {raw}.events")[0][0]
    quarantined = query(warehouse, f"SELECT reason, count() FROM {raw}.events_quarantine GROUP BY reason")
    # None skipped: every line is an event or a quarantine row.
    assert events + sum(n for _, n in quarantined) == len(lines) == 14
    assert dict(quarantined) == {"malformed_log_line": 2}
    assert report.events_loaded == 12
    by_type = dict(query(warehouse, f"SELECT event_type, count() FROM {raw}.events GROUP BY event_type"))
    assert by_type == {"pageview": 6, "asset": 3, "request": 3}
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            f"""
        SELECT source_line, event_type, visitor_id_kind, visitor_id, is_bot, page_path, traffic_medium,
               device_type, toString(client_ts), properties['http_status'], IPv6NumToString(ip)
        FROM {raw}.events""",
        )
    }
    first, second_day = rows[1], rows[12]
    assert first[:2] == ("pageview", "cookieless")
    assert rows[4][2] == first[2]  # same site, IP, agent and day: the same visitor
    assert second_day[2] != first[2]  # the next day: a new hash, as Plausible does
    assert rows[4][5] == "email"  # utm_medium from the logged URL
    assert rows[7][3] is True  # Googlebot
    assert rows[7][0] == "pageview"
    assert rows[2][0] == "asset"
    assert rows[6][0] == "asset"
    assert rows[8][0] == "request"
    assert rows[8][8] == "302"
    assert rows[5][6] == "mobile"
    assert first[7] == "2026-03-01 09:00:01.000"  # +0100 in the log, UTC in the warehouse
    assert first[9] == "::ffff:81.2.69.0"  # anonymised
    assert rows[14][0] == "pageview"  # Common Log Format, no referrer or agent


def test_s3_files_load_once_and_changes_are_reported(settings, warehouse, tmp_path):
    with MotoS3() as s3:
        s3.client().create_bucket(Bucket="landing")
        put = s3.client().put_object
        put(Bucket="landing", Key="events/site=1/a.jsonl.gz", Body=jsonl_gz([event(n) for n in range(10)]))
        put(
            Bucket="landing",
            Key="events/site=1/b.jsonl",
            Body=(
                "\n".join(
                    [event(n) for n in range(10, 15)]
                    + [event(3), '{"type": "pageview"', event(20, tracking_id="BH-9")]
                )
                + "\n"
            ).encode(),
        )
        put(Bucket="landing", Key="events/_truth/summary.json", Body=b"{}")  # metadata: not input
        config = settings.model_copy(update={"s3": s3.settings})
        raw = settings.warehouse.raw_database

        first = run(config, "s3://landing/events", tmp_path)
        assert (first.files_loaded, first.events_loaded, first.duplicates) == (2, 15, 1)
        assert dict(first.quarantined) == {"malformed_json": 1, "unknown_website": 1}
        assert query(warehouse, f"SELECT count(), uniqExact(event_id) FROM {raw}.events")[0] == (15, 15)
        counters = query(
            warehouse,
            f"SELECT sum(received), sum(loaded), sum(quarantined), sum(duplicate) FROM {raw}.ingest_counters",
        )[0]
        assert counters == (18, 15, 2, 1)
        sources = {r[0] for r in query(warehouse, f"SELECT DISTINCT source_file FROM {raw}.events")}
        assert sources == {"s3://landing/events/site=1/a.jsonl.gz", "s3://landing/events/site=1/b.jsonl"}

        again = run(config, "s3://landing/events", tmp_path)
        assert (again.files_loaded, again.files_unchanged, again.events_loaded) == (0, 2, 0)

        # A new file loads alone; a rewritten one is reported and left alone.
        put(Bucket="landing", Key="events/site=1/c.jsonl", Body=(event(30) + "\n").encode())
        put(
            Bucket="landing",
            Key="events/site=1/a.jsonl.gz",
            Body=jsonl_gz([event(n) for n in range(10)] + [event(40)]),
        )
        third = run(config, "s3://landing/events", tmp_path)
        assert third.files_loaded == 1
        assert third.events_loaded == 1
        assert third.files_changed == ["s3://landing/events/site=1/a.jsonl.gz"]

        # Reloading the changed file adds only its new events: the rest are duplicates.
        fourth = run(config, "s3://landing/events", tmp_path, reload_changed=True)
        assert (fourth.files_loaded, fourth.events_loaded, fourth.duplicates) == (1, 1, 10)
        assert query(warehouse, f"SELECT count(), uniqExact(event_id) FROM {raw}.events")[0] == (17, 17)


def test_state_survives_losing_the_local_pipeline_folder(settings, warehouse, tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "a.jsonl").write_text("\n".join(event(n) for n in range(5)) + "\n")
    assert run(settings, str(folder), tmp_path).events_loaded == 5
    shutil.rmtree(tmp_path / "dlt")  # a new machine: the state comes back from the warehouse
    rerun = run(settings, str(folder), tmp_path)
    assert (rerun.files_loaded, rerun.files_unchanged) == (0, 1)


def test_enrichment_lands_in_the_raw_columns(settings, warehouse, tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "e.jsonl").write_text(
        "\n".join(
            [
                event(
                    1,
                    page={"url": "https://shop.example/?gclid=abc123", "referrer": "https://www.google.com/"},
                ),
                event(2, page={"url": "https://shop.example/", "referrer": "https://shop.example/cart"}),
                event(
                    3,
                    tracking_id=None,
                    website_id=2,
                    visitor_id=None,
                    page={"url": "https://news.example/a"},
                    context={"ip": "81.2.69.160", "user_agent": "curl/8.5"},
                ),
            ]
        ).replace('"tracking_id": null, ', "")
        + "\n"
    )
    report = run(settings, str(folder), tmp_path)
    assert report.events_loaded == 3, report
    raw = settings.warehouse.raw_database
    rows = query(
        warehouse,
        f"""
        SELECT website_id, traffic_source, traffic_medium, traffic_channel, click_ids['gclid'], country_code,
               browser_name, visitor_id_kind, is_bot, IPv6NumToString(ip)
        FROM {raw}.events ORDER BY client_ts""",
    )
    assert rows[0][1:5] == ("google", "cpc", "Paid Search", "abc123")
    assert rows[0][5] == "GB"
    assert rows[0][6] == "Safari"
    assert rows[1][1:4] == ("(internal)", "(none)", "Internal")
    assert rows[2][7:9] == ("cookieless", True)  # curl is a bot; no client visitor id
    assert rows[2][9] == "::ffff:81.2.69.160"  # site 2 keeps full IPs


def test_generated_traffic_from_s3_lands_exactly_as_the_truth_says(warehouse, tmp_path):
    import csv
    import tomllib
    from collections import Counter

    from beaconhouse.generate.cli import GenerateOptions
    from beaconhouse.generate.cli import run as generate

    with MotoS3() as s3:
        s3.client().create_bucket(Bucket="landing")
        seed = Settings(s3=s3.settings)
        report = generate(
            seed,
            GenerateOptions(
                to="s3://landing/beacons",
                sites=3,
                days=2,
                start=dt.date(2026, 3, 1),
                visitors=400,
                seed=5,
                malformed_share=0.01,
                truth=tmp_path / "truth",
            ),
        )
        sites = tomllib.loads((report.truth_dir / "sites.toml").read_text())["sites"]
        suffix = uuid.uuid4().hex[:8]
        settings = Settings.model_validate(
            {
                "warehouse": {
                    "url": warehouse.url,
                    "raw_database": f"raw_{suffix}",
                    "meta_database": f"meta_{suffix}",
                },
                "s3": s3.settings.model_dump(),
                "sites": sites,
            }
        )
        apply_migrations(warehouse.client(), SchemaContext(raw_db=f"raw_{suffix}", meta_db=f"meta_{suffix}"))
        result = run(settings, "s3://landing/beacons", tmp_path)

    raw = settings.warehouse.raw_database
    truth_rows = list(csv.DictReader((report.truth_dir / "raw_daily.csv").open()))
    expected = {
        (int(r["website_id"]), r["date"], kind): int(r[kind])
        for r in truth_rows
        for kind in ("pageview", "event", "transaction")
        if int(r[kind])
    }
    loaded = {
        (site, str(day), kind): n
        for site, day, kind, n in query(
            warehouse,
            f"""
        SELECT website_id, toDate(client_ts), event_type, count() FROM {raw}.events
        WHERE event_type != 'transaction_item' GROUP BY ALL""",
        )
    }
    assert loaded == expected
    assert sum(expected.values()) > 5000
    # Exact dedup: no event twice, and every duplicate delivery was dropped.
    assert query(warehouse, f"SELECT count() = uniqExact(event_id) FROM {raw}.events")[0][0] == 1
    assert result.duplicates >= report.duplicate_deliveries
    # Every malformed payload is quarantined, with the reason the truth recorded.
    malformed = list(csv.DictReader((report.truth_dir / "malformed.csv").open()))
    quarantined = Counter(
        dict(query(warehouse, f"SELECT reason, count() FROM {raw}.events_quarantine GROUP BY reason"))
    )
    assert quarantined == Counter(row["reason"] for row in malformed)
    assert len(malformed) == report.malformed_payloads > 20
    bots = query(
        warehouse, f"SELECT countIf(is_bot) FROM {raw}.events WHERE event_type != 'transaction_item'"
    )
    assert bots[0][0] == sum(int(r["bot_events"]) for r in truth_rows)


def test_parsing_in_worker_processes_gives_the_same_rows(warehouse, tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    for part in range(4):
        lines = [event(part * 100 + n) for n in range(100)] + ['{"type": "pageview"']
        (folder / f"part-{part}.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "part-4.jsonl").write_text(event(5) + "\n")  # a duplicate across chunks
    suffix = uuid.uuid4().hex[:8]
    settings_ = Settings(
        warehouse=WarehouseSettings(
            url=warehouse.url, raw_database=f"raw_{suffix}", meta_database=f"meta_{suffix}"
        ),
        sites=SITES,
    )
    apply_migrations(warehouse.client(), SchemaContext(raw_db=f"raw_{suffix}", meta_db=f"meta_{suffix}"))
    # One file per chunk, parsed by two spawned worker processes.
    report = run(settings_, str(folder), tmp_path, chunk_bytes=1, workers=2)
    assert (report.files_loaded, report.events_loaded, report.duplicates) == (5, 400, 1)
    assert dict(report.quarantined) == {"malformed_json": 4}
    rows = query(
        warehouse,
        f"SELECT count(), uniqExact(event_id), countIf(browser_name = 'Safari') FROM raw_{suffix}.events",
    )[0]
    assert rows == (400, 400, 400)


def test_dedup_counts_ids_still_loading_and_ids_in_the_warehouse(warehouse, settings):
    """An id in a batch that is still on its way, and an id already stored, both make
    a row a duplicate; first deliveries within the batch are kept once."""
    import pyarrow as pa

    from beaconhouse.ingest.batch_landing import prepare_batch

    raw = settings.warehouse.raw_database
    client = warehouse.client()
    stored = str(uuid.UUID(int=1))
    client.command(
        f"INSERT INTO {raw}.events (event_id, website_id, visitor_id, client_ts, server_ts) "
        f"VALUES ('{stored}', 1, 'v', '2026-03-01 09:00:00', '2026-03-01 09:00:01')"
    )
    ts = pa.array([dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)] * 5, pa.timestamp("ms", tz="UTC"))
    ids = [stored, str(uuid.UUID(int=2)), str(uuid.UUID(int=3)), str(uuid.UUID(int=3)), str(uuid.UUID(int=4))]
    events = pa.table(
        {"event_id": ids, "website_id": pa.array([1] * 5, pa.uint32()), "client_ts": ts, "server_ts": ts}
    )
    batch = prepare_batch(client, raw, events, [], 0, "file", loading_ids=pa.array([str(uuid.UUID(int=2))]))
    assert batch.events["event_id"].to_pylist() == [str(uuid.UUID(int=3)), str(uuid.UUID(int=4))]
    assert batch.duplicates.num_rows == 3
    assert batch.counters.to_pylist()[0]["duplicate"] == 3


def test_one_run_source_loads_a_days_files_and_shares_state_with_the_cli(settings, warehouse, tmp_path):
    """The dlt source an orchestrator runs per day loads only that day's files, in one
    load; `ingest files` then knows them as loaded and takes the rest."""
    from beaconhouse.ingest.files_pipeline import PIPELINE_NAME, IngestReport
    from beaconhouse.ingest.landing_source import landing_files_source
    from beaconhouse.ingest.loading import raw_pipeline

    landing = tmp_path / "landing"
    for day, numbers in (("2026-03-01", range(0, 30)), ("2026-03-02", [*range(30, 50), 5])):
        folder = landing / "site=1" / f"date={day}"
        folder.mkdir(parents=True)
        # two files a day, so that a day is two chunks
        (folder / "a.jsonl").write_text("\n".join(event(n) for n in numbers[::2]) + "\n")
        (folder / "b.jsonl").write_text("\n".join(event(n) for n in numbers[1::2]) + "\n")
    (landing / "site=1" / "date=2026-03-01" / "c.jsonl").write_text(event(3) + "\n")  # same-run duplicate
    raw = settings.warehouse.raw_database
    report = IngestReport()
    pipeline = raw_pipeline(settings, PIPELINE_NAME, tmp_path / "dlt-day")
    source = landing_files_source(
        settings, str(landing), days=[dt.date(2026, 3, 1)], report=report
    ).with_resources("raw_layer")
    load_ids = pipeline.run(source).loads_ids
    assert len(load_ids) == 1  # the day is one load
    assert (report.files_loaded, report.events_loaded, report.duplicates) == (3, 30, 1)
    assert query(
        warehouse, f"SELECT count(), uniqExact(event_id), uniqExact(ingest_batch_id) FROM {raw}.events"
    ) == [(30, 30, 1)]

    rest = run(settings, str(landing), tmp_path)  # a fresh local pipeline: state from the warehouse
    assert (rest.files_unchanged, rest.files_loaded) == (3, 2)
    assert (rest.events_loaded, rest.duplicates) == (20, 1)  # event 5 was loaded on the first day
    assert query(warehouse, f"SELECT count(), uniqExact(event_id) FROM {raw}.events") == [(50, 50)]


def test_money_lands_rounded_to_the_cent_fraction_not_truncated(settings, warehouse, tmp_path):
    """136.39 is 136.38999… as a float: sent as Float64, Decimal(18,4) would keep 136.3899."""
    from decimal import Decimal

    folder = tmp_path / "landing"
    folder.mkdir()
    commerce = {
        "transaction_id": "T-1",
        "revenue": 136.39,
        "tax": 21.78,
        "shipping": 4.9,
        "currency": "EUR",
        "items": [{"sku": "M-1", "price": 65.745, "quantity": 2}],
    }
    (folder / "t.jsonl").write_text(event(1, type="transaction", ecommerce=commerce) + "\n")
    run(settings, str(folder), tmp_path)
    raw = settings.warehouse.raw_database
    rows = query(
        warehouse,
        f"SELECT event_type, revenue, tax, shipping, product_price FROM {raw}.events ORDER BY event_type",
    )
    assert rows == [
        ("transaction", Decimal("136.3900"), Decimal("21.7800"), Decimal("4.9000"), None),
        ("transaction_item", None, None, None, Decimal("65.7450")),
    ]


def test_a_load_lets_go_of_its_tables_without_the_cyclic_collector(settings, warehouse, tmp_path):
    """A dlt run leaves reference cycles that reach the frames of its call stack. The
    tables of a load must not hang on those until the cyclic collector runs: in a
    5M-event ingest that held up to 0.5 GB between collections."""
    import gc
    import time

    import numpy as np
    import pyarrow as pa

    from beaconhouse.ingest.batch_landing import counters_table, quarantine_table
    from beaconhouse.ingest.loading import RawLoader
    from beaconhouse.ingest.message_parser import parse_messages

    payloads = [event(n).encode() for n in range(4000)]
    received_ms = int(time.time() * 1000)
    loader = RawLoader(settings, "release_probe", "files", tmp_path / "dlt")
    gc.collect()
    gc.disable()
    try:
        baseline = pa.total_allocated_bytes()
        events = parse_messages(settings, "probe", {0: (payloads, list(range(4000)))}, received_ms).events
        events = events.append_column("is_duplicate", pa.array(np.zeros(events.num_rows, np.bool_)))
        held = pa.total_allocated_bytes() - baseline
        quarantine = quarantine_table([], received_ms)
        no_duplicates = events.select(["website_id", "server_ts"]).slice(0, 0)
        counters = counters_table(events, events, no_duplicates, quarantine, received_ms, "file")
        loader.load(events, quarantine, counters, {"files": {"probe": "1"}})
        del events, quarantine, counters, no_duplicates
        left = pa.total_allocated_bytes() - baseline
    finally:
        gc.enable()
    assert held > 1_000_000  # the probe is big enough to tell
    assert left < held / 4, f"{left} of the load's {held} bytes still held"
    assert query(warehouse, f"SELECT count() FROM {settings.warehouse.raw_database}.events")[0][0] == 4000
