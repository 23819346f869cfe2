"""Traffic source, medium and campaign of an event, as GA4 attributes a session start.

Precedence, first that applies:

1. UTM parameters (``utm_source`` or ``utm_medium`` present): their values, with
   ``(not set)`` for a missing one.
2. A paid click id (``gclid`` → google / cpc, …; see source_categories.CLICK_ID_SOURCES).
3. The referrer: the site itself → ``(internal)`` / ``(none)`` (our deviation from
   GA4, which has no internal source); a search engine → engine / ``organic``; any
   other host → host (without ``www.``) / ``referral``. Social, video and shopping
   referrers are ``referral`` too: GA4 puts them in their channels by source.
4. Nothing: ``(direct)`` / ``(none)``.

The campaign is ``utm_campaign`` when given, else GA4's placeholders: ``(organic)``,
``(referral)``, ``(direct)``, ``(not set)`` for paid clicks, and ``(internal)``.

UTMs win over click ids. GA4 by default lets Google Ads auto-tagging (gclid) win
instead, unless "manual tagging overrides auto-tagging" is on; explicit UTMs state
the sender's intent, so we follow them.
"""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

from beaconhouse.enrich.channels import INTERNAL_SOURCE, default_channel_group
from beaconhouse.enrich.distinct import ArrayLike, LruCache, map_distinct
from beaconhouse.enrich.source_categories import CLICK_ID_SOURCES, search_engine, strip_www

NOT_SET = "(not set)"
COLUMNS = ("traffic_source", "traffic_medium", "traffic_campaign", "traffic_channel")


class Traffic(NamedTuple):
    """Where a visit came from."""

    source: str
    medium: str
    campaign: str
    channel: str


def is_internal(referrer_host: str, site_domain: str, page_host: str = "") -> bool:
    """Whether a referrer is the site itself: its domain, a subdomain, or the page's host.

    ``www.`` is ignored on both sides, so ``www.example.com`` and ``example.com``
    are the same site.
    """
    referrer = strip_www(referrer_host.lower())
    if not referrer:
        return False
    if page_host and referrer == strip_www(page_host.lower()):
        return True
    domain = strip_www(site_domain.lower().strip().rstrip("."))
    return bool(domain) and (referrer == domain or referrer.endswith("." + domain))


def classify_traffic(
    referrer_host: str = "",
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    paid_click_id: str = "",
    site_domain: str = "",
    page_host: str = "",
) -> Traffic:
    """Source, medium, campaign and channel for one event (see the module docstring)."""
    campaign = utm_campaign.strip()
    if utm_source.strip() or utm_medium.strip():
        source = utm_source.strip() or NOT_SET
        medium = utm_medium.strip() or NOT_SET
        campaign = campaign or NOT_SET
    elif implied := CLICK_ID_SOURCES.get(paid_click_id):
        source, medium = implied
        campaign = campaign or NOT_SET
    elif is_internal(referrer_host, site_domain, page_host):
        source, medium = INTERNAL_SOURCE, "(none)"
        campaign = campaign or "(internal)"
    elif referrer_host:
        engine = search_engine(referrer_host)
        if engine:
            source, medium = engine, "organic"
            campaign = campaign or "(organic)"
        else:
            source, medium = strip_www(referrer_host.lower()), "referral"
            campaign = campaign or "(referral)"
    else:
        source, medium = "(direct)", "(none)"
        campaign = campaign or "(direct)"
    return Traffic(source, medium, campaign, default_channel_group(source, medium, campaign))


class TrafficClassifier:
    """:func:`classify_traffic` over arrays, once per distinct input, cached across batches."""

    def __init__(self, cache_size: int = 100_000) -> None:
        self.cache: LruCache[tuple[object, ...], Traffic] = LruCache(cache_size)

    def classify(
        self,
        referrer_host: ArrayLike,
        utm_source: ArrayLike,
        utm_medium: ArrayLike,
        utm_campaign: ArrayLike,
        paid_click_id: ArrayLike,
        site_domain: ArrayLike,
        page_host: ArrayLike,
    ) -> dict[str, pa.Array]:
        """The :data:`COLUMNS` for equal-length string arrays (``traffic_channel`` is not
        a raw.events column). Arguments are those of :func:`classify_traffic`."""

        def one(*values: str | None) -> Traffic:
            return classify_traffic(*(value or "" for value in values))

        arrays = map_distinct(
            [referrer_host, utm_source, utm_medium, utm_campaign, paid_click_id, site_domain, page_host],
            one,
            [pa.string()] * len(COLUMNS),
            cache=self.cache,
        )
        return dict(zip(COLUMNS, arrays, strict=True))
