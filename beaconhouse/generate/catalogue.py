"""Each site's pages, their titles and popularity, and what it sells.

Page popularity is Zipf-distributed: the page of rank ``k`` (0 is the home page) is
viewed with probability proportional to ``1 / (k + 1) ** s`` (``s`` = 1.1 for people,
0.3 for crawlers, which spread over everything). Checkout and confirmation pages are
reached only through a purchase, never by browsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

BROWSE_ZIPF_S = 1.1
CRAWL_ZIPF_S = 0.3


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    #: unit price in the site's currency
    price: float


@dataclass(frozen=True)
class Catalogue:
    """A site's pages (index = popularity rank) and products."""

    paths: tuple[str, ...]
    titles: tuple[str, ...]
    urls: tuple[str, ...]
    #: the page before a purchase, and the page that confirms it
    checkout: int
    confirmation: int
    products: tuple[Product, ...]
    browse_cdf: np.ndarray
    crawl_cdf: np.ndarray

    def sample(self, rng: np.random.Generator, n: int, *, crawl: bool = False) -> np.ndarray:
        """``n`` page indices drawn by popularity."""
        cdf = self.crawl_cdf if crawl else self.browse_cdf
        return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(self.paths) - 1)


_SHOP_ADJ = (
    "Classic",
    "Organic",
    "Merino",
    "Lightweight",
    "Waterproof",
    "Vintage",
    "Slim",
    "Oversized",
    "Recycled",
    "Everyday",
    "Linen",
    "Heritage",
)
_SHOP_ITEMS = (
    ("T-Shirt", "tops", 24),
    ("Hoodie", "tops", 59),
    ("Sneakers", "shoes", 89),
    ("Backpack", "bags", 74),
    ("Rain Jacket", "outerwear", 129),
    ("Chinos", "bottoms", 64),
    ("Beanie", "accessories", 19),
    ("Wool Socks", "accessories", 14),
    ("Water Bottle", "home", 22),
    ("Desk Lamp", "home", 49),
    ("Throw Blanket", "home", 69),
    ("Sunglasses", "accessories", 39),
)
_NEWS_SECTIONS = ("politics", "business", "tech", "science", "sports", "culture", "world", "opinion")
_NEWS_SUBJECTS = (
    "City council",
    "Central bank",
    "Researchers",
    "Startup",
    "Local team",
    "Museum",
    "Lawmakers",
    "Climate scientists",
    "Chipmaker",
    "Festival organisers",
    "Rail operator",
    "Health officials",
)
_NEWS_VERBS = (
    "unveils",
    "rejects",
    "backs",
    "delays",
    "expands",
    "questions",
    "wins",
    "warns about",
    "launches",
    "cuts",
)
_NEWS_OBJECTS = (
    "new budget plan",
    "record quarter",
    "housing reform",
    "AI guidelines",
    "stadium deal",
    "transit strike",
    "heat wave response",
    "vaccine study",
    "open data rules",
    "tax overhaul",
)
_CITIES = (
    "Kyoto",
    "Lisbon",
    "Vancouver",
    "Cape Town",
    "Reykjavik",
    "Hanoi",
    "Porto",
    "Oaxaca",
    "Seoul",
    "Edinburgh",
    "Marrakesh",
    "Queenstown",
    "Bergen",
    "Cusco",
    "Tbilisi",
    "Hobart",
)
_TRAVEL_TOPICS = ("things to do", "where to stay", "food guide", "day trips", "on a budget")
_BLOG_HOWTO = (
    "bake sourdough",
    "start running",
    "grow tomatoes",
    "declutter your flat",
    "learn to sketch",
    "brew cold coffee",
    "plan a capsule wardrobe",
    "fix a bike puncture",
    "meal prep for a week",
    "keep a journal",
    "pickle vegetables",
    "care for houseplants",
)
_DOC_SECTIONS = ("getting-started", "guides", "api", "sdks", "integrations", "reference")
_DOC_TOPICS = (
    "authentication",
    "webhooks",
    "rate limits",
    "pagination",
    "errors",
    "events",
    "exports",
    "python sdk",
    "javascript sdk",
    "go sdk",
    "single sign-on",
    "audit logs",
    "data retention",
    "custom domains",
    "migrations",
)
_SAAS_FEATURES = (
    "pipelines",
    "dashboards",
    "automations",
    "reporting",
    "forecasting",
    "inbox",
    "calendar",
    "permissions",
    "mobile app",
    "integrations",
)
_SAAS_TOOLS = ("slack", "google-sheets", "salesforce", "hubspot", "zapier", "github", "jira", "notion")


