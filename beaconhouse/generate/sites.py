"""The simulated sites: which ones, and how each one's audience behaves.

The sites are the first N of the configuration's ``[[sites]]``, or, when the
configuration has none, built-in demo sites in different time zones
(``shop.example`` in Europe/Berlin, ``news.example`` in America/New_York,
``travel.example`` in Asia/Tokyo, …) with website_id 1..N and tracking_id ``BH-<id>``.
The sites used are written as ``sites.toml`` in the ``[[sites]]`` format of
beaconhouse.toml, so a loader can be configured from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from beaconhouse.config import Settings, Site
from beaconhouse.generate.catalogue import Catalogue, build_catalogue
from beaconhouse.generate.sources import DEFAULT_CHANNEL_MIX


@dataclass(frozen=True)
class Action:
    """A custom event a site's pages send (category / action / label / value)."""

    category: str
    action: str
    labels: tuple[str, ...]
    #: ``(low, high)`` for a uniform value, or None for no value
    value: tuple[float, float] | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Kind:
    """How visitors of one kind of site behave."""

    name: str
    #: share of sessions with a single pageview
    bounce_rate: float
    #: mean pageviews of a session that does not bounce
    pages_mean: float
    #: probability that a pageview is followed by a custom event
    event_rate: float
    #: share of sessions that end in a transaction
    conversion_rate: float
    #: share of a day's visitors who visited before
    returning_share: float
    #: visitors by local hour (0-23), relative
    diurnal: tuple[float, ...]
    #: visitors by weekday (Monday first), relative
    weekdays: tuple[float, ...]
    #: desktop, mobile, tablet
    devices: tuple[float, float, float]
    actions: tuple[Action, ...]
    channels: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CHANNEL_MIX))


_OFFICE = (
    0.6,
    0.35,
    0.25,
    0.2,
    0.25,
    0.4,
    0.8,
    1.6,
    2.6,
    3.3,
    3.5,
    3.5,
    3.3,
    3.4,
    3.5,
    3.4,
    3.2,
    2.8,
    2.4,
    2.2,
    2.0,
    1.7,
    1.3,
    0.9,
)
_EVENING = (
    0.9,
    0.5,
    0.3,
    0.22,
    0.2,
    0.3,
    0.6,
    1.1,
    1.6,
    2.0,
    2.3,
    2.5,
    2.7,
    2.6,
    2.5,
    2.5,
    2.6,
    2.8,
    3.1,
    3.5,
    3.8,
    3.6,
    2.8,
    1.7,
)
_MORNING = (
    0.7,
    0.4,
    0.3,
    0.3,
    0.4,
    0.8,
    1.8,
    3.2,
    3.6,
    3.3,
    3.0,
    2.8,
    3.0,
    2.7,
    2.5,
    2.4,
    2.4,
    2.6,
    2.7,
    2.8,
    2.7,
    2.3,
    1.7,
    1.1,
)

_COMMON = (
    Action("scroll", "depth", ("25%", "50%", "75%", "100%"), (25.0, 100.0), 3),
    Action(
        "outbound",
        "click",
        ("https://github.com/", "https://www.youtube.com/", "https://maps.google.com/"),
        None,
        1,
    ),
    Action("share", "click", ("facebook", "x", "linkedin", "email", "whatsapp"), None, 1),
)

