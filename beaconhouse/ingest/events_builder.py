"""Turn payloads into columns of raw events, or into rejections with a reason.

A payload is decoded and checked against the contract's schema by msgspec, in C. The
common case, one event object that decodes, costs one decoder call and a few list
appends. Everything else (arrays of events, oversize, blank or broken payloads) takes
the careful path that names the reason.

Decoded events wait in a pending block. A block is checked against the rules a schema
cannot express (a known site, sane timestamps, the fields each type needs) over its
columns at once (:func:`beaconhouse.ingest.event_rules.screen`), only the suspect rows
one by one, and then becomes Arrow columns (:mod:`beaconhouse.ingest.event_columns`).
So rejections by those rules appear when a block is checked: read
:attr:`EventBatch.rejections` or call :meth:`EventBatch.to_arrow` to check what is
pending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import pyarrow as pa

from beaconhouse.events.contract import (
    EVENT_DECODER,
    MAX_EVENTS_PER_PAYLOAD,
    MAX_PAYLOAD_BYTES,
    Event,
)
from beaconhouse.ingest.event_columns import (
    BASE_SCHEMA,
    EVENT_ID_NAMESPACE,
    LINEAGE_FIELDS,
    Lineage,
    Origins,
    Resolved,
    build_columns,
    derived_event_id,
    extract_fields,
    present,
)
from beaconhouse.ingest.event_rules import (
    IpValidity,
    RuleColumns,
    SiteKeys,
    TimeRules,
    check_event,
    screen,
    to_epoch_ms,
)
from beaconhouse.ingest.quarantine import Reason, Rejection, reason_from_validation_message

__all__ = [
    "BASE_SCHEMA",
    "EVENT_ID_NAMESPACE",
    "LINEAGE_FIELDS",
    "EventBatch",
    "Lineage",
    "SiteKeys",
    "TimeRules",
    "derived_event_id",
    "to_epoch_ms",
]

_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_DECODE = EVENT_DECODER.decode
#: events decoded before their block is checked: bounds the raw payloads held
BLOCK_EVENTS = 8192


@dataclass
class _Pending:
    """Decoded events whose rules are not checked yet, with where each came from."""

    events: list[Event] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    lineage_ids: list[int] = field(default_factory=list)
    received_ms: list[int] = field(default_factory=list)
    #: row -> index within its payload's array, for rows from SDK batches only
    indexes: dict[int, int] = field(default_factory=dict)


class EventBatch:
    """Accepted events (as Arrow) and rejections of one batch of payloads."""

    def __init__(self, sites: SiteKeys, time_rules: TimeRules | None = None) -> None:
        self.sites = sites
        self.time_rules = time_rules or TimeRules()
        self.payloads = 0
        self._rejections: list[Rejection] = []
        self._lineages: list[Lineage] = []
        self._lineage_ids: dict[Lineage, int] = {}
        self._pending = _Pending()
        self._tables: list[pa.Table] = []
        self._accepted = 0
        self._ip_valid = IpValidity()

    def __len__(self) -> int:
        """Accepted event rows (transaction items included)."""
        self._check_pending()
        return self._accepted

    @property
    def rejections(self) -> list[Rejection]:
        """Every rejection so far, pending events checked first."""
        self._check_pending()
        return self._rejections

    # -- payloads -------------------------------------------------------------------
    def add_payload(self, payload: bytes, lineage: Lineage, position: int, received_ms: int) -> None:
        """Decode one payload (an event or an array of events) and keep what is valid.

        ``position`` is the payload's line number in its file or its Kafka offset;
        ``received_ms`` is the collector's time when the payload does not say.
        """
        self.add_payloads([payload], [position], lineage, received_ms)

    def add_payloads(
        self,
        payloads: Sequence[bytes],
        positions: Sequence[int],
        lineage: Lineage,
        received_ms: int,
        *,
        skip_blank: bool = False,
    ) -> None:
        """:meth:`add_payload` for many payloads of one source, in a tight loop.

        ``skip_blank`` passes over empty and whitespace-only payloads (blank lines in a
        file are not payloads; an empty Kafka message is one).
        """
        lineage_id = self._lineage_id(lineage)
        pending = self._pending
        events, raws, rows, lineages, received = (
            pending.events,
            pending.raw,
            pending.positions,
            pending.lineage_ids,
            pending.received_ms,
        )
        decode = _DECODE
        limit = MAX_PAYLOAD_BYTES
        blank = 0
        for payload, position in zip(payloads, positions, strict=True):
            if payload[:1] == b"{" and len(payload) <= limit:
                try:
                    event = decode(payload)
                except (msgspec.MsgspecError, UnicodeDecodeError):
                    pass
                else:
                    events.append(event)
                    raws.append(payload)
                    rows.append(position)
                    lineages.append(lineage_id)
                    received.append(received_ms)
                    continue
            if skip_blank and (not payload or payload.isspace()):
                blank += 1
                continue
            self._add_carefully(payload, lineage, lineage_id, position, received_ms)
        self.payloads += len(payloads) - blank
        if len(events) >= BLOCK_EVENTS:
            self._check_pending()

    def add_event(
        self, event: Event, raw: bytes, lineage: Lineage, position: int, received_ms: int, index: int = 0
    ) -> None:
        """Keep an event decoded elsewhere (e.g. from an access-log line), once it passes
        the rules. ``raw`` is what gets quarantined if it does not."""
        self._pend(event, raw, self._lineage_id(lineage), position, received_ms, index)
        if len(self._pending.events) >= BLOCK_EVENTS:
            self._check_pending()

    def rejections_add(
        self, reason: Reason, detail: str, raw: bytes, line: int | None, lineage: Lineage
    ) -> None:
        """Record an input rejected before it became an event (e.g. an unparseable log line)."""
        self._rejections.append(Rejection(reason, detail, raw, line, lineage))

    # -- the careful path -------------------------------------------------------------
    def _add_carefully(
        self, payload: bytes, lineage: Lineage, lineage_id: int, position: int, received_ms: int
    ) -> None:
        """One payload that the fast path did not take: find what it is, or why not."""

        def reject(reason: Reason, detail: str, raw: bytes = payload) -> None:
            self._rejections.append(Rejection(reason, detail, raw, position, lineage))

        if len(payload) > MAX_PAYLOAD_BYTES:
            reject(
                Reason.PAYLOAD_TOO_LARGE,
                f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit",
            )
            return
        stripped = payload.strip()
        if not stripped:
            reject(Reason.EMPTY_PAYLOAD, "payload is empty")
            return
        try:
            stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            reject(Reason.INVALID_UTF8, f"payload is not valid UTF-8 (byte {exc.start})")
            return
        if stripped[:1] != b"[":
            event = self._decode_one(stripped, reject)
            if event is not None:
                self._pend(event, stripped, lineage_id, position, received_ms, 0)
            return
        try:
            items = _RAW_LIST.decode(stripped)
        except msgspec.DecodeError as exc:
            reject(Reason.MALFORMED_JSON, f"malformed JSON: {exc}")
            return
        except msgspec.ValidationError as exc:
            reject(Reason.MALFORMED_JSON, f"malformed JSON array: {exc}")
            return
        if not items:
            reject(Reason.EMPTY_BATCH, "payload is an empty array")
            return
        if len(items) > MAX_EVENTS_PER_PAYLOAD:
            reject(
                Reason.BATCH_TOO_LARGE,
                f"payload batches {len(items)} events, over the limit of {MAX_EVENTS_PER_PAYLOAD}",
            )
            return
        for index, item in enumerate(items):
            raw = bytes(item)

            def reject_item(reason: Reason, detail: str, raw: bytes = raw) -> None:
                reject(reason, detail, raw)

            event = self._decode_one(raw, reject_item)
            if event is not None:
                self._pend(event, raw, lineage_id, position, received_ms, index)

    @staticmethod
    def _decode_one(raw: bytes, reject: Callable[[Reason, str], None]) -> Event | None:
        try:
            event: Event = _DECODE(raw)
        except msgspec.ValidationError as exc:
            # msgspec validates as it parses, so broken JSON can fail validation first
            # ({"x": ...truncated): tell the two apart before naming the reason.
            try:
                msgspec.json.decode(raw)
            except msgspec.DecodeError as syntax:
                reject(Reason.MALFORMED_JSON, f"malformed JSON: {syntax}")
                return None
            reject(*reason_from_validation_message(str(exc)))
            return None
        except msgspec.DecodeError as exc:
            reject(Reason.MALFORMED_JSON, f"malformed JSON: {exc}")
            return None
        return event

    def _pend(
        self, event: Event, raw: bytes, lineage_id: int, position: int, received_ms: int, index: int
    ) -> None:
        pending = self._pending
        if index:
            pending.indexes[len(pending.events)] = index
        pending.events.append(event)
        pending.raw.append(raw)
        pending.positions.append(position)
        pending.lineage_ids.append(lineage_id)
        pending.received_ms.append(received_ms)

    def _lineage_id(self, lineage: Lineage) -> int:
        known = self._lineage_ids.get(lineage)
        if known is None:
            known = self._lineage_ids[lineage] = len(self._lineages)
            self._lineages.append(lineage)
        return known

    # -- checking a block ---------------------------------------------------------------
    def _check_pending(self) -> None:
        """Apply the rules to the pending events; keep the accepted ones as columns."""
        pending = self._pending
        n = len(pending.events)
        if not n:
            return
        self._pending = _Pending()
        fields = extract_fields(pending.events)
        arrays = {
            "kinds": pa.array(fields.kinds, type=pa.string()),
            "urls": pa.array(fields.urls, type=pa.string()),
            "ips": pa.array(fields.ips, type=pa.string()),
        }
        received_ms = np.asarray(pending.received_ms, dtype=np.int64)
        screened = screen(
            RuleColumns(
                kinds=arrays["kinds"],
                tracking_ids=fields.tracking_ids,
                website_ids=fields.website_ids,
                ts=fields.ts,
                received_at=fields.received_at,
                received_ms=received_ms,
                page_urls=arrays["urls"],
                has_action=present(fields.actions),
                has_ecommerce=present(fields.commerces),
                ips=arrays["ips"],
            ),
            self.sites,
            self.time_rules,
            self._ip_valid,
        )
        keep = ~screened.suspect
        for row in np.flatnonzero(screened.suspect):
            verdict = check_event(
                pending.events[row], self.sites, self.time_rules, int(received_ms[row]), self._ip_valid
            )
            if verdict.reason is None:
                assert verdict.website_id is not None
                keep[row] = True
                screened.website_id[row] = verdict.website_id
                screened.client_ms[row] = verdict.client_ms
                screened.server_ms[row] = verdict.server_ms
                continue
            self._rejections.append(
                Rejection(
                    verdict.reason,
                    verdict.detail,
                    pending.raw[row],
                    pending.positions[row],
                    self._lineages[pending.lineage_ids[row]],
                    verdict.website_id,
                    verdict.event_id,
                )
            )
        indexes = np.zeros(n, dtype=np.int64)
        if pending.indexes:
            indexes[list(pending.indexes)] = list(pending.indexes.values())
        table = build_columns(
            fields,
            Resolved(keep, screened.website_id, screened.client_ms, screened.server_ms),
            Origins(
                positions=np.asarray(pending.positions, dtype=np.int64),
                indexes=indexes,
                lineage_ids=np.asarray(pending.lineage_ids, dtype=np.int64),
                lineages=self._lineages,
            ),
            dict(self.sites.tracking_id_of),
            arrays,
        )
        self._tables.append(table)
        self._accepted += table.num_rows

    # -- output ---------------------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        """The accepted events as an Arrow table with :data:`BASE_SCHEMA`."""
        self._check_pending()
        if not self._tables:
            return BASE_SCHEMA.empty_table()
        return pa.concat_tables(self._tables) if len(self._tables) > 1 else self._tables[0]
