"""Data: GA4's source categories, the search engines we recognise, and click ids.

Google Analytics 4 decides several default channels by whether the session source is
on one of its source-category lists (search, social, video, shopping), published as a
spreadsheet in GA4's help ("[GA4] Default channel group", "Download the list of
sources and categories"). The sets below are the entries of those lists that matter
for real traffic, written from that list as known on 2026-11-22; they are a subset,
not a copy. Add an entry when a real source is miscategorised. Entries are compared
lower-case; :func:`category_of` also tries the parent domains of a host.
"""

from __future__ import annotations

import re

SEARCH_SOURCES = frozenset(
    {
        "360.cn", "alice", "aol", "ask", "auone", "avg", "babylon", "baidu", "biglobe",
        "bing", "brave", "centrum.cz", "cn.bing.com", "coccoc", "comcast", "daum", "daum.net",
        "dogpile", "dogpile.com", "duckduckgo", "ecosia", "ecosia.org", "eniro", "exalead.com",
        "excite.com", "firmy.cz", "go.mail.ru", "google", "google-play", "kagi", "kvasir",
        "lens.google.com", "lycos", "m.baidu.com", "m.naver.com", "m.search.naver.com",
        "m.sogou.com", "msn", "msn.com", "najdi", "naver", "naver.com", "news.google.com",
        "ntp.msn.com", "onet", "onet.pl", "play.google.com", "qwant", "qwant.com", "rakuten",
        "rambler", "rambler.ru", "search-results", "search.aol.com", "search.aol.co.uk",
        "search.brave.com", "search.google.com", "search.naver.com", "search.seznam.cz",
        "search.ukr.net", "search.yahoo.com", "seznam", "seznam.cz", "so.com", "sogou",
        "sogou.com", "startpage", "startpage.com", "startsiden", "startsiden.no",
        "suche.aol.de", "terra", "tut.by", "ukr", "virgilio", "wap.sogou.com", "yahoo",
        "yahoo.co.jp", "yahoo.com", "yandex", "yandex.com", "yandex.ru", "ya.ru",
    }
)  # fmt: skip

SOCIAL_SOURCES = frozenset(
    {
        "academia.edu", "ameba.jp", "ameblo.jp", "badoo.com", "blog.naver.com", "blogger",
        "blogger.com", "bluesky", "bsky.app", "buzzfeed", "deviantart", "digg", "discord",
        "discord.com", "disqus", "douban", "facebook", "facebook.com", "fb", "fb.me",
        "flickr", "flipboard", "foursquare", "getpocket", "glassdoor", "glassdoor.com",
        "goodreads", "hatena", "hootsuite", "ig", "instagram", "instagram.com",
        "l.facebook.com", "l.instagram.com", "line", "line.me", "linkedin", "linkedin.com",
        "lm.facebook.com", "lnkd.in", "m.facebook.com", "mastodon", "mastodon.social",
        "medium.com", "meetup", "meetup.com", "messenger", "messenger.com", "mix", "mixi",
        "myspace", "news.ycombinator.com", "ok.ru", "old.reddit.com", "out.reddit.com",
        "pinterest", "pinterest.com", "qq", "quora", "quora.com", "reddit", "reddit.com",
        "skype", "slack", "slack.com", "snapchat", "stackexchange.com", "stackoverflow.com",
        "t.co", "t.me", "telegram", "telegram.org", "threads", "threads.net", "tiktok",
        "tiktok.com", "tumblr", "tumblr.com", "twitter", "twitter.com", "vk", "vk.com",
        "vkontakte", "wechat", "weibo", "weibo.com", "whatsapp", "whatsapp.com", "x",
        "x.com", "xing", "xing.com", "yelp", "yelp.com", "zalo",
    }
)  # fmt: skip

VIDEO_SOURCES = frozenset(
    {
        "crackle", "curiositystream", "dailymotion", "dailymotion.com", "disneyplus",
        "fast.wistia.net", "hulu", "hulu.com", "iq.com", "iqiyi", "iqiyi.com", "m.twitch.tv",
        "m.youtube.com", "music.youtube.com", "netflix", "netflix.com", "player.twitch.tv",
        "player.vimeo.com", "ted", "ted.com", "twitch", "twitch.tv", "veoh", "vimeo",
        "vimeo.com", "wistia", "wistia.com", "youku", "youku.com", "youtu.be", "youtube",
        "youtube.com",
    }
)  # fmt: skip

SHOPPING_SOURCES = frozenset(
    {
        "alibaba", "alibaba.com", "aliexpress", "aliexpress.com", "amazon", "amazon.com",
        "amazon.co.uk", "amazon.de", "apps.shopify.com", "checkout.shopify.com",
        "checkout.stripe.com", "ebay", "ebay.com", "ebay.co.uk", "ebay.de", "etsy",
        "etsy.com", "google shopping", "igshopping", "mercadolibre", "mercadolibre.com",
        "partners.shopify.com", "shop.app", "shopify", "shopify.com", "shopping.naver.com",
        "shopping.yahoo.com", "shopping.yahoo.co.jp", "shopzilla", "shopzilla.com",
        "stripe", "stripe.com", "walmart", "walmart.com",
    }
)  # fmt: skip