KINDS: Mapping[str, Kind] = {
    "shop": Kind(
        "shop",
        0.40,
        5.0,
        0.35,
        0.030,
        0.30,
        _EVENING,
        (0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.05),
        (0.38, 0.56, 0.06),
        (
            *_COMMON,
            Action("ecommerce", "add_to_cart", ("product_page", "quick_add", "wishlist"), (9.0, 180.0), 4),
            Action("ecommerce", "view_item_list", ("category", "search_results", "recommended"), None, 2),
            Action("search", "submit", ("sweater", "jacket", "socks", "backpack", "gift"), (0.0, 60.0), 2),
            Action("newsletter", "subscribe", ("footer", "popup"), None, 0.5),
        ),
    ),
    "news": Kind(
        "news",
        0.62,
        3.0,
        0.25,
        0.006,
        0.45,
        _MORNING,
        (1.05, 1.05, 1.0, 1.0, 1.0, 0.85, 0.85),
        (0.30, 0.64, 0.06),
        (
            *_COMMON,
            Action("video", "play", ("inline", "autoplay", "live"), None, 2),
            Action("paywall", "impression", ("metered", "hard"), None, 2),
            Action("newsletter", "subscribe", ("inline", "article_end"), None, 0.5),
        ),
    ),
    "travel": Kind(
        "travel",
        0.48,
        5.0,
        0.30,
        0.012,
        0.20,
        _EVENING,
        (1.0, 1.0, 1.0, 1.0, 0.95, 1.05, 1.15),
        (0.50, 0.44, 0.06),
        (
            *_COMMON,
            Action("search", "submit", ("kyoto", "lisbon", "seoul", "porto", "reykjavik"), (0.0, 200.0), 3),
            Action("booking", "start", ("hotel_page", "deals_page"), None, 2),
            Action("filter", "apply", ("price", "rating", "distance", "free_cancellation"), None, 2),
        ),
    ),
    "blog": Kind(
        "blog",
        0.70,
        2.5,
        0.30,
        0.004,
        0.25,
        _EVENING,
        (1.0, 1.0, 1.0, 1.0, 0.95, 1.0, 1.05),
        (0.35, 0.60, 0.05),
        (
            *_COMMON,
            Action("newsletter", "subscribe", ("sidebar", "post_end"), None, 1),
            Action("comment", "submit", ("post",), None, 1),
        ),
    ),
    "docs": Kind(
        "docs",
        0.42,
        4.5,
        0.20,
        0.004,
        0.40,
        _OFFICE,
        (1.1, 1.15, 1.15, 1.1, 1.0, 0.45, 0.45),
        (0.80, 0.18, 0.02),
        (
            *_COMMON,
            Action("code", "copy", ("curl", "python", "javascript", "go"), None, 4),
            Action("search", "submit", ("webhook", "token", "rate limit", "export"), (0.0, 40.0), 2),
            Action("feedback", "helpful", ("yes", "no"), (0.0, 1.0), 1),
        ),
    ),
    "saas": Kind(
        "saas",
        0.50,
        3.5,
        0.30,
        0.010,
        0.35,
        _OFFICE,
        (1.1, 1.1, 1.1, 1.05, 1.0, 0.55, 0.5),
        (0.72, 0.25, 0.03),
        (
            *_COMMON,
            Action("cta", "click", ("start_trial", "book_demo", "see_pricing"), None, 3),
            Action("demo", "request", ("pricing_page", "features_page"), None, 1),
            Action("video", "play", ("product_tour",), None, 1),
        ),
    ),
}
KIND_ORDER: tuple[str, ...] = ("shop", "news", "travel", "blog", "docs", "saas")


@dataclass(frozen=True)
class _Template:
    domain: str
    name: str
    timezone: str
    kind: str


DEMO_SITES: tuple[_Template, ...] = (
    _Template("shop.example", "Demo Shop", "Europe/Berlin", "shop"),
    _Template("news.example", "Demo News", "America/New_York", "news"),
    _Template("travel.example", "Demo Travel", "Asia/Tokyo", "travel"),
    _Template("blog.example", "Demo Blog", "Europe/London", "blog"),
    _Template("docs.example", "Demo Docs", "America/Sao_Paulo", "docs"),
    _Template("saas.example", "Demo SaaS", "Asia/Kolkata", "saas"),
    _Template("recipes.example", "Demo Recipes", "Europe/Paris", "blog"),
    _Template("forum.example", "Demo Forum", "Europe/Madrid", "news"),
    _Template("outdoor.example", "Demo Outdoor", "America/Toronto", "shop"),
)

#: home country of a site, by its time zone (others default to US)
TIMEZONE_COUNTRY: Mapping[str, str] = {
    "Europe/Berlin": "DE",
    "Europe/Vienna": "DE",
    "Europe/Zurich": "DE",
    "America/New_York": "US",
    "America/Chicago": "US",
    "America/Denver": "US",
    "America/Los_Angeles": "US",
    "Asia/Tokyo": "JP",
    "Europe/London": "GB",
    "America/Sao_Paulo": "BR",
    "Asia/Kolkata": "IN",
    "Asia/Calcutta": "IN",
    "Europe/Paris": "FR",
    "Europe/Madrid": "ES",
    "America/Toronto": "CA",
    "America/Vancouver": "CA",
}
CURRENCIES: Mapping[str, tuple[str, float, int]] = {
    # country: (currency, units per USD, decimals)
    "US": ("USD", 1.0, 2),
    "DE": ("EUR", 0.92, 2),
    "FR": ("EUR", 0.92, 2),
    "ES": ("EUR", 0.92, 2),
    "GB": ("GBP", 0.79, 2),
    "JP": ("JPY", 150.0, 0),
    "BR": ("BRL", 5.4, 2),
    "IN": ("INR", 84.0, 2),
    "CA": ("CAD", 1.37, 2),
}
#: VAT included in prices, by country (None: not itemised)
VAT: Mapping[str, float | None] = {
    "US": None,
    "DE": 0.19,
    "FR": 0.20,
    "ES": 0.21,
    "GB": 0.20,
    "JP": 0.10,
    "BR": None,
    "IN": 0.18,
    "CA": 0.13,
}
LANGUAGES: Mapping[str, tuple[tuple[str, float], ...]] = {
    "US": (("en-US", 0.9), ("es-US", 0.07), ("zh-CN", 0.03)),
    "DE": (("de-DE", 0.85), ("en-US", 0.08), ("en-GB", 0.04), ("tr-TR", 0.03)),
    "JP": (("ja-JP", 0.95), ("ja", 0.03), ("en-US", 0.02)),
    "GB": (("en-GB", 0.9), ("en-US", 0.08), ("pl-PL", 0.02)),
    "FR": (("fr-FR", 0.9), ("en-US", 0.06), ("ar", 0.04)),
    "BR": (("pt-BR", 0.95), ("en-US", 0.05)),
    "IN": (("en-IN", 0.6), ("en-US", 0.2), ("hi-IN", 0.2)),
    "ES": (("es-ES", 0.85), ("ca-ES", 0.08), ("en-GB", 0.07)),
    "CA": (("en-CA", 0.7), ("fr-CA", 0.25), ("en-US", 0.05)),
}
HOME_SHARE = 0.65
_ABROAD = {"US": 10, "GB": 5, "DE": 4, "FR": 3, "IN": 3, "BR": 3, "JP": 2, "ES": 2, "CA": 2}