def build_catalogue(
    *, kind: str, domain: str, site_name: str, fx: float, decimals: int, rng: np.random.Generator
) -> Catalogue:
    """The page catalogue and products of a site of ``kind``, in its currency."""
    pages: list[tuple[str, str]] = [("/", "Home")]
    products: list[Product] = []

    def price(usd: float) -> float:
        value = round(usd * fx, decimals)
        return float(value) if decimals else float(round(value, -1))

    if kind == "shop":
        funnel = [
            ("/cart", "Your cart"),
            ("/checkout", "Checkout"),
            ("/checkout/confirmation", "Order confirmed"),
        ]
        pages += [
            ("/search", "Search"),
            ("/account", "Your account"),
            ("/shipping", "Shipping & returns"),
            ("/about", "About us"),
            ("/contact", "Contact"),
        ]
        categories = sorted({cat for _, cat, _ in _SHOP_ITEMS})
        pages += [(f"/c/{cat}", cat.title()) for cat in categories]
        for adjective in _SHOP_ADJ:
            for item, category, base in _SHOP_ITEMS:
                name = f"{adjective} {item}"
                sku = f"{adjective[:3]}-{item[:4]}".upper().replace(" ", "")
                products.append(Product(sku, name, category, price(base * (0.8 + 0.5 * rng.random()))))
                pages.append((f"/p/{_slug(name)}", name))
    elif kind == "news":
        funnel = [
            ("/subscribe", "Subscribe"),
            ("/subscribe/checkout", "Checkout"),
            ("/subscribe/confirmation", "Welcome, subscriber"),
        ]
        pages += [("/newsletter", "Newsletters"), ("/about", "About us"), ("/search", "Search")]
        pages += [(f"/{section}", section.title()) for section in _NEWS_SECTIONS]
        for i in range(240):
            headline = (
                f"{_NEWS_SUBJECTS[i % len(_NEWS_SUBJECTS)]} {_NEWS_VERBS[(i * 7) % len(_NEWS_VERBS)]} "
                f"{_NEWS_OBJECTS[(i * 3) % len(_NEWS_OBJECTS)]}"
            )
            section = _NEWS_SECTIONS[(i * 5) % len(_NEWS_SECTIONS)]
            pages.append((f"/{section}/2026/{_slug(headline)}-{1000 + i}", headline))
        products += [
            Product("SUB-M", "Digital subscription (monthly)", "subscription", price(9.99)),
            Product("SUB-Y", "Digital subscription (yearly)", "subscription", price(99)),
        ]
    elif kind == "travel":
        funnel = [
            ("/booking", "Your booking"),
            ("/booking/payment", "Payment"),
            ("/booking/confirmation", "Booking confirmed"),
        ]
        pages += [("/deals", "Deals"), ("/search", "Search")]
        for city in _CITIES:
            pages.append((f"/destinations/{_slug(city)}", f"{city} travel guide"))
            for topic in _TRAVEL_TOPICS:
                pages.append((f"/guides/{_slug(city)}-{_slug(topic)}", f"{city}: {topic}"))
            for n, style in enumerate(("Boutique", "Harbour", "Garden", "Old Town")):
                name = f"{style} Hotel {city}"
                products.append(
                    Product(
                        f"HTL-{_slug(city)[:4].upper()}{n}", name, "hotel", price(80 + 240 * rng.random())
                    )
                )
                pages.append((f"/hotels/{_slug(city)}/{_slug(name)}", name))
    elif kind == "blog":
        funnel = [("/shop", "Shop"), ("/shop/checkout", "Checkout"), ("/shop/thank-you", "Thank you")]
        pages += [("/about", "About"), ("/newsletter", "Newsletter"), ("/archive", "Archive")]
        for i, howto in enumerate(_BLOG_HOWTO):
            pages.append((f"/posts/how-to-{_slug(howto)}", f"How to {howto}"))
            pages.append((f"/posts/{5 + i % 6}-tips-to-{_slug(howto)}", f"{5 + i % 6} tips to {howto}"))
            pages.append((f"/posts/{_slug(howto)}-mistakes", f"Mistakes I made trying to {howto}"))
        products += [
            Product("EBOOK-1", "The Slow Living Handbook (ebook)", "ebook", price(19)),
            Product("COURSE-1", "Online course: Start Running", "course", price(49)),
        ]
    else:  # docs, saas
        funnel = [("/pricing", "Pricing"), ("/signup", "Create your account"), ("/signup/welcome", "Welcome")]
        if kind == "docs":
            pages += [("/docs", "Documentation"), ("/changelog", "Changelog"), ("/status", "Status")]
            for section in _DOC_SECTIONS:
                pages.append((f"/docs/{section}", section.replace("-", " ").title()))
                for topic in _DOC_TOPICS:
                    pages.append((f"/docs/{section}/{_slug(topic)}", f"{topic.capitalize()} · {section}"))
        else:
            pages += [
                ("/features", "Features"),
                ("/customers", "Customers"),
                ("/blog", "Blog"),
                ("/contact-sales", "Talk to sales"),
            ]
            pages += [(f"/features/{_slug(f)}", f"{f.capitalize()}") for f in _SAAS_FEATURES]
            pages += [
                (f"/integrations/{tool}", f"{tool.replace('-', ' ').title()} integration")
                for tool in _SAAS_TOOLS
            ]
            for i, feature in enumerate(_SAAS_FEATURES * 3):
                pages.append(
                    (f"/blog/{_slug(feature)}-playbook-{i}", f"The {feature} playbook, part {1 + i // 10}")
                )
        products += [
            Product("PLAN-STARTER", "Starter plan", "plan", price(19)),
            Product("PLAN-TEAM", "Team plan", "plan", price(49)),
            Product("PLAN-BUSINESS", "Business plan", "plan", price(199)),
        ]

    # Rank: home first, then a site-specific shuffle; the funnel pages go last with no
    # browse weight (the first funnel page stays browsable: carts and pricing get views).
    head, rest = pages[:1], pages[1:]
    order = rng.permutation(len(rest))
    ranked = head + [rest[i] for i in order.tolist()] + funnel
    n = len(ranked)
    browse = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** BROWSE_ZIPF_S
    crawl = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** CRAWL_ZIPF_S
    browse[n - 2 :] = 0.0
    crawl[n - 2 :] = 0.0
    paths = tuple(path for path, _ in ranked)
    return Catalogue(
        paths=paths,
        titles=tuple(f"{title} | {site_name}" for _, title in ranked),
        urls=tuple(f"https://{domain}{path}" for path in paths),
        checkout=n - 2,
        confirmation=n - 1,
        products=tuple(products),
        browse_cdf=np.cumsum(browse) / browse.sum(),
        crawl_cdf=np.cumsum(crawl) / crawl.sum(),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
