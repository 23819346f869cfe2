"""Where a session comes from: its referrer and the landing page's query string.

Six channels, as analytics tools report them:

- ``direct``: no referrer, no campaign parameters;
- ``search``: organic search, the engine's origin as referrer (Google sends only
  ``https://www.google.de/``, never the query);
- ``social``: facebook, instagram, linkedin, reddit, x (``t.co``) and youtube referrers;
  a share also carry ``utm_medium=social`` from a tagged post;
- ``referral``: a link from another site (its origin as referrer);
- ``email``: ``utm_source=newsletter&utm_medium=email``, no referrer;
- ``paid``: ``utm_*`` plus a click id (``gclid`` for Google Ads, ``msclkid`` for
  Microsoft Ads, ``fbclid`` for Meta) and the ad platform's referrer.

UTM parameters and click ids go in the landing page URL's query string.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import quote_plus

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
CHANNELS: tuple[str, ...] = ("direct", "search", "social", "referral", "email", "paid")
DIRECT = 0

#: default share of sessions per channel
DEFAULT_CHANNEL_MIX: Mapping[str, float] = {
    "direct": 0.28,
    "search": 0.36,
    "social": 0.12,
    "referral": 0.08,
    "email": 0.05,
    "paid": 0.11,
}

_GOOGLE = {
    "DE": "https://www.google.de/",
    "JP": "https://www.google.co.jp/",
    "GB": "https://www.google.co.uk/",
    "FR": "https://www.google.fr/",
    "BR": "https://www.google.com.br/",
    "IN": "https://www.google.co.in/",
    "ES": "https://www.google.es/",
    "CA": "https://www.google.ca/",
}
_SEARCH_OTHERS = (
    ("https://www.google.com/", 0.22),
    ("https://www.bing.com/", 0.09),
    ("https://duckduckgo.com/", 0.05),
    ("https://search.yahoo.com/", 0.02),
    ("https://www.ecosia.org/", 0.02),
)
_SOCIAL = (
    # (network for utm_source, referrers, weight)
    ("facebook", ("https://l.facebook.com/", "https://m.facebook.com/", "https://www.facebook.com/"), 0.33),
    ("instagram", ("https://l.instagram.com/", "https://www.instagram.com/"), 0.2),
    ("linkedin", ("https://www.linkedin.com/",), 0.12),
    ("reddit", ("https://www.reddit.com/", "https://out.reddit.com/"), 0.13),
    ("x", ("https://t.co/",), 0.15),
    ("youtube", ("https://www.youtube.com/",), 0.07),
)
_REFERRALS = (
    "https://news.ycombinator.com/",
    "https://github.com/",
    "https://en.wikipedia.org/",
    "https://de.wikipedia.org/",
    "https://www.producthunt.com/",
    "https://medium.com/",
    "https://stackoverflow.com/",
    "https://dev.to/",
    "https://www.theverge.com/",
    "https://www.nytimes.com/",
    "https://www.spiegel.de/",
    "https://www.lemonde.fr/",
    "https://www.bbc.co.uk/",
    "https://www.nikkei.com/",
    "https://www.trustpilot.com/",
    "https://www.pinterest.com/",
    "https://substack.com/",
    "https://www.heise.de/",
)
_CAMPAIGNS: Mapping[str, tuple[str, ...]] = {
    "shop": ("autumn_sale", "black_friday_early", "brand", "new_collection", "retargeting"),
    "news": ("subscribe_q4", "brand", "app_install", "newsletter_signup"),
    "travel": ("winter_deals", "city_breaks", "brand", "last_minute"),
    "blog": ("ebook_launch", "brand", "course_waitlist"),
    "docs": ("brand", "free_trial", "webinar_nov"),
    "saas": ("free_trial", "brand", "competitor", "webinar_nov", "retargeting"),
}
_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "shop": ("merino sweater", "rain jacket women", "buy sneakers online", "organic t shirt", "wool socks"),
    "news": ("breaking news", "election results", "tech news today", "weather forecast"),
    "travel": ("cheap flights", "hotel kyoto", "weekend city break", "ski holiday deals"),
    "blog": ("sourdough recipe", "how to start running", "minimalist home ideas"),
    "docs": ("api rate limit", "webhook signature", "python sdk install"),
    "saas": ("crm for small business", "project management tool", "invoice software"),
}
_EMAIL_CONTENT = ("hero", "cta_button", "product_grid", "footer", "text_link")
_AD_CONTENT = ("video_15s", "carousel_a", "carousel_b", "static_1", "story_v2")
_CLICK_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)


class Landing(NamedTuple):
    """How one session (or a re-entry within one) arrives."""

    channel: int
    #: the referrer the browser sends on the landing page; empty for none
    referrer: str
    #: the landing URL's query string (``?utm_source=…``); empty for none
    query: str


class SourceSampler:
    """Samples channels and landings for one site."""

    def __init__(self, *, country: str, kind: str, mix: Mapping[str, float] = DEFAULT_CHANNEL_MIX) -> None:
        weights = np.array([mix.get(name, 0.0) for name in CHANNELS], dtype=np.float64)
        self.p = weights / weights.sum()
        not_direct = weights.copy()
        not_direct[DIRECT] = 0.0
        self.p_not_direct = not_direct / not_direct.sum()
        local_google = _GOOGLE.get(country, "https://www.google.com/")
        search = [(local_google, 0.6), *_SEARCH_OTHERS]
        self._search = [url for url, _ in search]
        self._search_p = _normalised([w for _, w in search])
        self._local_google = local_google
        self._social_p = _normalised([w for *_, w in _SOCIAL])
        self._campaigns = _CAMPAIGNS.get(kind, _CAMPAIGNS["saas"])
        self._keywords = [quote_plus(k) for k in _KEYWORDS.get(kind, _KEYWORDS["saas"])]

    def channels(self, rng: np.random.Generator, n: int, *, allow_direct: bool = True) -> IntArray:
        """``n`` channel indices into :data:`CHANNELS`."""
        return rng.choice(len(CHANNELS), size=n, p=self.p if allow_direct else self.p_not_direct)

    def landings(self, rng: np.random.Generator, channels: IntArray, day: dt.date) -> list[Landing]:
        """The referrer and query string of one landing per entry of ``channels``."""
        n = len(channels)
        picks = rng.random((n, 4))
        click_ids = _CLICK_ALPHABET[rng.integers(0, 64, size=(n, 96))].tobytes().decode()
        search_pick = np.searchsorted(np.cumsum(self._search_p), picks[:, 0], side="right")
        social_pick = np.searchsorted(np.cumsum(self._social_p), picks[:, 0], side="right")
        iso = day.isocalendar()
        week = f"weekly_{iso.year}_w{iso.week:02d}"
        out: list[Landing] = []
        rows = picks.tolist()
        search_picks, social_picks = search_pick.tolist(), social_pick.tolist()
        for i, channel in enumerate(channels.tolist()):
            u0, u1, u2, u3 = rows[i]
            clicks = click_ids[i * 96 : (i + 1) * 96]
            if channel == 0:  # direct
                out.append(Landing(0, "", ""))
            elif channel == 1:  # search
                out.append(Landing(1, self._search[min(search_picks[i], len(self._search) - 1)], ""))
            elif channel == 2:  # social
                network, referrers, _ = _SOCIAL[min(social_picks[i], len(_SOCIAL) - 1)]
                referrer = referrers[int(u1 * len(referrers))]
                if network == "x":
                    referrer = f"https://t.co/{clicks[:10]}"
                query = ""
                if u2 < 0.2:
                    query = (
                        f"?utm_source={network}&utm_medium=social&utm_campaign={_pick(self._campaigns, u3)}"
                    )
                out.append(Landing(2, referrer, query))
            elif channel == 3:  # referral
                out.append(Landing(3, _pick(_REFERRALS, u0), ""))
            elif channel == 4:  # email
                query = (
                    f"?utm_source=newsletter&utm_medium=email&utm_campaign={week}"
                    f"&utm_content={_pick(_EMAIL_CONTENT, u1)}"
                )
                out.append(Landing(4, "", query))
            else:  # paid
                campaign = _pick(self._campaigns, u1)
                if u0 < 0.55:
                    query = (
                        f"?utm_source=google&utm_medium=cpc&utm_campaign={campaign}"
                        f"&utm_term={_pick(self._keywords, u2)}&gclid=Cj0KCQ{clicks[:78]}BwE"
                    )
                    out.append(Landing(5, self._local_google, query))
                elif u0 < 0.65:
                    query = (
                        f"?utm_source=bing&utm_medium=cpc&utm_campaign={campaign}"
                        f"&utm_term={_pick(self._keywords, u2)}&msclkid={_hex32(clicks)}"
                    )
                    out.append(Landing(5, "https://www.bing.com/", query))
                else:
                    network = "facebook" if u3 < 0.6 else "instagram"
                    referrer = (
                        "https://m.facebook.com/" if network == "facebook" else "https://l.instagram.com/"
                    )
                    query = (
                        f"?utm_source={network}&utm_medium=paid_social&utm_campaign={campaign}"
                        f"&utm_content={_pick(_AD_CONTENT, u2)}&fbclid=IwAR{clicks[:58]}"
                    )
                    out.append(Landing(5, referrer, query))
        return out


def _pick(options: tuple[str, ...] | list[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


def _hex32(chars: str) -> str:
    return chars.encode().hex()[:32]


def _normalised(weights: list[float]) -> npt.NDArray[np.float64]:
    array = np.array(weights, dtype=np.float64)
    normalised: npt.NDArray[np.float64] = array / array.sum()
    return normalised
