"""What the generator delivers: payloads, and the event fields the truth reads.

An :class:`EventRecord` holds exactly the fields of one encoded event that the ground
truth uses, with the values that were written into the payload. :func:`records_of_line`
recovers the same records by decoding a payload line with the event contract, which is
how the tests (and ``verify`` runs) prove the two agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import msgspec

from beaconhouse.events.contract import Event
from beaconhouse.generate.malformed import Malformed

#: decodes a payload line: one event object or an array of them
PAYLOAD_DECODER = msgspec.json.Decoder(Event | list[Event])
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


class EventRecord(NamedTuple):
    """The fields of one delivered event that the truth reads."""

    event_id: str
    type: str
    #: the site as the event names it (either may be None)
    website_id: int | None
    tracking_id: str | None
    visitor_id: str | None
    #: client time and collector time, epoch ms
    ts: int
    received_at: int | None
    user_agent: str
    page_url: str | None
    referrer: str
    #: ``ecommerce.revenue`` of a transaction
    revenue: float | None


@dataclass(slots=True)
class Payload:
    """One line of a landing file, or one Kafka message."""

    #: when it reached the landing file or topic (ms); decides the hourly file
    delivered_at: int
    #: the collector's ``received_at`` of its events (ms)
    received_at: int
    #: the site whose collector received it (the file's ``site=``)
    website_id: int
    #: generation order, to break ties
    seq: int
    #: the visitor id: the Kafka message key
    key: bytes
    line: bytes
    #: the events in the line, as written (empty when malformed)
    records: tuple[EventRecord, ...]
    malformed: Malformed | None = None
    #: a re-delivery of an event that was already delivered
    duplicate: bool = False

    @property
    def events(self) -> int:
        return len(self.records)


def epoch_ms(value: dt.datetime | int) -> int:
    """A contract timestamp (datetime with offset, or epoch ms) as epoch ms, exactly."""
    if isinstance(value, int):
        return value
    return (value - _EPOCH) // _MS


def record_of(event: Event) -> EventRecord:
    """The truth's fields of a decoded event."""
    page, context, ecommerce = event.page, event.context, event.ecommerce
    return EventRecord(
        event_id=str(event.event_id) if event.event_id is not None else "",
        type=event.type,
        website_id=event.website_id,
        tracking_id=event.tracking_id,
        visitor_id=event.visitor_id,
        ts=epoch_ms(event.ts),
        received_at=epoch_ms(event.received_at) if event.received_at is not None else None,
        user_agent=context.user_agent if context is not None else "",
        page_url=page.url if page is not None else None,
        referrer=page.referrer if page is not None else "",
        revenue=ecommerce.revenue if ecommerce is not None else None,
    )


def records_of_line(line: bytes) -> tuple[EventRecord, ...]:
    """Decode a valid payload line with the event contract; its events' records."""
    decoded = PAYLOAD_DECODER.decode(line)
    events = decoded if isinstance(decoded, list) else [decoded]
    return tuple(record_of(event) for event in events)
