"""Web-server and CDN access logs (Combined Log Format) as raw events.

Every line becomes one raw row: a parsed line becomes an event (``pageview`` for a
page, ``asset`` for a static file, ``request`` for anything else), and a line that
cannot be parsed goes to the quarantine with its text. The visitor id is left empty
here, so enrichment computes the cookieless one: a keyed hash of (site, IP, user
agent, day), as Plausible does.

Accepted: Combined (``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"``),
Common (without referrer and user agent), and vhost_combined (``%v:%p`` first).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping

from beaconhouse.events.contract import Context, Event, Page
from beaconhouse.ingest.events_builder import EventBatch, Lineage, to_epoch_ms
from beaconhouse.ingest.quarantine import Reason

_LINE = re.compile(
    r"^(?:(?P<vhost>[A-Za-z0-9.-]+)(?::\d+)? )?"
    r"(?P<ip>[0-9A-Fa-f:.]+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<size>\d+|-)'
    r'(?: "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<ua>(?:[^"\\]|\\.)*)")?\s*$'
)
_REQUEST = re.compile(r"^(?P<method>[A-Z]+) (?P<target>\S+)(?: (?P<protocol>HTTP/[0-9.]+))?$")
ASSET_EXTENSIONS = frozenset(
    [
        "css",
        "js",
        "mjs",
        "map",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "avif",
        "ico",
        "bmp",
        "woff",
        "woff2",
        "ttf",
        "otf",
        "eot",
        "mp4",
        "webm",
        "mp3",
        "wav",
        "ogg",
        "pdf",
        "zip",
        "gz",
        "txt",
        "xml",
        "json",
        "wasm",
    ]
)
PAGE_EXTENSIONS = frozenset({"", "html", "htm", "php", "asp", "aspx", "jsp", "shtml"})


@functools.lru_cache(maxsize=65_536)
def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")


def classify(method: str, target: str, status: int) -> str:
    """``pageview``, ``asset`` or ``request`` for one HTTP request."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    last = path.rsplit("/", 1)[-1]
    extension = last.rsplit(".", 1)[1].lower() if "." in last else ""
    if method not in ("GET", "HEAD") or status >= 400:
        return "request"
    if extension in ASSET_EXTENSIONS:
        return "asset"
    if extension in PAGE_EXTENSIONS and method == "GET":
        return "pageview"
    return "request"


def _unescape(value: str | None) -> str:
    if not value or value == "-":
        return ""
    return value.replace('\\"', '"').replace("\\\\", "\\")


def add_access_log(
    batch: EventBatch,
    data: bytes,
    lineage: Lineage,
    site_of_file: int | None,
    site_by_domain: Mapping[str, int],
    domain_of: Mapping[int, str],
) -> None:
    """Parse every line of an access log into ``batch``."""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        batch.payloads += 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            batch.rejections_add(
                Reason.INVALID_UTF8, f"line is not UTF-8 (byte {exc.start})", raw, number, lineage
            )
            continue
        match = _LINE.match(line)
        request = _REQUEST.match(match["request"]) if match else None
        if match is None:
            batch.rejections_add(
                Reason.MALFORMED_LOG_LINE, "not a Common/Combined Log Format line", raw, number, lineage
            )
            continue
        try:
            when = _parse_time(match["time"])
        except ValueError:
            batch.rejections_add(
                Reason.MALFORMED_LOG_LINE, f"bad time [{match['time']}]", raw, number, lineage
            )
            continue
        vhost = (match["vhost"] or "").lower()
        website_id = site_by_domain.get(vhost) if vhost else site_of_file
        if website_id is None:
            detail = f"no site has domain {vhost!r}" if vhost else "cannot tell the site of this log file"
            batch.rejections_add(Reason.UNKNOWN_WEBSITE, detail, raw, number, lineage)
            continue
        status = int(match["status"])
        if request is not None:
            method, target, protocol = request["method"], request["target"], request["protocol"] or ""
        else:  # e.g. "-" for a connection closed before any request
            method, target, protocol = "", "/", ""
        if not target.startswith("/"):
            target = "/" + target.split("://", 1)[-1].split("/", 1)[-1] if "://" in target else "/" + target
        properties = {
            "http_method": method,
            "http_status": str(status),
            "http_protocol": protocol,
            "response_bytes": match["size"] if match["size"] != "-" else "0",
        }
        event = Event(
            type=classify(method, target, status),  # type: ignore[arg-type]  # log rows widen the types
            ts=when,
            website_id=website_id,
            page=Page(url=f"https://{domain_of[website_id]}{target}", referrer=_unescape(match["referrer"])),
            context=Context(user_agent=_unescape(match["ua"]), ip=match["ip"]),
            properties=properties,
        )
        batch.add_event(event, raw, lineage, number, to_epoch_ms(when))
