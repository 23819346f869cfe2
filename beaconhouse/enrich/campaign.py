"""Split page and referrer URLs: host, path, query, UTM parameters and click ids.

Parsing is lenient, because URLs come from browsers and from whatever sites link to
us: a missing scheme, a bad percent-escape, ``&amp;`` from an HTML email, a key
without ``=`` or in upper case all still yield what can be read. Nothing here raises.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import SplitResult, unquote_plus, urlsplit

import pyarrow as pa

from beaconhouse.enrich.distinct import ArrayLike, LruCache, map_distinct
from beaconhouse.enrich.source_categories import CLICK_ID_PARAMS, CLICK_ID_SOURCES

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CLICK_IDS_TYPE = pa.map_(pa.string(), pa.string())
#: output columns of :func:`parse_page_urls`; ``paid_click_id`` is not a raw.events
#: column: it is the winning click id that implies a paid source ('' if none).
PAGE_COLUMNS = ("page_host", "page_path", "page_query", *UTM_FIELDS, "click_ids", "paid_click_id")
_PAGE_TYPES = [pa.string()] * 8 + [CLICK_IDS_TYPE, pa.string()]
_TRACKED = frozenset((*UTM_FIELDS, *CLICK_ID_PARAMS))


class PageUrl(NamedTuple):
    """A page URL split into the parts raw.events stores."""

    host: str
    path: str
    query: str
    utm: tuple[str, str, str, str, str]
    click_ids: tuple[tuple[str, str], ...]
    paid_click_id: str


_EMPTY_PAGE = PageUrl("", "", "", ("", "", "", "", ""), (), "")


def _split(url: str) -> SplitResult | None:
    text = url.strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        if not parts.netloc and not parts.scheme and not text.startswith("/"):
            # "example.com/page?x=1": a host without a scheme, not a relative path.
            first = text.split("/", 1)[0]
            if "." in first and " " not in first:
                parts = urlsplit("//" + text)
        parts.hostname  # noqa: B018  (raises ValueError for a malformed [IPv6] host)
    except ValueError:
        return None
    return parts


def _host(parts: SplitResult) -> str:
    try:
        host = parts.hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def url_host(url: str | None) -> str:
    """The lower-case host of a URL (no port, no trailing dot), or '' if it has none."""
    parts = _split(url or "")
    return _host(parts) if parts else ""


def parse_query(query: str) -> dict[str, str]:
    """The UTM and click-id parameters of a query string, by lower-case name.

    The first non-empty occurrence of a name wins; values are percent-decoded (``+`` is a
    space, invalid UTF-8 becomes U+FFFD) and stripped. ``&amp;`` separators, left by
    HTML that was not unescaped, are read as ``&``.
    """
    found: dict[str, str] = {}
    # What parse_qsl does, but percent-decoding only the pairs we keep: a landing
    # page's query is mostly other parameters.
    for pair in query.split("&"):
        raw_name, _, value = pair.partition("=")
        if "%" in raw_name or "+" in raw_name:
            raw_name = unquote_plus(raw_name, errors="replace")
        name = raw_name.strip().lower()
        if name.startswith("amp;"):
            name = name[4:]
        if name not in _TRACKED or name in found:
            continue
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="replace")
        value = value.strip()
        if value:
            found[name] = value
    return found


def parse_page_url(url: str | None) -> PageUrl:
    """Host, path, query, UTM parameters and click ids of one page URL."""
    parts = _split(url or "")
    if parts is None:
        return _EMPTY_PAGE
    host = _host(parts)
    params = parse_query(parts.query)
    click_ids = tuple((name, params[name]) for name in CLICK_ID_PARAMS if params.get(name))
    paid = next((name for name, _ in click_ids if CLICK_ID_SOURCES[name] is not None), "")
    return PageUrl(
        host=host,
        # The path as sent (still percent-encoded): decoding could turn %2F or %3F into
        # characters that change what the path means.
        path=parts.path or ("/" if host else ""),
        query=parts.query,
        utm=(
            params.get("utm_source", ""),
            params.get("utm_medium", ""),
            params.get("utm_campaign", ""),
            params.get("utm_term", ""),
            params.get("utm_content", ""),
        ),
        click_ids=click_ids,
        paid_click_id=paid,
    )


def _page_row(url: str | None) -> tuple[object, ...]:
    page = parse_page_url(url)
    return (page.host, page.path, page.query, *page.utm, list(page.click_ids), page.paid_click_id)


def parse_page_urls(urls: ArrayLike, cache: LruCache[Any, Any] | None = None) -> dict[str, pa.Array]:
    """The :data:`PAGE_COLUMNS` for a string array, parsing each distinct URL once
    (and, with ``cache``, only URLs not seen in earlier batches)."""
    return dict(zip(PAGE_COLUMNS, map_distinct(urls, _page_row, _PAGE_TYPES, cache=cache), strict=True))


def url_hosts(urls: ArrayLike, cache: LruCache[Any, Any] | None = None) -> pa.Array:
    """:func:`url_host` of each URL (each distinct URL once)."""
    (hosts,) = map_distinct(urls, lambda url: (url_host(url),), [pa.string()], cache=cache)
    return hosts
