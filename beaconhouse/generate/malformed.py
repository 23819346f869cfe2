"""Malformed payloads: what broken clients, proxies and misconfigured sites send.

A malformed payload replaces one event's payload (the event is lost, as it would be).
Each has a *kind* and the quarantine *reason* a loader should give it (the codes of
``raw.events_quarantine.reason``). The kinds in :data:`UNDECODABLE` fail to decode with
the event contract's decoder; the others decode but break a semantic rule of the
contract (see ``docs/generator.md``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from beaconhouse.events.contract import MAX_PAYLOAD_BYTES
from beaconhouse.ingest.quarantine import Reason

#: kind -> the quarantine reason the loader gives it (beaconhouse.ingest.quarantine)
KINDS: dict[str, str] = {
    "truncated_json": Reason.MALFORMED_JSON,
    "not_json": Reason.MALFORMED_JSON,
    "invalid_utf8": Reason.INVALID_UTF8,
    "wrong_type": Reason.WRONG_TYPE,
    "missing_field": Reason.MISSING_FIELD,
    "unknown_field": Reason.UNKNOWN_FIELD,
    "invalid_event_id": Reason.INVALID_VALUE,
    "out_of_range_value": Reason.INVALID_VALUE,
    "missing_site": Reason.MISSING_FIELD,
    "pageview_without_url": Reason.MISSING_FIELD,
    "unknown_website": Reason.UNKNOWN_WEBSITE,
    "future_timestamp": Reason.TIMESTAMP_IN_FUTURE,
    "oversize": Reason.PAYLOAD_TOO_LARGE,
    "empty_array": Reason.EMPTY_BATCH,
}
#: (kind, variant) whose reason differs from the kind's
VARIANT_REASONS: dict[tuple[str, str], str] = {
    ("wrong_type", "ts has the wrong type"): Reason.INVALID_VALUE,  # a string, but not RFC 3339
    ("out_of_range_value", "v"): Reason.UNSUPPORTED_VERSION,
}
#: kinds that fail to decode with ``EVENT_DECODER`` (or as UTF-8)
UNDECODABLE = frozenset(
    {
        "truncated_json",
        "not_json",
        "invalid_utf8",
        "wrong_type",
        "missing_field",
        "unknown_field",
        "invalid_event_id",
        "out_of_range_value",
    }
)
#: ``website_id`` values of the ``unknown_website`` kind start here; no real site uses them
UNKNOWN_WEBSITE_BASE = 4_290_000_000


@dataclass(frozen=True, slots=True)
class Malformed:
    kind: str
    reason: str
    #: which variant of the kind (e.g. which field has the wrong type)
    detail: str
    line: bytes


class MalformedFactory:
    """Turns events into malformed payloads, cycling through every kind in turn.

    The kinds come in shuffled rounds, so any run with at least ``len(KINDS)``
    malformed payloads has every kind.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._round: list[str] = []

    def next_kind(self) -> str:
        if not self._round:
            self._round = [list(KINDS)[i] for i in self.rng.permutation(len(KINDS)).tolist()]
        return self._round.pop()

    def make(self, event: dict[str, Any], encoded: bytes, received_at: str) -> Malformed:
        """A malformed payload made from ``event`` (as a dict) and its JSON bytes."""
        kind = self.next_kind()
        detail, line = _MUTATIONS[kind](self.rng, dict(event), encoded, received_at)
        if kind == "oversize":
            assert len(line) > MAX_PAYLOAD_BYTES
        reason = VARIANT_REASONS.get((kind, detail), KINDS[kind])
        return Malformed(kind, str(reason), detail, line)


Mutation = Callable[[np.random.Generator, dict[str, Any], bytes, str], tuple[str, bytes]]


