import datetime as dt
import re
from pathlib import Path

import pyarrow as pa
import pytest

from beaconhouse.enrich import ENRICHED_SCHEMA, Enricher, EnrichOptions, SiteInfo, enrich
from beaconhouse.enrich.ip import format_ips
from beaconhouse.enrich.useragent import UserAgentParser
from tests.unit.test_enrich_useragent import CHROME_WINDOWS, GOOGLEBOT, HEADLESS_CHROME, SAFARI_IPHONE

pytestmark = pytest.mark.unit

OPTIONS = EnrichOptions(visitor_id_secret=b"pipeline-test-secret-0123")
SITES = {
    1: SiteInfo(1, "example.com", "Europe/Berlin"),
    2: SiteInfo(2, "shop.example.net", "UTC", ip_anonymization=False),
}
RAW_EVENTS_SQL = Path(__file__).resolve().parents[2] / "sql" / "migrations" / "V0001__raw_events.sql"


def batch(rows):
    columns = ["website_id", "client_ts", "page_url", "referrer_url", "user_agent", "ip", "visitor_id"]
    data = dict(zip(columns, zip(*rows, strict=True), strict=True))
    return pa.table(
        {
            "website_id": pa.array(data["website_id"], pa.uint32()),
            "client_ts": pa.array(data["client_ts"], pa.timestamp("ms", tz="UTC")),
            **{name: pa.array(data[name], pa.string()) for name in columns[2:]},
        }
    )


T = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
ROWS = [
    (
        1,
        T,
        "https://www.example.com/?utm_source=newsletter&utm_medium=email",
        "",
        CHROME_WINDOWS,
        "81.2.69.160",
        None,
    ),
    (
        1,
        T,
        "https://www.example.com/p?gclid=abc",
        "https://www.google.com/",
        SAFARI_IPHONE,
        "2a00:1450:4001::1",
        "cid",
    ),
    (2, T, "https://shop.example.net/", "https://m.facebook.com/", GOOGLEBOT, "66.249.66.1", ""),
    (
        2,
        T,
        "https://shop.example.net/cart",
        "https://shop.example.net/",
        HEADLESS_CHROME,
        "203.0.113.9",
        None,
    ),
]


def test_enrich_adds_every_column_named_and_typed_for_raw_events():
    result = enrich(batch(ROWS), SITES, OPTIONS)
    for field in ENRICHED_SCHEMA:
        assert result.schema.field(field.name).type == field.type, field.name
    raw_columns = set(re.findall(r"^\s{4}(\w+)\s+\S", RAW_EVENTS_SQL.read_text(), re.MULTILINE))
    assert set(ENRICHED_SCHEMA.names) <= raw_columns
    assert "traffic_channel" not in result.column_names


def test_enrich_values():
    result = enrich(batch(ROWS), SITES, OPTIONS).to_pylist()
    newsletter, paid, bot, headless = result

    assert (newsletter["device_type"], newsletter["browser_name"], newsletter["os_name"]) == (
        "desktop",
        "Chrome",
        "Windows",
    )
    assert (newsletter["traffic_source"], newsletter["traffic_medium"]) == ("newsletter", "email")
    assert newsletter["utm_source"] == "newsletter"
    assert newsletter["country_code"] == "GB"
    assert newsletter["visitor_id_kind"] == "cookieless"
    assert len(newsletter["visitor_id"]) == 32
    assert format_ips(pa.array([newsletter["ip"]], pa.binary(16))).to_pylist() == ["::ffff:81.2.69.0"]

    assert (paid["traffic_source"], paid["traffic_medium"], paid["click_ids"]) == (
        "google",
        "cpc",
        [("gclid", "abc")],
    )
    assert (paid["visitor_id"], paid["visitor_id_kind"]) == ("cid", "client")
    assert format_ips(pa.array([paid["ip"]], pa.binary(16))).to_pylist() == ["2a00:1450:4001::"]
    assert paid["referrer_host"] == "www.google.com"

    assert (bot["is_bot"], bot["bot_name"], bot["device_type"]) == (True, "Googlebot", "bot")
    assert (bot["traffic_source"], bot["traffic_medium"]) == ("m.facebook.com", "referral")
    # site 2 does not anonymise
    assert format_ips(pa.array([bot["ip"]], pa.binary(16))).to_pylist() == ["::ffff:66.249.66.1"]

    assert (headless["is_bot"], headless["bot_name"], headless["device_type"]) == (
        True,
        "HeadlessChrome",
        "bot",
    )
    assert (headless["traffic_source"], headless["page_path"]) == ("(internal)", "/cart")


def test_explicit_utm_columns_win_over_the_url_and_channel_on_request():
    table = batch(ROWS[:2]).append_column("utm_source", pa.array(["crm", ""]))
    options = EnrichOptions(visitor_id_secret=OPTIONS.visitor_id_secret, with_channel=True)
    result = Enricher(options).enrich(table, SITES)
    assert result.column("utm_source").to_pylist() == ["crm", ""]
    assert result.column("traffic_source").to_pylist() == ["crm", "google"]
    assert result.column("traffic_channel").to_pylist() == ["Email", "Paid Search"]
    assert result.column_names.count("utm_source") == 1


def test_unknown_site_and_missing_columns_are_refused():
    with pytest.raises(ValueError, match="unknown website_id"):
        enrich(batch(ROWS), {1: SITES[1]}, OPTIONS)
    with pytest.raises(ValueError, match="lacks columns"):
        enrich(batch(ROWS).drop_columns(["ip"]), SITES, OPTIONS)


def test_enrich_parses_each_distinct_user_agent_once(monkeypatch):
    calls = []
    parse = UserAgentParser.parse

    def counting(self, user_agent):
        calls.append(user_agent)
        return parse(self, user_agent)

    monkeypatch.setattr(UserAgentParser, "parse", counting)
    rows = [ROWS[i % 4] for i in range(10_000)]
    enricher = Enricher(OPTIONS)
    first = enricher.enrich(batch(rows), SITES)
    assert sorted(calls) == sorted({row[4] for row in ROWS})
    enricher.enrich(batch(rows), SITES)  # the next batch is served by the cache
    assert len(calls) == 4
    assert first.column("device_type").to_pylist()[:4] == ["desktop", "mobile", "bot", "bot"]


def test_empty_and_multi_chunk_batches():
    assert enrich(batch(ROWS).slice(0, 0), SITES, OPTIONS).num_rows == 0
    chunked = pa.concat_tables([batch(ROWS[:2]), batch(ROWS[2:])])
    assert chunked.column("user_agent").num_chunks == 2
    result = enrich(chunked, SITES, OPTIONS)
    assert result.column("bot_name").to_pylist() == ["", "", "Googlebot", "HeadlessChrome"]
