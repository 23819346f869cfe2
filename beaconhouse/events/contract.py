"""The event contract, version 1: what one tracked event looks like on the wire.

The contract is defined once, as msgspec Structs. msgspec decodes and validates a
payload in C in one pass, and its errors name the failing path (``$.page.url``). The
JSON Schema in ``schemas/event.v1.schema.json`` is generated from these Structs
(``beaconhouse events schema``); ``tests/unit/test_contract.py`` keeps the two identical.

A payload (one JSON line, one HTTP body) is one event object, or an array of up to
:data:`MAX_EVENTS_PER_PAYLOAD` of them, as the SDK batches them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

SCHEMA_VERSION = 1
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_EVENTS_PER_PAYLOAD = 20
EVENT_TYPES = ("pageview", "event", "transaction")

ShortText = Annotated[str, Meta(max_length=256)]
Text = Annotated[str, Meta(max_length=2048)]
Url = Annotated[str, Meta(max_length=8192)]
Identifier = Annotated[str, Meta(min_length=1, max_length=128)]
WebsiteId = Annotated[int, Meta(ge=1, le=4_294_967_295)]
Pixels = Annotated[int, Meta(ge=0, le=65_535)]
Money = Annotated[float, Meta(ge=-1e12, le=1e12)]
Quantity = Annotated[int, Meta(ge=0, le=1_000_000)]
Currency = Annotated[str, Meta(pattern="^[A-Z]{3}$")]
#: RFC 3339 with an offset (``2026-01-01T10:00:00.123Z``) or epoch milliseconds.
Timestamp = dt.datetime | Annotated[int, Meta(ge=0, le=32_503_680_000_000)]


class _Object(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Unknown fields are contract violations: extra data belongs in ``properties``."""


class Page(_Object):
    """The page the event happened on."""

    url: Url | None = None
    title: Text = ""
    referrer: Url = ""


class Screen(_Object):
    width: Pixels = 0
    height: Pixels = 0


class Context(_Object):
    """What the client and the collector know about the visitor's device."""

    user_agent: Text = ""
    #: the client IP as the collector saw it; anonymised before storage per site
    ip: ShortText = ""
    screen: Screen | None = None
    language: ShortText = ""


class Action(_Object):
    """A custom event: category / action / label / value, as in classic analytics."""

    action: ShortText
    category: ShortText = ""
    label: Text = ""
    value: float | None = None


class Item(_Object):
    sku: ShortText
    name: Text = ""
    category: ShortText = ""
    price: Money = 0.0
    quantity: Quantity = 1


class Ecommerce(_Object):
    """A completed transaction: totals, and the line items."""

    transaction_id: Identifier
    revenue: Money
    currency: Currency = "USD"
    tax: Money | None = None
    shipping: Money | None = None
    items: Annotated[list[Item], Meta(max_length=500)] = []


class Event(_Object):
    """One tracked event (contract version 1)."""

    type: Literal["pageview", "event", "transaction"]
    #: client time of the event
    ts: Timestamp
    v: Literal[1] = 1
    #: client-generated id; the loader derives a deterministic one when absent
    event_id: uuid.UUID | None = None
    #: the site, by its public key or its numeric id (one of the two is required)
    tracking_id: ShortText | None = None
    website_id: WebsiteId | None = None
    #: the client's anonymous visitor id (cookie/local storage); cookieless when absent
    visitor_id: Identifier | None = None
    session_id: Identifier | None = None
    user_id: Identifier | None = None
    #: when the collector received it (server time); the load time when absent
    received_at: Timestamp | None = None
    page: Page | None = None
    context: Context | None = None
    event: Action | None = None
    ecommerce: Ecommerce | None = None
    dimensions: Annotated[dict[ShortText, Text], Meta(max_length=100)] = {}
    metrics: Annotated[dict[ShortText, float], Meta(max_length=100)] = {}
    properties: Annotated[dict[ShortText, Any], Meta(max_length=200)] = {}


EVENT_DECODER = msgspec.json.Decoder(Event)


def json_schema() -> dict[str, Any]:
    """The contract as JSON Schema (draft 2020-12), with a payload wrapper."""
    schema: dict[str, Any] = msgspec.json.schema(Event)
    defs = schema.pop("$defs")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://beaconhouse.dev/schemas/event.v1.schema.json",
        "title": "beaconhouse event payload, contract version 1",
        "description": (
            "One event object, or an array of 1 to "
            f"{MAX_EVENTS_PER_PAYLOAD} of them. A payload is at most {MAX_PAYLOAD_BYTES} bytes of UTF-8. "
            "Semantic rules beyond this schema: tracking_id or website_id is required; a pageview "
            "needs page.url (http or https); an event needs event; a transaction needs ecommerce; "
            "timestamps need a UTC offset and must lie within the allowed skew of received_at."
        ),
        "oneOf": [
            {"$ref": "#/$defs/Event"},
            {
                "type": "array",
                "items": {"$ref": "#/$defs/Event"},
                "minItems": 1,
                "maxItems": MAX_EVENTS_PER_PAYLOAD,
            },
        ],
        "$defs": defs,
    }
