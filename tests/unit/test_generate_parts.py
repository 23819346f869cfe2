"""The generator's parts: catalogues, sources, agents, IPs, sessions, truth rules, sinks."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import itertools
import uuid
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest

from beaconhouse.config import Settings, Site
from beaconhouse.events.contract import EVENT_DECODER
from beaconhouse.generate.cli import DEFAULT_TRUTH_DIR, GenerateOptions
from beaconhouse.generate.ids import hex_ids, uuid4_strings
from beaconhouse.generate.ips import BOT_NETWORKS, COUNTRY_V4, COUNTRY_V6, IpPool
from beaconhouse.generate.layout import FolderTarget, KafkaTarget, S3Target, file_path, parse_target
from beaconhouse.generate.malformed import KINDS, VARIANT_REASONS, MalformedFactory
from beaconhouse.generate.ratelimit import TokenBucket
from beaconhouse.generate.records import Payload
from beaconhouse.generate.simulate import MIN_SESSION_GAP_MS, DaySimulator, local_hours_utc_ms
from beaconhouse.generate.sites import build_profiles, choose_sites, demo_site, sites_toml
from beaconhouse.generate.sources import CHANNELS, SourceSampler
from beaconhouse.generate.truth import TruthEvent, mart_days, sessionize, traffic_source
from beaconhouse.generate.useragents import BOTS, BROWSERS, is_bot
from beaconhouse.generate.writers import FolderSink, HourFile, jsonl_gz

pytestmark = pytest.mark.unit


# --- ids, sites, catalogue ---------------------------------------------------------------


def test_ids_are_deterministic_and_well_formed():
    a = uuid4_strings(np.random.default_rng(1), 50)
    assert a == uuid4_strings(np.random.default_rng(1), 50)
    assert all(uuid.UUID(x).version == 4 and str(uuid.UUID(x)) == x for x in a)
    assert len(set(a)) == 50
    assert all(len(x) == 16 for x in hex_ids(np.random.default_rng(1), 5))


def test_demo_sites_have_distinct_timezones_and_ids():
    sites = choose_sites(Settings(), 6)
    assert [s.website_id for s in sites] == [1, 2, 3, 4, 5, 6]
    assert [s.tracking_id for s in sites][:3] == ["BH-1", "BH-2", "BH-3"]
    assert len({s.timezone for s in sites}) == 6
    assert [s.domain for s in sites[:3]] == ["shop.example", "news.example", "travel.example"]
    assert demo_site(12).domain != demo_site(3).domain


def test_configured_sites_win():
    configured = (Site(website_id=9, domain="x.test"), Site(website_id=10, domain="y.test"))
    assert choose_sites(Settings(sites=configured), 5) == configured
    assert choose_sites(Settings(sites=configured), 1) == configured[:1]


def test_sites_toml_round_trips():
    import tomllib

    sites = choose_sites(Settings(), 3)
    assert Settings.model_validate(tomllib.loads(sites_toml(sites))).sites == sites


def test_catalogue_has_home_first_and_funnel_pages_last():
    for profile in build_profiles(choose_sites(Settings(), 6), seed=1):
        catalogue = profile.catalogue
        assert catalogue.paths[0] == "/"
        assert len(set(catalogue.paths)) == len(catalogue.paths) > 20
        assert catalogue.checkout == len(catalogue.paths) - 2
        assert catalogue.products
        assert all(p.price > 0 for p in catalogue.products)
        draws = catalogue.sample(np.random.default_rng(0), 20_000)
        assert catalogue.confirmation not in set(draws.tolist())
        counts = np.bincount(draws, minlength=len(catalogue.paths))
        assert counts[0] == counts.max()


# --- sources, user agents, IPs -------------------------------------------------------------


def test_landings_by_channel():
    sampler = SourceSampler(country="DE", kind="shop")
    rng = np.random.default_rng(3)
    channels = sampler.channels(rng, 5000)
    landings = sampler.landings(rng, channels, dt.date(2026, 10, 20))
    by = {name: [x for x in landings if CHANNELS[x.channel] == name] for name in CHANNELS}
    assert all(x.referrer == "" and x.query == "" for x in by["direct"])
    assert all(x.query == "" and x.referrer.startswith("https://") for x in by["search"])
    assert any("google.de" in x.referrer for x in by["search"])
    assert all("utm_medium=email" in x.query and x.referrer == "" for x in by["email"])
    assert all(("gclid=" in x.query or "msclkid=" in x.query or "fbclid=" in x.query) for x in by["paid"])
    assert any(x.referrer.startswith("https://t.co/") for x in by["social"])
    assert 0.3 < len(by["search"]) / 5000 < 0.42


def test_browser_agents_parse_as_what_they_claim():
    ua_parser = pytest.importorskip("ua_parser")
    for agent in BROWSERS:
        parsed = ua_parser.parse(agent.user_agent)
        assert parsed.user_agent is not None
        assert parsed.user_agent.family == agent.browser, agent.user_agent
        assert parsed.os is not None
        assert parsed.os.family == agent.os
    assert {a.device for a in BROWSERS} == {"desktop", "mobile", "tablet"}
    assert {a.browser for a in BROWSERS} >= {
        "Chrome",
        "Edge",
        "Firefox",
        "Safari",
        "Mobile Safari",
        "Samsung Internet",
    }


def test_bot_agents_are_known_crawlers_and_browsers_are_not():
    crawlers = pytest.importorskip("crawleruseragents")
    assert all(crawlers.is_crawler(bot.user_agent) for bot in BOTS)
    assert not any(crawlers.is_crawler(agent.user_agent) for agent in BROWSERS)
    assert all(is_bot(bot.user_agent) for bot in BOTS)
    assert not any(is_bot(a.user_agent) for a in BROWSERS)
    assert {b.name for b in BOTS} >= {"Googlebot", "bingbot", "AhrefsBot", "SemrushBot", "GPTBot", "curl"}
    assert {b.network for b in BOTS} <= set(BOT_NETWORKS)


def test_ip_blocks_are_public_and_in_their_country():
    iptocc = pytest.importorskip("iptocc")
    pool = IpPool(v6_share=0.5)
    rng = np.random.default_rng(5)
    for country in COUNTRY_V4:
        addresses = pool.for_countries(rng, [country] * 300)
        assert all(ipaddress.ip_address(a).is_global for a in addresses)
        assert all(iptocc.country_code(a) == country for a in addresses), country
        if country in COUNTRY_V6:
            assert any(":" in a for a in addresses)
    for network in BOT_NETWORKS:
        assert all(ipaddress.ip_address(a).is_global for a in pool.for_network(rng, network, 20))


# --- the simulation ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated():
    profile = build_profiles(choose_sites(Settings(), 1), seed=3)[0]
    simulator = DaySimulator(profile, visitors=600, bot_share=0.15, seed=3, ips=IpPool())
    days = [simulator.day(dt.date(2026, 10, 24) + dt.timedelta(days=i), 2**62) for i in range(3)]
    return profile, days


def test_simulated_sessions_have_short_gaps_and_are_31_minutes_apart(simulated):
    _, days = simulated
    spans: dict[str, list[tuple[int, int]]] = {}
    for day in days:
        ts, session = day.ts, day.session
        for s in np.unique(session).tolist():
            if day.is_bot[s]:
                continue
            times = np.sort(ts[session == s])
            assert np.all(np.diff(times) < 30 * 60_000)
            spans.setdefault(day.visitor_ids[s], []).append((int(times[0]), int(times[-1])))
    gaps = [b[0] - a[1] for s in spans.values() for a, b in zip(sorted(s), sorted(s)[1:], strict=False)]
    assert gaps
    assert min(gaps) >= MIN_SESSION_GAP_MS
    returning = sum(1 for s in spans.values() if len(s) > 1)
    assert returning / len(spans) > 0.1


def test_simulated_bots_share(simulated):
    _, days = simulated
    for day in days:
        bot_events = int(day.is_bot[day.session].sum())
        assert 0.13 < bot_events / len(day) < 0.17


def test_local_hours_cover_a_25_hour_day():
    hours = local_hours_utc_ms(dt.date(2026, 10, 25), "Europe/Berlin")
    assert hours[-1] - hours[0] == 25 * 3_600_000
    assert hours[1] - hours[0] == 3_600_000


# --- malformed payloads ----------------------------------------------------------------------


def test_malformed_factory_cycles_through_every_kind():
    factory = MalformedFactory(np.random.default_rng(1))
    event = {
        "v": 1,
        "type": "pageview",
        "event_id": str(uuid.uuid4()),
        "tracking_id": "BH-1",
        "visitor_id": "v",
        "ts": "2026-10-20T10:00:00.000Z",
        "received_at": "2026-10-20T10:00:00.200Z",
        "page": {"url": "https://shop.example/", "title": "Home"},
    }
    encoded = orjson.dumps(event)
    EVENT_DECODER.decode(encoded)
    made = [factory.make(dict(event), encoded, event["received_at"]) for _ in range(len(KINDS))]
    assert {m.kind for m in made} == set(KINDS)
    assert all(m.reason == VARIANT_REASONS.get((m.kind, m.detail), KINDS[m.kind]) for m in made)
    assert all(b"\n" not in m.line for m in made)


# --- the truth's rules ---------------------------------------------------------------------


BERLIN = "Europe/Berlin"


def at(text: str) -> int:
    return round(dt.datetime.fromisoformat(text).timestamp() * 1000)


_counter = itertools.count()


def event(ts: str, kind="pageview", source=None, visitor="v1", revenue=None):
    ms = at(ts)
    date = dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(BERLIN)).date()
    return TruthEvent(visitor, ms, date, f"e{next(_counter):05d}", kind, source, revenue)


def starts(events):
    return [len(s) for s in sessionize(events)]


def test_session_breaks_after_more_than_30_minutes():
    base = "2026-10-20T10:00:00+02:00"
    exactly = [event(base), event("2026-10-20T10:30:00+02:00")]
    assert starts(exactly) == [2]
    over = [event(base), event("2026-10-20T10:30:00.001+02:00")]
    assert starts(over) == [1, 1]


def test_session_breaks_at_local_midnight_not_utc():
    assert starts([event("2026-10-20T23:50:00+02:00"), event("2026-10-21T00:05:00+02:00")]) == [1, 1]
    assert starts([event("2026-10-20T01:50:00+02:00"), event("2026-10-20T02:05:00+02:00")]) == [
        2
    ]  # UTC midnight


def test_session_breaks_on_a_new_campaign_or_referrer_only():
    google = ("referral", "google.de")
    mail = ("campaign", "newsletter", "email", "weekly")
    events = [
        event("2026-10-20T10:00:00+02:00", source=google),
        event("2026-10-20T10:01:00+02:00"),  # internal: same session
        event("2026-10-20T10:02:00+02:00", source=google),  # same source again: same session
        event("2026-10-20T10:03:00+02:00", source=mail),  # new campaign: new session
        event("2026-10-20T10:04:00+02:00"),
        event("2026-10-20T10:05:00+02:00", source=google),  # a different referrer again
    ]
    assert starts(events) == [3, 2, 1]
    direct_then_referral = [
        event("2026-10-20T11:00:00+02:00"),
        event("2026-10-20T11:01:00+02:00", source=google),
    ]
    assert starts(direct_then_referral) == [1, 1]


def test_session_breaks_after_24_hours_on_a_25_hour_day():
    # 25 October 2026: Berlin's clocks go back, the local day has 25 hours.
    # One event every 20 minutes from 00:00 to 24:20 local time: all on the 25th.
    first = dt.datetime.fromisoformat("2026-10-25T00:00:00+02:00")
    events = [event((first + dt.timedelta(minutes=20 * i)).isoformat()) for i in range(74)]
    assert {e.date for e in events} == {dt.date(2026, 10, 25)}
    assert starts(events) == [72, 2]  # the event 24 hours after the first starts a new session


def test_visitors_are_sessionised_separately():
    events = [
        event("2026-10-20T10:00:00+02:00", visitor="a"),
        event("2026-10-20T10:01:00+02:00", visitor="b"),
    ]
    assert starts(events) == [1, 1]


def test_mart_days_count_bounces_conversions_and_revenue():
    events = [
        event("2026-10-20T10:00:00+02:00", visitor="a"),  # a bounce
        event("2026-10-20T10:00:00+02:00", visitor="b"),
        event("2026-10-20T10:01:00+02:00", visitor="b", kind="event"),
        event("2026-10-20T10:02:00+02:00", visitor="b"),
        event("2026-10-20T10:03:00+02:00", visitor="b", kind="transaction", revenue=Decimal("19.99")),
        event("2026-10-20T12:00:00+02:00", visitor="b", kind="event"),  # a session without a pageview
        event("2026-10-21T09:00:00+02:00", visitor="a", kind="transaction", revenue=Decimal("0.01")),
    ]
    days = mart_days(1, "EUR", events)
    first, second = days[dt.date(2026, 10, 20)], days[dt.date(2026, 10, 21)]
    assert (first.pageviews, first.visitors, first.sessions, first.bounces) == (3, 2, 3, 1)
    assert (first.conversions, first.revenue) == (1, Decimal("19.99"))
    assert (second.sessions, second.bounces, second.conversions, second.revenue) == (1, 0, 1, Decimal("0.01"))


def test_traffic_source():
    domain = "shop.example"
    assert traffic_source("https://shop.example/?utm_source=google&utm_medium=cpc", "", domain) == (
        "campaign",
        "google",
        "cpc",
        "",
    )
    assert traffic_source("https://shop.example/", "https://www.google.de/", domain) == (
        "referral",
        "google.de",
    )
    assert traffic_source("https://shop.example/a", "https://shop.example/", domain) is None
    assert traffic_source("https://shop.example/a", "https://blog.shop.example/x", domain) is None
    assert traffic_source("https://shop.example/a", "", domain) is None
    assert traffic_source("https://shop.example/?gclid=x", "https://WWW.Bing.com/", domain) == (
        "referral",
        "bing.com",
    )


# --- options, layout, sinks, rate ----------------------------------------------------------


def test_targets():
    assert parse_target("kafka://127.0.0.1:9092/events") == KafkaTarget("127.0.0.1:9092", "events")
    assert parse_target("s3://bucket/landing/web/") == S3Target("bucket", "landing/web")
    assert parse_target("/tmp/x") == FolderTarget(Path("/tmp/x"))
    assert parse_target("file:///tmp/x") == FolderTarget(Path("/tmp/x"))
    for bad in ("kafka://host:1", "s3://", "http://x/y"):
        with pytest.raises(ValueError, match="expected"):
            parse_target(bad)


def test_options_validate_and_choose_the_truth_folder(tmp_path):
    assert GenerateOptions(to=str(tmp_path)).truth_dir() == tmp_path / "_truth"
    assert GenerateOptions(to="kafka://h:1/t").truth_dir() == DEFAULT_TRUTH_DIR
    assert GenerateOptions(to="s3://b/p", truth=tmp_path).truth_dir() == tmp_path
    for bad in ({"days": 0}, {"sites": 0}, {"rate": 0.0}, {"bot_share": 1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            GenerateOptions(to=str(tmp_path), **bad)


def test_file_path_is_the_utc_hour():
    hour = at("2026-10-25T01:00:00+00:00")
    assert file_path(3, hour) == "site=3/date=2026-10-25/hour=01/events-3-2026-10-25T01.jsonl.gz"


def test_folder_sink_writes_deterministic_gzip(tmp_path):
    payloads = [Payload(1, 1, 1, i, b"k", b'{"a":%d}' % i, ()) for i in range(3)]
    sink = FolderSink(tmp_path, level=3)
    sink.deliver([HourFile(1, 0, "site=1/x.jsonl.gz", payloads)])
    data = (tmp_path / "site=1/x.jsonl.gz").read_bytes()
    assert data == jsonl_gz(payloads, 3)
    assert gzip.decompress(data) == b'{"a":0}\n{"a":1}\n{"a":2}\n'
    assert data[4:8] == b"\0\0\0\0"  # no mtime
    assert not list(tmp_path.rglob(".*partial"))


def test_token_bucket_paces_to_the_rate():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    bucket = TokenBucket(100.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(50):
        bucket.take(10)  # 500 events at 100/s, starting with a full bucket of 100
    assert now[0] == pytest.approx(4.0)
    bucket.take(1000)  # a whole file at once: in debt, and the wait pays it back
    assert now[0] == pytest.approx(14.0)
