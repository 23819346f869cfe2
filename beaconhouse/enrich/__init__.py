"""Enrichment of event batches: the loaders call :func:`enrich` on each Arrow batch.

Input columns (the loader's, see beaconhouse.ingest.events_builder): ``website_id``,
``client_ts`` (timestamp, UTC), ``page_url``, ``referrer_url``, ``user_agent``, ``ip``
(string), ``visitor_id`` (null or empty when the client has none) and, optionally,
``utm_*`` columns that override the page URL's parameters where non-empty.

Output: the batch with every enrichment column of raw.events added (or replaced),
named and typed for it; see :data:`ENRICHED_SCHEMA`. ``ip`` becomes the anonymised
address as ``fixed_size_binary(16)`` and ``visitor_id`` is filled in.

Every step enriches each *distinct* value once (see :mod:`beaconhouse.enrich.distinct`)
and the user-agent and traffic steps keep an LRU cache across batches, so keep one
:class:`Enricher` for the life of a loader (:func:`enrich` does this for you).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.enrich import ip as ip_addresses
from beaconhouse.enrich.bots import BotDetector
from beaconhouse.enrich.campaign import CLICK_IDS_TYPE, UTM_FIELDS, parse_page_urls, url_hosts
from beaconhouse.enrich.distinct import LruCache, map_distinct
from beaconhouse.enrich.geo import GeoLocator
from beaconhouse.enrich.ip import InvalidIP, InvalidIPError, invalid_ips
from beaconhouse.enrich.referrer import TrafficClassifier
from beaconhouse.enrich.useragent import UserAgentParser
from beaconhouse.enrich.visitor import fill_visitor_ids, site_local_dates

__all__ = [
    "ENRICHED_SCHEMA",
    "INPUT_COLUMNS",
    "EnrichOptions",
    "Enricher",
    "InvalidIP",
    "InvalidIPError",
    "SiteInfo",
    "enrich",
    "invalid_ips",
]

#: the columns :func:`enrich` reads (``utm_*`` are optional)
INPUT_COLUMNS = ("website_id", "client_ts", "page_url", "referrer_url", "user_agent", "ip", "visitor_id")

#: the columns :func:`enrich` writes, with their Arrow types, in raw.events order
ENRICHED_SCHEMA = pa.schema(
    [
        ("visitor_id", pa.string()),
        ("visitor_id_kind", pa.string()),
        ("page_host", pa.string()),
        ("page_path", pa.string()),
        ("page_query", pa.string()),
        ("referrer_host", pa.string()),
        ("device_type", pa.string()),
        ("browser_name", pa.string()),
        ("browser_version", pa.string()),
        ("os_name", pa.string()),
        ("os_version", pa.string()),
        ("ip", ip_addresses.IP_TYPE),
        ("country_code", pa.string()),
        ("region", pa.string()),
        ("city", pa.string()),
        *((name, pa.string()) for name in UTM_FIELDS),
        ("traffic_source", pa.string()),
        ("traffic_medium", pa.string()),
        ("traffic_campaign", pa.string()),
        ("click_ids", CLICK_IDS_TYPE),
        ("is_bot", pa.bool_()),
        ("bot_name", pa.string()),
    ]
)


@dataclass(frozen=True)
class SiteInfo:
    """What enrichment needs to know about a site (built by the loader from config).

    ``bot_filtering`` does not change enrichment: bots are always flagged, and the
    marts drop them for sites that filter bots.
    """

    website_id: int
    domain: str
    timezone: str = "UTC"
    ip_anonymization: bool = True
    bot_filtering: bool = True


@dataclass(frozen=True)
class EnrichOptions:
    """Process-wide enrichment settings.

    ``visitor_id_secret`` keys the cookieless visitor hash (at least 16 bytes; keep it
    secret and stable, see docs/enrichment.md). ``mmdb_path`` is an optional
    MaxMind-format database for region and city. ``with_channel`` adds
    ``traffic_channel`` (GA4 default channel group), which raw.events does not have.
    """

    visitor_id_secret: bytes = field(repr=False)
    mmdb_path: str | None = None
    user_agent_cache_size: int = 100_000
    traffic_cache_size: int = 100_000
    url_cache_size: int = 50_000
    with_channel: bool = False


class Enricher:
    """Holds the parsers, data and caches that :meth:`enrich` reuses across batches.

    Not thread-safe (the caches are plain dicts): use one per loader thread.
    """

    def __init__(self, options: EnrichOptions) -> None:
        self.options = options
        self.user_agents = UserAgentParser(options.user_agent_cache_size)
        self.bots = BotDetector(cache_size=options.user_agent_cache_size)
        self.geo = GeoLocator(options.mmdb_path)
        self.traffic = TrafficClassifier(options.traffic_cache_size)
        # Pages and referrers recur across batches too; parsing is cheap, so smaller caches.
        self.page_urls: LruCache[str | None, tuple[Any, ...]] = LruCache(options.url_cache_size)
        self.referrer_urls: LruCache[str | None, tuple[str]] = LruCache(options.url_cache_size)

    def enrich(self, batch: pa.Table, sites: Mapping[int, SiteInfo]) -> pa.Table:
        """The batch with the enrichment columns of raw.events added or replaced.

        Every ``website_id`` must be in ``sites`` (the loader quarantines unknown
        sites first). Empty or invalid IPs become ``::``; call :func:`invalid_ips`
        before to report invalid ones.
        """
        missing = [name for name in INPUT_COLUMNS if name not in batch.column_names]
        if missing:
            raise ValueError(f"enrich: batch lacks columns {missing}")
        website_id = batch.column("website_id").combine_chunks()
        unknown = set(pc.unique(website_id).to_pylist()) - set(sites)
        if unknown:
            raise ValueError(f"enrich: unknown website_id {sorted(unknown, key=str)}")

        def column(name: str) -> pa.Array:
            return pc.cast(batch.column(name), pa.string()).combine_chunks()

        user_agent = column("user_agent")
        out: dict[str, pa.Array] = {}

        # Page and referrer URLs; explicit utm_* columns win over the URL's.
        page = parse_page_urls(column("page_url"), self.page_urls)
        for name in UTM_FIELDS:
            if name in batch.column_names:
                given = pc.fill_null(column(name), "")
                page[name] = pc.if_else(pc.equal(pc.utf8_trim_whitespace(given), ""), page[name], given)
        out.update((name, page[name]) for name in ("page_host", "page_path", "page_query"))
        out["referrer_host"] = url_hosts(column("referrer_url"), self.referrer_urls)

        # Device, then bots (a bot's device type is 'bot' whatever ua-parser says).
        device = self.user_agents.parse_array(user_agent)
        packed = ip_addresses.parse_ips(column("ip"))
        spider = pc.if_else(pc.equal(device["device_type"], "bot"), device["browser_name"], "")
        is_bot, bot_name = self.bots.detect(user_agent, packed, spider)
        device["device_type"] = pc.if_else(is_bot, "bot", device["device_type"])
        out.update(device)

        # Geo and the cookieless id use the full address; only then is it anonymised.
        out.update(self.geo.locate(packed))
        days = site_local_dates(
            batch.column("client_ts"), website_id, {k: s.timezone for k, s in sites.items()}
        )
        out["visitor_id"], out["visitor_id_kind"] = fill_visitor_ids(
            column("visitor_id"), self.options.visitor_id_secret, website_id, packed, user_agent, days
        )
        (anonymise,) = map_distinct(website_id, lambda w: (sites[w].ip_anonymization,), [pa.bool_()])
        out["ip"] = ip_addresses.for_clickhouse(ip_addresses.anonymise(packed, anonymise))

        # Traffic source, medium, campaign (and the GA4 channel).
        (domain,) = map_distinct(website_id, lambda w: (sites[w].domain,), [pa.string()])
        traffic = self.traffic.classify(
            out["referrer_host"],
            page["utm_source"],
            page["utm_medium"],
            page["utm_campaign"],
            page["paid_click_id"],
            domain,
            out["page_host"],
        )
        out.update((name, page[name]) for name in UTM_FIELDS)
        out.update((name, traffic[name]) for name in ("traffic_source", "traffic_medium", "traffic_campaign"))
        out["click_ids"] = page["click_ids"]
        out["is_bot"], out["bot_name"] = is_bot, bot_name

        result = batch
        fields = list(ENRICHED_SCHEMA)
        if self.options.with_channel:
            out["traffic_channel"] = traffic["traffic_channel"]
            fields.append(pa.field("traffic_channel", pa.string()))
        for item in fields:
            values = out[item.name].cast(item.type)
            index = result.schema.get_field_index(item.name)
            if index >= 0:
                result = result.set_column(index, item, values)
            else:
                result = result.append_column(item, values)
        return result


@functools.lru_cache(maxsize=4)
def _enricher(options: EnrichOptions) -> Enricher:
    return Enricher(options)


def enrich(batch: pa.Table, sites: Mapping[int, SiteInfo], options: EnrichOptions) -> pa.Table:
    """Enrich one batch (see :meth:`Enricher.enrich`), reusing caches across calls
    with the same ``options``."""
    return _enricher(options).enrich(batch, sites)
