import pyarrow as pa
import pytest

from beaconhouse.enrich.campaign import PAGE_COLUMNS, parse_page_url, parse_page_urls, parse_query, url_host

pytestmark = pytest.mark.unit


def test_splits_host_path_query_and_reads_utms_and_click_ids():
    page = parse_page_url(
        "https://Shop.Example.com:8443/a%20b/c?utm_source=Google%20Ads&utm_medium=cpc"
        "&utm_campaign=spring_sale&utm_term=red+shoes&utm_content=hero&gclid=Cj0KCQ&fbclid=IwAR#top"
    )
    assert page.host == "shop.example.com"
    assert page.path == "/a%20b/c"  # kept encoded
    assert page.query.startswith("utm_source=Google%20Ads&")
    assert "#" not in page.query
    assert page.utm == ("Google Ads", "cpc", "spring_sale", "red shoes", "hero")
    assert page.click_ids == (("gclid", "Cj0KCQ"), ("fbclid", "IwAR"))
    assert page.paid_click_id == "gclid"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # upper-case names, first non-empty occurrence wins
        ("UTM_SOURCE=a&utm_source=b", {"utm_source": "a"}),
        ("utm_source=&utm_source=b", {"utm_source": "b"}),
        # a key with no "=" and empty pairs
        ("utm_source&&utm_medium=email&", {"utm_medium": "email"}),
        # "&amp;" from HTML email templates that were not unescaped
        ("utm_source=news&amp;utm_medium=email", {"utm_source": "news", "utm_medium": "email"}),
        # "+" is a space, %-escapes are UTF-8, bad escapes stay, bad UTF-8 is replaced
        ("utm_campaign=black+friday%20%E2%9C%93", {"utm_campaign": "black friday ✓"}),
        ("utm_campaign=%ZZoops", {"utm_campaign": "%ZZoops"}),
        ("utm_campaign=caf%E9", {"utm_campaign": "caf\ufffd"}),
        # whitespace around values, and values containing "=" or "?"
        ("utm_source=%20spaced%20&utm_term=a=b?c", {"utm_source": "spaced", "utm_term": "a=b?c"}),
        # ";" is not a separator (as in browsers' URLSearchParams)
        ("utm_source=a;utm_medium=b", {"utm_source": "a;utm_medium=b"}),
        # click ids, including Snapchat's mixed-case ScCid; unknown parameters ignored
        ("ScCid=s1&msclkid=m1&ref=x&wbraid=w1", {"sccid": "s1", "msclkid": "m1", "wbraid": "w1"}),
    ],
)
def test_odd_query_strings(query, expected):
    assert parse_query(query) == expected


@pytest.mark.parametrize(
    ("url", "host", "path"),
    [
        ("example.com/pricing?utm_source=x", "example.com", "/pricing"),  # no scheme
        ("https://example.com", "example.com", "/"),
        ("https://example.com./x", "example.com", "/x"),  # trailing dot of a FQDN
        ("https://user:pw@[2001:db8::1]:8080/p", "2001:db8::1", "/p"),
        ("/relative/only?utm_source=x", "", "/relative/only"),
        ("http://[::1", "", ""),  # malformed: nothing, no exception
        ("", "", ""),
        ("   ", "", ""),
    ],
)
def test_hosts_and_paths_of_odd_urls(url, host, path):
    page = parse_page_url(url)
    assert (page.host, page.path) == (host, path)


def test_click_id_precedence_and_fbclid_is_not_paid():
    assert parse_page_url("https://e.com/?fbclid=1").paid_click_id == ""
    assert parse_page_url("https://e.com/?fbclid=1&msclkid=2&gclid=3").paid_click_id == "gclid"
    assert parse_page_url("https://e.com/?gclid=").click_ids == ()


def test_url_host():
    assert url_host("https://WWW.Google.DE/search?q=x") == "www.google.de"
    assert url_host(None) == ""
    assert url_host("android-app://com.google.android.gm/") == "com.google.android.gm"


def test_parse_page_urls_columns():
    urls = pa.array(
        ["https://a.example/x?utm_source=s&gclid=g", None, "https://a.example/x?utm_source=s&gclid=g"]
    )
    columns = parse_page_urls(urls)
    assert tuple(columns) == PAGE_COLUMNS
    assert columns["page_host"].to_pylist() == ["a.example", "", "a.example"]
    assert columns["utm_source"].to_pylist() == ["s", "", "s"]
    assert columns["click_ids"].to_pylist() == [[("gclid", "g")], [], [("gclid", "g")]]
    assert columns["paid_click_id"].to_pylist() == ["gclid", "", "gclid"]
