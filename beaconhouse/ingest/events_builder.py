"""Turn payloads into columns of raw events, or into rejections with a reason.

One pass per payload: decode and validate against the contract (msgspec, in C), check
the rules a schema cannot express (a known site, sane timestamps, the fields each
event type needs), then append the event's values to plain column lists. The lists
become one Arrow table per batch, which enrichment and loading work on as columns.

A transaction becomes one ``transaction`` row with the totals and one
``transaction_item`` row per line item (see docs/schema.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.events.contract import (
    EVENT_DECODER,
    MAX_EVENTS_PER_PAYLOAD,
    MAX_PAYLOAD_BYTES,
    Event,
)
from beaconhouse.ingest.quarantine import Reason, Rejection, reason_from_validation_message

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
#: namespace for event ids derived from where a payload came from
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3f0e-8a43-4b4e-9d6c-2b7e4c0a9d51")
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_ENCODE = msgspec.json.encode

#: Where a row came from: the same columns in raw.events and raw.events_quarantine.
LINEAGE_FIELDS = [
    ("source_kind", pa.string()),
    ("kafka_topic", pa.string()),
    ("kafka_partition", pa.int32()),
    ("kafka_offset", pa.int64()),
    ("source_file", pa.string()),
    ("source_line", pa.uint64()),
]

#: Arrow schema of the columns this module produces (enrichment adds the rest).
BASE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("website_id", pa.uint32()),
        ("tracking_id", pa.string()),
        ("visitor_id", pa.string()),
        ("session_id", pa.string()),
        ("user_id", pa.string()),
        ("event_type", pa.string()),
        ("event_category", pa.string()),
        ("event_action", pa.string()),
        ("event_label", pa.string()),
        ("event_value", pa.float64()),
        ("client_ts", pa.timestamp("ms", tz="UTC")),
        ("server_ts", pa.timestamp("ms", tz="UTC")),
        ("page_url", pa.string()),
        ("page_title", pa.string()),
        ("referrer_url", pa.string()),
        ("user_agent", pa.string()),
        ("ip", pa.string()),
        ("screen_width", pa.uint16()),
        ("screen_height", pa.uint16()),
        ("language", pa.string()),
        ("transaction_id", pa.string()),
        ("revenue", pa.float64()),
        ("tax", pa.float64()),
        ("shipping", pa.float64()),
        ("currency", pa.string()),
        ("items_count", pa.uint32()),
        ("items_quantity", pa.uint32()),
        ("product_sku", pa.string()),
        ("product_name", pa.string()),
        ("product_category", pa.string()),
        ("product_price", pa.float64()),
        ("product_quantity", pa.uint32()),
        ("custom_dimensions", pa.map_(pa.string(), pa.string())),
        ("custom_metrics", pa.map_(pa.string(), pa.float64())),
        ("properties", pa.map_(pa.string(), pa.string())),
        *LINEAGE_FIELDS,
    ]
)
_COLUMNS = BASE_SCHEMA.names


@dataclass(frozen=True)
class SiteKeys:
    """How payloads name a site: by tracking id or by website id."""

    by_tracking_id: Mapping[str, int]
    tracking_id_of: Mapping[int, str]


@dataclass(frozen=True)
class TimeRules:
    """How far a client timestamp may stray from the collector's clock."""

    max_future_ms: int = 24 * 3600 * 1000
    max_age_ms: int = 30 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Lineage:
    """The source payloads come from: a file, or a Kafka topic partition.

    The position within it (line number, or offset) is given per payload.
    """

    source_kind: str
    source_file: str = ""
    kafka_topic: str = ""
    kafka_partition: int | None = None

    def key(self, position: int) -> str:
        """A stable name for one payload, to derive event ids from."""
        if self.source_kind == "kafka":
            return f"kafka/{self.kafka_topic}/{self.kafka_partition}/{position}"
        return f"file/{self.source_file}/{position}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def derived_event_id(lineage_key: str, index: int) -> str:
    """A deterministic event id for an event sent without one."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{lineage_key}#{index}"))


def to_epoch_ms(value: dt.datetime | int) -> int:
    if isinstance(value, int):
        return value
    return (value - _EPOCH) // _MS


# Columns every event fills: appended value by value on the hot path.
_DENSE = (
    "event_id",
    "website_id",
    "visitor_id",
    "session_id",
    "user_id",
    "event_type",
    "client_ts",
    "server_ts",
    "page_url",
    "page_title",
    "referrer_url",
    "user_agent",
    "ip",
    "screen_width",
    "screen_height",
    "language",
    "position",
)
# Columns few events fill: kept as (row, value) pairs and scattered at the end.
_SPARSE_DEFAULTS: dict[str, Any] = {
    "event_category": "",
    "event_action": "",
    "event_label": "",
    "event_value": None,
    "transaction_id": "",
    "revenue": None,
    "tax": None,
    "shipping": None,
    "currency": "",
    "items_count": 0,
    "items_quantity": 0,
    "product_sku": "",
    "product_name": "",
    "product_category": "",
    "product_price": None,
    "product_quantity": 0,
}
_MAPS = ("custom_dimensions", "custom_metrics", "properties")
_LINEAGE = ("source_kind", "kafka_topic", "kafka_partition", "source_file")


@dataclass
class EventBatch:
    """Column lists of accepted events, and the rejections, of one batch."""

    sites: SiteKeys
    time_rules: TimeRules = field(default_factory=TimeRules)
    rejections: list[Rejection] = field(default_factory=list)
    payloads: int = 0

    def __post_init__(self) -> None:
        self._dense: dict[str, list[Any]] = {name: [] for name in _DENSE}
        self._appenders = [self._dense[name].append for name in _DENSE]
        self._sparse: dict[str, tuple[list[int], list[Any]]] = {n: ([], []) for n in _SPARSE_DEFAULTS}
        self._maps: dict[str, tuple[list[int], list[Any]]] = {n: ([], []) for n in _MAPS}
        # (first row, lineage) runs: every row after `first row` shares that lineage
        self._lineage_runs: list[tuple[int, Lineage]] = []
        self._lineage: Lineage | None = None
        self._valid_ips: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self._dense["event_id"])

    # -- payloads -------------------------------------------------------------------
    def add_payload(self, payload: bytes, lineage: Lineage, position: int, received_ms: int) -> None:
        """Decode one payload (an event or an array of events) and keep what is valid.

        ``position`` is the payload's line number in its file or its Kafka offset;
        ``received_ms`` is the collector's time when the payload does not say.
        """
        self.payloads += 1
        self._lineage = lineage
        line = position
        if len(payload) > MAX_PAYLOAD_BYTES:
            self._reject(
                Reason.PAYLOAD_TOO_LARGE,
                f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit",
                payload,
                line,
            )
            return
        stripped = payload.strip()
        if not stripped:
            self._reject(Reason.EMPTY_PAYLOAD, "payload is empty", payload, line)
            return
        if stripped[:1] == b"[":
            try:
                items = _RAW_LIST.decode(stripped)
            except msgspec.DecodeError as exc:
                self._reject(Reason.MALFORMED_JSON, f"malformed JSON: {exc}", payload, line)
                return
            except msgspec.ValidationError as exc:
                self._reject(Reason.MALFORMED_JSON, f"malformed JSON array: {exc}", payload, line)
                return
            if not items:
                self._reject(Reason.EMPTY_BATCH, "payload is an empty array", payload, line)
                return
            if len(items) > MAX_EVENTS_PER_PAYLOAD:
                self._reject(
                    Reason.BATCH_TOO_LARGE,
                    f"payload batches {len(items)} events, over the limit of {MAX_EVENTS_PER_PAYLOAD}",
                    payload,
                    line,
                )
                return
            for index, item in enumerate(items):
                self._add_event(bytes(item), lineage, position, received_ms, index)
            return
        self._add_event(stripped, lineage, position, received_ms, 0)

    def rejections_add(
        self, reason: Reason, detail: str, raw: bytes, line: int | None, lineage: Lineage
    ) -> None:
        """Record an input rejected before it became an event (e.g. an unparseable log line)."""
        self._lineage = lineage
        self._reject(reason, detail, raw, line)

    def _reject(
        self,
        reason: Reason,
        detail: str,
        raw: bytes,
        line: int | None,
        website_id: int | None = None,
        event_id: str | None = None,
    ) -> None:
        # Every entry point records its lineage before it can reject anything.
        assert self._lineage is not None
        self.rejections.append(Rejection(reason, detail, raw, line, self._lineage, website_id, event_id))

    def _add_event(self, raw: bytes, lineage: Lineage, position: int, received_ms: int, index: int) -> None:
        try:
            event: Event = EVENT_DECODER.decode(raw)
        except msgspec.ValidationError as exc:
            # msgspec validates as it parses, so broken JSON can fail validation first
            # ({"x": ...truncated): tell the two apart before naming the reason.
            try:
                msgspec.json.decode(raw)
            except msgspec.DecodeError as syntax:
                self._reject(Reason.MALFORMED_JSON, f"malformed JSON: {syntax}", raw, position)
                return
            reason, detail = reason_from_validation_message(str(exc))
            self._reject(reason, detail, raw, position)
            return
        except msgspec.DecodeError as exc:
            self._reject(Reason.MALFORMED_JSON, f"malformed JSON: {exc}", raw, position)
            return
        self.add_event(event, raw, lineage, position, received_ms, index)

    def add_event(
        self, event: Event, raw: bytes, lineage: Lineage, position: int, received_ms: int, index: int = 0
    ) -> None:
        """Check a decoded event against the rules a schema cannot express; keep it or
        reject it. ``raw`` is what gets quarantined."""
        self._lineage = lineage
        line = position

        # -- the site ---------------------------------------------------------------
        sites = self.sites
        website_id = event.website_id
        if event.tracking_id is not None:
            by_key = sites.by_tracking_id.get(event.tracking_id)
            if by_key is None:
                self._reject(
                    Reason.UNKNOWN_WEBSITE, f"no site has tracking_id {event.tracking_id!r}", raw, line
                )
                return
            if website_id is not None and website_id != by_key:
                self._reject(
                    Reason.WEBSITE_MISMATCH,
                    f"tracking_id {event.tracking_id!r} is site {by_key}, not website_id {website_id}",
                    raw,
                    line,
                    by_key,
                )
                return
            website_id = by_key
        elif website_id is None:
            self._reject(
                Reason.MISSING_FIELD, "required field $.tracking_id (or $.website_id) is missing", raw, line
            )
            return
        elif website_id not in sites.tracking_id_of:
            self._reject(Reason.UNKNOWN_WEBSITE, f"no site has website_id {website_id}", raw, line)
            return
        event_id = str(event.event_id) if event.event_id is not None else None

        # -- time -----------------------------------------------------------------
        ts = event.ts
        if isinstance(ts, dt.datetime) and ts.tzinfo is None:
            self._reject(
                Reason.TIMESTAMP_WITHOUT_OFFSET,
                "$.ts has no UTC offset (RFC 3339 needs one)",
                raw,
                line,
                website_id,
                event_id,
            )
            return
        received = event.received_at
        if isinstance(received, dt.datetime) and received.tzinfo is None:
            self._reject(
                Reason.TIMESTAMP_WITHOUT_OFFSET,
                "$.received_at has no UTC offset",
                raw,
                line,
                website_id,
                event_id,
            )
            return
        client_ms = to_epoch_ms(ts)
        server_ms = to_epoch_ms(received) if received is not None else received_ms
        rules = self.time_rules
        if client_ms > server_ms + rules.max_future_ms:
            self._reject(
                Reason.TIMESTAMP_IN_FUTURE,
                f"$.ts is {(client_ms - server_ms) / 3.6e6:.1f} h after the collector's time",
                raw,
                line,
                website_id,
                event_id,
            )
            return
        if client_ms < server_ms - rules.max_age_ms:
            self._reject(
                Reason.TIMESTAMP_TOO_OLD,
                f"$.ts is {(server_ms - client_ms) / 8.64e7:.1f} days before the collector's time",
                raw,
                line,
                website_id,
                event_id,
            )
            return

        # -- what each type needs ------------------------------------------------------
        kind = event.type
        page = event.page
        page_url = page.url if page is not None and page.url is not None else ""
        if kind == "pageview" and not page_url:
            self._reject(Reason.MISSING_FIELD, "a pageview needs $.page.url", raw, line, website_id, event_id)
            return
        if page_url and not page_url.startswith(("https://", "http://")):
            self._reject(
                Reason.INVALID_URL,
                f"$.page.url is not an http(s) URL: {page_url[:100]!r}",
                raw,
                line,
                website_id,
                event_id,
            )
            return
        action = event.event
        if kind == "event" and action is None:
            self._reject(
                Reason.MISSING_FIELD,
                "an event of type 'event' needs $.event",
                raw,
                line,
                website_id,
                event_id,
            )
            return
        commerce = event.ecommerce
        if kind == "transaction" and commerce is None:
            self._reject(
                Reason.MISSING_FIELD, "a transaction needs $.ecommerce", raw, line, website_id, event_id
            )
            return
        context = event.context
        ip = context.ip if context is not None else ""
        if ip:
            # Visitors repeat their IPs: check each distinct one once.
            valid = self._valid_ips.get(ip)
            if valid is None:
                valid = _is_ip(ip)
                if len(self._valid_ips) < 1_000_000:
                    self._valid_ips[ip] = valid
            if not valid:
                self._reject(
                    Reason.INVALID_IP,
                    f"$.context.ip is not an IP address: {ip[:60]!r}",
                    raw,
                    line,
                    website_id,
                    event_id,
                )
                return

        if event_id is None:
            event_id = derived_event_id(lineage.key(position), index)
        self._append(event, event_id, website_id, kind, client_ms, server_ms, page_url, lineage, position)

    def _append(
        self,
        event: Event,
        event_id: str,
        website_id: int,
        kind: str,
        client_ms: int,
        server_ms: int,
        page_url: str,
        lineage: Lineage,
        position: int,
    ) -> None:
        d = self._dense
        row = len(d["event_id"])
        runs = self._lineage_runs
        if not runs or (runs[-1][1] is not lineage and runs[-1][1] != lineage):
            runs.append((row, lineage))
        page = event.page
        context = event.context
        screen = context.screen if context is not None else None
        values = (
            event_id,
            website_id,
            event.visitor_id,
            event.session_id or "",
            event.user_id,
            kind,
            client_ms,
            server_ms,
            page_url,
            page.title if page is not None else "",
            page.referrer if page is not None else "",
            context.user_agent if context is not None else "",
            context.ip if context is not None else "",
            screen.width if screen is not None else 0,
            screen.height if screen is not None else 0,
            context.language if context is not None else "",
            position,
        )
        for append, value in zip(self._appenders, values):  # noqa: B905 - same length by construction
            append(value)
        if event.dimensions:
            self._put_map("custom_dimensions", row, list(event.dimensions.items()))
        if event.metrics:
            self._put_map("custom_metrics", row, list(event.metrics.items()))
        if event.properties:
            self._put_map(
                "properties",
                row,
                [(k, v if isinstance(v, str) else _ENCODE(v).decode()) for k, v in event.properties.items()],
            )
        action = event.event
        if action is not None:
            self._put(
                row,
                event_category=action.category,
                event_action=action.action,
                event_label=action.label,
                event_value=action.value,
            )
        commerce = event.ecommerce
        if commerce is None:
            return
        self._put(
            row,
            transaction_id=commerce.transaction_id,
            revenue=commerce.revenue,
            tax=commerce.tax,
            shipping=commerce.shipping,
            currency=commerce.currency,
            items_count=len(commerce.items),
            items_quantity=sum(i.quantity for i in commerce.items),
        )
        for position, item in enumerate(commerce.items):
            item_row = len(d["event_id"])
            item_values = list(values)
            item_values[0] = str(uuid.uuid5(uuid.UUID(event_id), f"item/{position}"))
            item_values[5] = "transaction_item"
            for name, value in zip(_DENSE, item_values, strict=True):
                d[name].append(value)
            for name in _MAPS:
                rows, maps = self._maps[name]
                if rows and rows[-1] == row:
                    self._put_map(name, item_row, maps[-1])
            self._put(
                item_row,
                transaction_id=commerce.transaction_id,
                currency=commerce.currency,
                product_sku=item.sku,
                product_name=item.name,
                product_category=item.category,
                product_price=item.price,
                product_quantity=item.quantity,
            )

    def _put(self, row: int, **values: Any) -> None:
        for name, value in values.items():
            rows, column = self._sparse[name]
            rows.append(row)
            column.append(value)

    def _put_map(self, name: str, row: int, pairs: list[tuple[str, Any]]) -> None:
        rows, maps = self._maps[name]
        rows.append(row)
        maps.append(pairs)

    # -- output ---------------------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        """The accepted events as an Arrow table with :data:`BASE_SCHEMA`."""
        n = len(self)
        arrays: dict[str, pa.Array] = {}
        for name in _DENSE[:-1]:
            arrays[name] = pa.array(self._dense[name], type=BASE_SCHEMA.field(name).type)
        # The position is a line number for files and an offset for Kafka.
        kafka = bool(self._lineage_runs) and self._lineage_runs[0][1].source_kind == "kafka"
        position = pa.array(self._dense["position"], type=pa.int64())
        arrays["source_line"] = pa.nulls(n, pa.uint64()) if kafka else position.cast(pa.uint64())
        arrays["kafka_offset"] = position if kafka else pa.nulls(n, pa.int64())
        arrays["tracking_id"] = _tracking_ids(arrays["website_id"], self.sites)
        for name, default in _SPARSE_DEFAULTS.items():
            rows, values = self._sparse[name]
            arrays[name] = _scatter(n, rows, values, default, BASE_SCHEMA.field(name).type)
        for name in _MAPS:
            rows, maps = self._maps[name]
            arrays[name] = _scatter_maps(n, rows, maps, BASE_SCHEMA.field(name).type)
        arrays.update(_expand_lineage(n, self._lineage_runs))
        return pa.table([arrays[f.name] for f in BASE_SCHEMA], schema=BASE_SCHEMA)


def _scatter(n: int, rows: list[int], values: list[Any], default: Any, type_: pa.DataType) -> pa.Array:
    """An array of ``n`` defaults with ``values`` at ``rows``."""
    column: list[Any] = [default] * n
    for row, value in zip(rows, values, strict=True):
        column[row] = value
    return pa.array(column, type=type_)


def _scatter_maps(n: int, rows: list[int], maps: list[list[tuple[str, Any]]], type_: pa.MapType) -> pa.Array:
    counts = np.zeros(n, dtype=np.int32)
    if rows:
        counts[np.asarray(rows)] = [len(m) for m in maps]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    keys = [k for m in maps for k, _ in m]
    items = [v for m in maps for _, v in m]
    return pa.MapArray.from_arrays(
        pa.array(offsets), pa.array(keys, type=type_.key_type), pa.array(items, type=type_.item_type)
    )


def _tracking_ids(website_ids: pa.Array, sites: SiteKeys) -> pa.Array:
    ids = sorted(sites.tracking_id_of)
    lookup = pa.array(ids, type=pa.uint32())
    positions = pc.index_in(website_ids, value_set=lookup)
    return pc.take(pa.array([sites.tracking_id_of[i] for i in ids], type=pa.string()), positions)


def _expand_lineage(n: int, runs: list[tuple[int, Lineage]]) -> dict[str, pa.Array]:
    """Lineage columns from runs of rows sharing one source."""
    starts = [start for start, _ in runs] + [n]
    lengths = np.diff(np.asarray(starts, dtype=np.int64)).astype(np.int64)
    out: dict[str, pa.Array] = {}
    for name in _LINEAGE:
        type_ = BASE_SCHEMA.field(name).type
        per_run = pa.array([getattr(lineage, name) for _, lineage in runs], type=type_)
        out[name] = pc.take(per_run, pa.array(np.repeat(np.arange(len(runs)), lengths)))
    return out
