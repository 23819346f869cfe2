import pyarrow as pa
import pytest

from beaconhouse.enrich.useragent import COLUMNS, UserAgentParser

pytestmark = pytest.mark.unit

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1.2 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
CHROME_ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
)
SAMSUNG_INTERNET = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
CURL = "curl/8.4.0"
PYTHON_REQUESTS = "python-requests/2.31.0"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def parser():
    return UserAgentParser()


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, ("desktop", "Chrome", "120.0", "Windows", "10")),
        (SAFARI_IPHONE, ("mobile", "Mobile Safari", "17.1", "iOS", "17.1")),
        (SAFARI_IPAD, ("tablet", "Mobile Safari", "16.6", "iOS", "16.6")),
        (CHROME_ANDROID_PHONE, ("mobile", "Chrome Mobile", "120.0", "Android", "14")),
        (CHROME_ANDROID_TABLET, ("tablet", "Chrome", "120.0", "Android", "13")),
        (FIREFOX_ANDROID_TABLET, ("tablet", "Firefox Mobile", "121.0", "Android", "13")),
        (FIREFOX_LINUX, ("desktop", "Firefox", "121.0", "Linux", "")),
        (EDGE, ("desktop", "Edge", "120.0", "Windows", "10")),
        (SAMSUNG_INTERNET, ("mobile", "Samsung Internet", "23.0", "Android", "14")),
        (SAFARI_MAC, ("desktop", "Safari", "17.1", "Mac OS X", "10.15")),
        (GOOGLEBOT, ("bot", "Googlebot", "2.1", "", "")),
        (BINGBOT, ("bot", "bingbot", "2.0", "", "")),
        (CURL, ("other", "curl", "8.4", "", "")),
        (PYTHON_REQUESTS, ("other", "Python Requests", "2.31", "", "")),
        # ua-parser sees a Linux desktop; bots.py flags it and enrich() makes it a bot.
        (HEADLESS_CHROME, ("desktop", "HeadlessChrome", "120.0", "Linux", "")),
    ],
)
def test_real_user_agents(parser, user_agent, expected):
    assert parser.parse(user_agent) == expected


@pytest.mark.parametrize("user_agent", ["", "   ", None])
def test_empty_user_agent_is_other_with_empty_fields(parser, user_agent):
    assert parser.parse(user_agent) == ("other", "", "", "", "")


def test_unknown_user_agent_has_empty_names_not_other(parser):
    assert parser.parse("SomethingNobodyKnows") == ("other", "", "", "", "")


def test_parse_array_returns_raw_events_columns_in_row_order():
    parser = UserAgentParser()
    columns = parser.parse_array(pa.array([CHROME_WINDOWS, None, SAFARI_IPHONE, CHROME_WINDOWS]))
    assert tuple(columns) == COLUMNS
    assert columns["device_type"].to_pylist() == ["desktop", "other", "mobile", "desktop"]
    assert columns["browser_name"].to_pylist() == ["Chrome", "", "Mobile Safari", "Chrome"]
    # three distinct values (None included) parsed once each; a second batch hits the cache
    assert parser.cache.misses == 3
    parser.parse_array(pa.array([SAFARI_IPHONE]))
    assert (parser.cache.misses, parser.cache.hits) == (3, 1)
