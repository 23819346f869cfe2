import ipaddress
import json
from importlib.resources import files

import pyarrow as pa
import pytest

from beaconhouse.enrich.bots import BotDetector, CrawlerRanges, load_crawlers
from beaconhouse.enrich.ip import parse_ips
from tests.unit.test_enrich_useragent import (
    BINGBOT,
    CHROME_ANDROID_PHONE,
    CHROME_ANDROID_TABLET,
    CHROME_WINDOWS,
    CURL,
    EDGE,
    FIREFOX_LINUX,
    GOOGLEBOT,
    HEADLESS_CHROME,
    PYTHON_REQUESTS,
    SAFARI_IPAD,
    SAFARI_IPHONE,
    SAMSUNG_INTERNET,
)

pytestmark = pytest.mark.unit

GOOGLE_CRAWLER_IP = "66.249.66.1"
BING_CRAWLER_IP = "157.55.39.10"
RANDOM_IP = "203.0.113.50"
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
FACEBOOK_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.39.106;FBBV/548331289;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS]"
)


@pytest.fixture(scope="module")
def detector():
    return BotDetector()


def detect(detector, rows, spider=None):
    uas = pa.array([ua for ua, _ in rows])
    ips = parse_ips(pa.array([ip for _, ip in rows]))
    is_bot, name = detector.detect(uas, ips, None if spider is None else pa.array(spider))
    return list(zip(is_bot.to_pylist(), name.to_pylist(), strict=True))


@pytest.mark.parametrize(
    "user_agent",
    [
        CHROME_WINDOWS,
        SAFARI_IPHONE,
        SAFARI_IPAD,
        CHROME_ANDROID_PHONE,
        CHROME_ANDROID_TABLET,
        FIREFOX_LINUX,
        EDGE,
        SAMSUNG_INTERNET,
        CUBOT_PHONE,
        FACEBOOK_APP,
        "",
    ],
)
def test_browsers_are_not_bots(detector, user_agent):
    assert detector.classify_user_agent(user_agent) == ("", -1)


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (CURL, "curl"),
        (PYTHON_REQUESTS, "python-requests"),
        (HEADLESS_CHROME, "HeadlessChrome"),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)", "GPTBot"),
        # generic tokens, for bots no list knows yet
        ("TotallyNewCrawler/0.1 (+https://new.example)", "TotallyNewCrawler"),
        ("acme-monitor-bot/2.0", "acme-monitor-bot"),
    ],
)
def test_bots_by_user_agent_lists(detector, user_agent, name):
    assert detector.classify_user_agent(user_agent) == (name, -1)


def test_well_known_crawlers_claim_their_operator(detector):
    crawlers = detector.crawlers
    name, index = detector.classify_user_agent(GOOGLEBOT)
    assert (name, crawlers[index].operator) == ("Googlebot", "google")
    name, index = detector.classify_user_agent(BINGBOT)
    assert (name, crawlers[index].operator) == ("Bingbot", "microsoft")


def test_googlebot_from_google_range_is_verified_and_from_elsewhere_is_not(detector):
    assert detect(detector, [(GOOGLEBOT, GOOGLE_CRAWLER_IP), (GOOGLEBOT, RANDOM_IP)]) == [
        (True, "Googlebot"),
        (True, "Googlebot (unverified)"),
    ]


def test_bingbot_verified_by_ipv4_and_googlebot_by_ipv6(detector):
    rows = [(BINGBOT, BING_CRAWLER_IP), (BINGBOT, GOOGLE_CRAWLER_IP), (GOOGLEBOT, "2001:4860:4801:2008::1")]
    assert detect(detector, rows) == [
        (True, "Bingbot"),
        (True, "Bingbot (unverified)"),
        (True, "Googlebot"),
    ]


def test_crawler_only_range_flags_a_browser_user_agent(detector):
    # Google renders pages with a Chrome user agent from its crawler ranges.
    assert detect(detector, [(CHROME_WINDOWS, GOOGLE_CRAWLER_IP), (CHROME_WINDOWS, RANDOM_IP)]) == [
        (True, "Googlebot"),
        (False, ""),
    ]


def test_operator_wide_ranges_only_verify(detector):
    # 17.0.0.0/8 is all of Apple, staff included: a browser there is a person.
    applebot = (
        "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"
    )
    assert detect(
        detector, [(CHROME_WINDOWS, "17.1.2.3"), (applebot, "17.1.2.3"), (applebot, RANDOM_IP)]
    ) == [
        (False, ""),
        (True, "Applebot"),
        (True, "Applebot (unverified)"),
    ]


def test_spider_names_from_ua_parser_and_missing_ips(detector):
    rows = [("Mozilla/5.0 (compatible; Weird/1.0)", None), (CHROME_WINDOWS, "not an ip")]
    assert detect(detector, rows, spider=["Weird Spider", ""]) == [(True, "Weird Spider"), (False, "")]


def test_ip_lookup_runs_once_per_distinct_address(detector, monkeypatch):
    seen = []
    lookup = type(detector.ranges._v4).lookup

    def counting(self, values):
        seen.append(len(values))
        return lookup(self, values)

    monkeypatch.setattr(type(detector.ranges._v4), "lookup", counting)
    detector.ranges.owners(parse_ips(pa.array([GOOGLE_CRAWLER_IP, RANDOM_IP] * 500)))
    assert seen == [2, 0]  # IPv4 table: 2 distinct addresses; IPv6 table: none


def test_crawler_data_file_is_documented_and_well_formed():
    raw = json.loads((files("beaconhouse.enrich") / "data/crawler_ip_ranges.json").read_text())
    operators = [entry["operator"] for entry in raw["crawlers"]]
    assert {"google", "microsoft", "apple", "duckduckgo", "yandex", "baidu", "meta"} <= set(operators)
    for entry in raw["crawlers"]:
        assert entry["source"]
        assert entry["documentation"].startswith("https://")
        assert entry["written"]
        assert entry["ranges"]
        for cidr in entry["ranges"]:
            ipaddress.ip_network(cidr)  # strict: no host bits set
    CrawlerRanges(load_crawlers())  # raises on overlaps or IPv6 prefixes longer than /64