def _choice(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _truncated_json(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    cut = int(rng.integers(1, len(encoded) - 1))
    return f"cut at byte {cut} of {len(encoded)}", encoded[:cut]


def _not_json(rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str) -> tuple[str, bytes]:
    variant = _choice(rng, ["html", "form", "undefined"])
    if variant == "html":
        return (
            variant,
            b"<html><head><title>502 Bad Gateway</title></head>"
            b"<body><center><h1>502 Bad Gateway</h1></center></body></html>",
        )
    if variant == "form":
        url = (event.get("page") or {}).get("url", "")
        return variant, f"type={event['type']}&url={url}&ts={event['ts']}".encode()
    return variant, b"undefined"


def _invalid_utf8(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    # a lone byte, a bad continuation byte, a UTF-16 surrogate encoded as UTF-8
    junk = [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80"][int(rng.integers(3))]
    for anchor in (b'"title":"', b'"visitor_id":"'):
        if anchor in encoded:
            return f"bytes {junk.hex()} in {anchor.decode()[1:-3]}", encoded.replace(anchor, anchor + junk, 1)
    return f"bytes {junk.hex()} first", junk + encoded


def _wrong_type(rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str) -> tuple[str, bytes]:
    variant = _choice(rng, ["ts", "type", "visitor_id"])
    if variant == "ts":
        event["ts"] = "yesterday at noon"
    elif variant == "type":
        event["type"] = 1
    else:
        event["visitor_id"] = 1234567890
    return f"{variant} has the wrong type", orjson.dumps(event)


def _missing_field(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    field = _choice(rng, ["type", "ts"])
    del event[field]
    return f"no {field}", orjson.dumps(event)


def _unknown_field(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    variant = _choice(rng, ["userAgent", "campaign", "eventName"])
    event[variant] = {"userAgent": "Mozilla/5.0", "campaign": {"name": "spring"}, "eventName": "page_view"}[
        variant
    ]
    return f"unknown top-level field {variant}", orjson.dumps(event)


def _invalid_event_id(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    event["event_id"] = _choice(rng, ["evt_" + rng.bytes(6).hex(), "", "12345"])
    return f"event_id {event['event_id']!r}", orjson.dumps(event)


def _out_of_range(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    variant = _choice(rng, ["v", "website_id", "long_url"])
    if variant == "v":
        event["v"] = 2
    elif variant == "website_id":
        event["website_id"] = 0
    else:
        page = dict(event.get("page") or {})
        page["url"] = f"https://{event.get('tracking_id', 'site')}.invalid/?q=" + "a" * 9000
        event["page"] = page
    return variant, orjson.dumps(event)


def _missing_site(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    event.pop("tracking_id", None)
    event.pop("website_id", None)
    return "neither tracking_id nor website_id", orjson.dumps(event)


def _pageview_without_url(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    event["type"] = "pageview"
    page = dict(event.get("page") or {})
    page.pop("url", None)
    event["page"] = page
    for key in ("event", "ecommerce"):
        event.pop(key, None)
    return "pageview without page.url", orjson.dumps(event)


def _unknown_website(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    number = UNKNOWN_WEBSITE_BASE + int(rng.integers(1_000_000))
    if "website_id" in event or rng.random() < 0.5:
        event["website_id"] = number
        event.pop("tracking_id", None)
        return f"website_id {number}", orjson.dumps(event)
    event["tracking_id"] = f"BH-{number}"
    return f"tracking_id BH-{number}", orjson.dumps(event)


def _future_timestamp(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, received_at: str
) -> tuple[str, bytes]:
    years = int(rng.integers(2, 9))
    received = dt.datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    future = received + dt.timedelta(days=365 * years + int(rng.integers(0, 365)))
    event["ts"] = future.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"ts about {years} years after received_at", orjson.dumps(event)


def _oversize(rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str) -> tuple[str, bytes]:
    row = '<div class="row"><span class="cell">' + rng.bytes(12).hex() + "</span></div>"
    blob = row * (MAX_PAYLOAD_BYTES // len(row) + 1 + int(rng.integers(10, 200)))
    properties = dict(event.get("properties") or {})
    properties["dom_snapshot"] = blob
    event["properties"] = properties
    line = orjson.dumps(event)
    return f"{len(line)} bytes", line


def _empty_array(
    rng: np.random.Generator, event: dict[str, Any], encoded: bytes, _: str
) -> tuple[str, bytes]:
    return "[]", b"[]"


_MUTATIONS: dict[str, Mutation] = {
    "truncated_json": _truncated_json,
    "not_json": _not_json,
    "invalid_utf8": _invalid_utf8,
    "wrong_type": _wrong_type,
    "missing_field": _missing_field,
    "unknown_field": _unknown_field,
    "invalid_event_id": _invalid_event_id,
    "out_of_range_value": _out_of_range,
    "missing_site": _missing_site,
    "pageview_without_url": _pageview_without_url,
    "unknown_website": _unknown_website,
    "future_timestamp": _future_timestamp,
    "oversize": _oversize,
    "empty_array": _empty_array,
}
assert set(_MUTATIONS) == set(KINDS)