@dataclass(frozen=True)
class SiteProfile:
    """A site and everything the simulation needs to know about its audience."""

    site: Site
    kind: Kind
    country: str
    currency: str
    #: currency units per USD, and decimals of its amounts
    fx: float
    decimals: int
    vat: float | None
    #: visitor countries and their shares
    countries: tuple[str, ...]
    country_p: npt.NDArray[np.float64]
    catalogue: Catalogue

    @property
    def website_id(self) -> int:
        return self.site.website_id


def choose_sites(settings: Settings, n: int) -> tuple[Site, ...]:
    """The first ``n`` configured sites, or ``n`` demo sites when none are configured."""
    if n < 1:
        raise ValueError("at least one site is needed")
    if settings.sites:
        return settings.sites[:n]
    return tuple(demo_site(website_id) for website_id in range(1, n + 1))


def demo_site(website_id: int) -> Site:
    """Built-in demo site number ``website_id`` (1-based)."""
    template = DEMO_SITES[(website_id - 1) % len(DEMO_SITES)]
    domain, name = template.domain, template.name
    if website_id > len(DEMO_SITES):
        stem = domain.split(".")[0]
        domain, name = f"{stem}{website_id}.example", f"{name} {website_id}"
    return Site(
        website_id=website_id,
        domain=domain,
        name=name,
        tracking_id=f"BH-{website_id}",
        timezone=template.timezone,
    )


def build_profiles(sites: Sequence[Site], seed: int) -> list[SiteProfile]:
    """Profiles for ``sites``; each depends only on the seed and the site itself."""
    templates = {t.domain: t for t in DEMO_SITES}
    profiles = []
    for index, site in enumerate(sites):
        stem_domain = site.domain.split(".")[0].rstrip("0123456789") + ".example"
        template = templates.get(site.domain) or templates.get(stem_domain)
        kind = KINDS[template.kind if template else KIND_ORDER[index % len(KIND_ORDER)]]
        country = TIMEZONE_COUNTRY.get(site.timezone, "US")
        currency, fx, decimals = CURRENCIES[country]
        abroad = {c: w for c, w in _ABROAD.items() if c != country}
        total_abroad = sum(abroad.values())
        countries = (country, *abroad)
        shares = [HOME_SHARE] + [(1 - HOME_SHARE) * w / total_abroad for w in abroad.values()]
        rng = np.random.default_rng([seed, site.website_id, 0xCA7A])
        catalogue = build_catalogue(
            kind=kind.name,
            domain=site.domain,
            site_name=site.name or site.domain,
            fx=fx,
            decimals=decimals,
            rng=rng,
        )
        profiles.append(
            SiteProfile(
                site=site,
                kind=kind,
                country=country,
                currency=currency,
                fx=fx,
                decimals=decimals,
                vat=VAT[country],
                countries=countries,
                country_p=np.array(shares) / sum(shares),
                catalogue=catalogue,
            )
        )
    return profiles


def sites_toml(sites: Sequence[Site]) -> str:
    """``sites`` as ``[[sites]]`` tables of beaconhouse.toml."""
    lines = ["# The sites the generator simulated, in beaconhouse.toml's [[sites]] format.", ""]
    for site in sites:
        lines.append("[[sites]]")
        fields = site.model_dump()
        goals = fields.pop("goals")
        for key, value in fields.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        for goal in goals:
            lines.append("[[sites.goals]]")
            for key, value in goal.items():
                lines.append(f"{key} = {_toml_value(value)}")
            lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string of printable text is a valid TOML basic string.
    return json.dumps(str(value), ensure_ascii=True)