CATEGORIES = {
    "search": SEARCH_SOURCES,
    "social": SOCIAL_SOURCES,
    "video": VIDEO_SOURCES,
    "shopping": SHOPPING_SOURCES,
}

# Referrer host → search engine name (the GA4 source of an organic search visit).
# Hosts are matched without a leading "www."; Google, Yandex and Yahoo have a domain
# per country, hence the patterns. Other subdomains (mail.google.com, docs.google.com)
# are not search.
_SEARCH_ENGINE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:m\.)?google\.(?:com?\.)?[a-z]{2,3}|search\.google\.com|lens\.google\.com"), "google"),
    (re.compile(r"(?:m\.|cn\.)?bing\.com"), "bing"),
    (re.compile(r"(?:[a-z]{2}\.|espanol\.|m\.)?search\.yahoo\.(?:com?\.)?[a-z]{2,3}|yahoo\.co\.jp"), "yahoo"),
    (re.compile(r"(?:html\.|lite\.)?duckduckgo\.com"), "duckduckgo"),
    (re.compile(r"yandex\.(?:com?\.)?[a-z]{2,3}|ya\.ru"), "yandex"),
    (re.compile(r"(?:m\.)?baidu\.com"), "baidu"),
    (re.compile(r"ecosia\.org"), "ecosia"),
    (re.compile(r"(?:m\.)?search\.naver\.com"), "naver"),
    (re.compile(r"(?:search\.)?seznam\.cz"), "seznam"),
    (re.compile(r"(?:lite\.)?qwant\.com"), "qwant"),
    (re.compile(r"(?:eu\.|us\.)?startpage\.com"), "startpage"),
    (re.compile(r"search\.brave\.com"), "brave"),
    (re.compile(r"(?:m\.|wap\.)?sogou\.com"), "sogou"),
    (re.compile(r"so\.com"), "so.com"),
    (re.compile(r"ask\.com"), "ask"),
    (re.compile(r"search\.aol\.(?:com|co\.uk)|suche\.aol\.de"), "aol"),
    (re.compile(r"search\.daum\.net"), "daum"),
    (re.compile(r"coccoc\.com"), "coccoc"),
    (re.compile(r"kagi\.com"), "kagi"),
)

# Click-id URL parameters, in the order they win when a URL carries several, with the
# (source, medium) they imply. GA4 itself reads only Google's (gclid, gbraid, wbraid,
# and dclid for Campaign Manager/DV360 as dfa / cpm); the others follow each network's
# own auto-tagging values. fbclid is recorded but implies nothing: Facebook adds it to
# organic links too, so the referrer decides.
CLICK_ID_SOURCES: dict[str, tuple[str, str] | None] = {
    "gclid": ("google", "cpc"),
    "gbraid": ("google", "cpc"),
    "wbraid": ("google", "cpc"),
    "dclid": ("dfa", "cpm"),
    "msclkid": ("bing", "cpc"),
    "yclid": ("yandex", "cpc"),
    "ttclid": ("tiktok", "cpc"),
    "twclid": ("twitter", "cpc"),
    "li_fat_id": ("linkedin", "cpc"),
    "sccid": ("snapchat", "cpc"),
    "epik": ("pinterest", "cpc"),
    "rdt_cid": ("reddit", "cpc"),
    "qclid": ("quora", "cpc"),
    "fbclid": None,
}
CLICK_ID_PARAMS = tuple(CLICK_ID_SOURCES)


def strip_www(host: str) -> str:
    """``www.example.com`` → ``example.com``; other hosts unchanged."""
    return host[4:] if host.startswith("www.") else host


def search_engine(host: str) -> str:
    """The search engine name for a referrer host, or ''."""
    bare = strip_www(host.lower())
    for pattern, name in _SEARCH_ENGINE_PATTERNS:
        if pattern.fullmatch(bare):
            return name
    return ""


def category_of(source: str) -> str:
    """'search', 'social', 'video', 'shopping' or '' for a session source.

    The source is matched lower-case, then (if it is a host) by its parent domains, so
    ``de.pinterest.com`` is social like ``pinterest.com``. A source that is a search
    engine's host (``google.de``) is search.
    """
    name = strip_www(source.strip().lower())
    if not name:
        return ""
    candidates = [name]
    labels = name.split(".")
    candidates += [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    for candidate in candidates:
        for category, sources in CATEGORIES.items():
            if candidate in sources:
                return category
    return "search" if search_engine(name) else ""
