import pyarrow as pa
import pytest

from beaconhouse.enrich.channels import default_channel_group
from beaconhouse.enrich.referrer import Traffic, TrafficClassifier, classify_traffic, is_internal
from beaconhouse.enrich.source_categories import category_of, search_engine

pytestmark = pytest.mark.unit

SITE = "example.com"


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        # google organic, from a country domain too
        ({"referrer_host": "www.google.com"}, Traffic("google", "organic", "(organic)", "Organic Search")),
        ({"referrer_host": "www.google.co.uk"}, Traffic("google", "organic", "(organic)", "Organic Search")),
        (
            {"referrer_host": "duckduckgo.com"},
            Traffic("duckduckgo", "organic", "(organic)", "Organic Search"),
        ),
        # gclid → google / cpc, whatever the referrer
        (
            {"referrer_host": "www.google.com", "paid_click_id": "gclid"},
            Traffic("google", "cpc", "(not set)", "Paid Search"),
        ),
        ({"paid_click_id": "msclkid"}, Traffic("bing", "cpc", "(not set)", "Paid Search")),
        ({"paid_click_id": "dclid"}, Traffic("dfa", "cpm", "(not set)", "Display")),
        # UTMs win over click ids and the referrer
        (
            {
                "utm_source": "newsletter",
                "utm_medium": "email",
                "utm_campaign": "nov",
                "paid_click_id": "gclid",
            },
            Traffic("newsletter", "email", "nov", "Email"),
        ),
        # facebook referral → Organic Social; utm_medium=cpc + source facebook → Paid Social
        (
            {"referrer_host": "m.facebook.com"},
            Traffic("m.facebook.com", "referral", "(referral)", "Organic Social"),
        ),
        (
            {"referrer_host": "l.instagram.com"},
            Traffic("l.instagram.com", "referral", "(referral)", "Organic Social"),
        ),
        (
            {"utm_source": "facebook", "utm_medium": "cpc", "utm_campaign": "retarget"},
            Traffic("facebook", "cpc", "retarget", "Paid Social"),
        ),
        # youtube → Organic Video; paid youtube → Paid Video
        (
            {"referrer_host": "www.youtube.com"},
            Traffic("youtube.com", "referral", "(referral)", "Organic Video"),
        ),
        (
            {"utm_source": "youtube", "utm_medium": "paid_video"},
            Traffic("youtube", "paid_video", "(not set)", "Paid Video"),
        ),
        # direct
        ({}, Traffic("(direct)", "(none)", "(direct)", "Direct")),
        # self-referral and subdomain self-referral → internal (our deviation)
        ({"referrer_host": "www.example.com"}, Traffic("(internal)", "(none)", "(internal)", "Internal")),
        ({"referrer_host": "blog.example.com"}, Traffic("(internal)", "(none)", "(internal)", "Internal")),
        (
            {"referrer_host": "checkout.other-domain.example", "page_host": "checkout.other-domain.example"},
            Traffic("(internal)", "(none)", "(internal)", "Internal"),
        ),
        # a look-alike domain is not the site
        (
            {"referrer_host": "notexample.com"},
            Traffic("notexample.com", "referral", "(referral)", "Referral"),
        ),
        # unknown referrer → Referral
        (
            {"referrer_host": "news.example.org"},
            Traffic("news.example.org", "referral", "(referral)", "Referral"),
        ),
        (
            {"referrer_host": "www.some-blog.net"},
            Traffic("some-blog.net", "referral", "(referral)", "Referral"),
        ),
        # the rest of GA4's channels by medium or source
        (
            {"utm_source": "partner", "utm_medium": "affiliate"},
            Traffic("partner", "affiliate", "(not set)", "Affiliates"),
        ),
        (
            {"utm_source": "dv360", "utm_medium": "display"},
            Traffic("dv360", "display", "(not set)", "Display"),
        ),
        ({"utm_source": "twilio", "utm_medium": "sms"}, Traffic("twilio", "sms", "(not set)", "SMS")),
        ({"utm_source": "sms"}, Traffic("sms", "(not set)", "(not set)", "SMS")),
        ({"utm_source": "spotify", "utm_medium": "audio"}, Traffic("spotify", "audio", "(not set)", "Audio")),
        (
            {"utm_source": "onesignal", "utm_medium": "web-push"},
            Traffic("onesignal", "web-push", "(not set)", "Mobile Push Notifications"),
        ),
        (
            {"utm_source": "amazon", "utm_medium": "cpc"},
            Traffic("amazon", "cpc", "(not set)", "Paid Shopping"),
        ),
        (
            {"utm_source": "x", "utm_medium": "cpc", "utm_campaign": "summer-shop"},
            Traffic("x", "cpc", "summer-shop", "Paid Shopping"),
        ),
        (
            {"referrer_host": "www.etsy.com"},
            Traffic("etsy.com", "referral", "(referral)", "Organic Shopping"),
        ),
        (
            {"utm_source": "bing", "utm_medium": "cpc", "utm_campaign": "cross-network-pmax"},
            Traffic("bing", "cpc", "cross-network-pmax", "Cross-network"),
        ),
        ({"utm_source": "adnet", "utm_medium": "ppc"}, Traffic("adnet", "ppc", "(not set)", "Paid Other")),
        (
            {"utm_source": "someone", "utm_medium": "carrier-pigeon"},
            Traffic("someone", "carrier-pigeon", "(not set)", "Unassigned"),
        ),
        # GA4 compares case-insensitively but we keep the sender's spelling
        (
            {"utm_source": "Facebook", "utm_medium": "CPC"},
            Traffic("Facebook", "CPC", "(not set)", "Paid Social"),
        ),
        # utm_campaign alone does not make a UTM source: the referrer decides, the campaign stays
        (
            {"utm_campaign": "launch", "referrer_host": "news.example.org"},
            Traffic("news.example.org", "referral", "launch", "Referral"),
        ),
    ],
)
def test_ga4_channel_cases(inputs, expected):
    assert classify_traffic(site_domain=SITE, **inputs) == expected


def test_internal_ignores_www_on_both_sides():
    assert is_internal("example.com", "www.example.com")
    assert is_internal("www.example.com", "example.com")
    assert not is_internal("", "example.com")
    assert not is_internal("example.com.evil.net", "example.com")


def test_source_categories():
    assert category_of("google") == "search"
    assert category_of("google.de") == "search"
    assert category_of("de.pinterest.com") == "social"
    assert category_of("youtube.com") == "video"
    assert category_of("news.ycombinator.com") == "social"
    assert category_of("example.org") == ""
    assert search_engine("mail.google.com") == ""
    assert search_engine("de.search.yahoo.com") == "yahoo"


def test_direct_needs_none_medium():
    assert default_channel_group("(direct)", "(none)") == "Direct"
    assert default_channel_group("(direct)", "email") == "Email"


def test_classifier_runs_once_per_distinct_combination():
    classifier = TrafficClassifier()
    n = 1000
    columns = classifier.classify(
        pa.array(["www.google.com", "m.facebook.com"] * (n // 2)),
        pa.array([""] * n),
        pa.array([""] * n),
        pa.array([""] * n),
        pa.array([""] * n),
        pa.array([SITE] * n),
        pa.array(["www.example.com"] * n),
    )
    assert columns["traffic_channel"].to_pylist()[:2] == ["Organic Search", "Organic Social"]
    assert classifier.cache.misses == 2
