"""Ground truth: what a correct pipeline must report for the generated traffic.

The truth is computed from the payload lines as delivered, not from the simulation:
each line that is not one of the recorded malformed payloads is decoded with the
event contract, and the rules below are applied to the events.

**Valid event stream.** The events of every payload line except the malformed ones.
An event's site is its ``website_id`` or ``tracking_id``.

**Duplicates.** Deliveries of an ``event_id`` already delivered. Every copy is
identical, so which one is kept does not matter; the others are *duplicate deliveries*.

**Bots.** Events whose ``context.user_agent`` is one of the crawler user agents
(:data:`beaconhouse.generate.useragents.BOT_USER_AGENTS`).

**Mart truth** (per site and site-local day, over valid, non-duplicate, non-bot events):

- ``pageviews``: events of type ``pageview``, by the local day of ``ts``;
- ``visitors``: distinct ``visitor_id`` among that day's events (any type);
- ``sessions``: sessions starting that day (they never span two local days);
- ``bounces``: sessions with exactly one pageview (other events do not matter);
- ``conversions``: events of type ``transaction``; ``revenue``: the sum of their
  ``ecommerce.revenue``, in the site's currency (each site uses one).

**Sessions.** A visitor's events, ordered by ``(ts, event_id)``, form sessions. A new
session starts at an event when any of these holds (GA's rules):

1. it is the visitor's first event;
2. more than 30 minutes passed since the visitor's previous event (exactly 30 is not);
3. its site-local date differs from the previous event's (sessions end at midnight);
4. it carries a *traffic source* different from the session's: a landing on a new
   campaign, or from a different external referrer;
5. 24 hours or more passed since the session's first event (only reachable on a
   25-hour day when clocks go back).

An event's *traffic source* is, from its ``page.url`` and ``page.referrer``:

- ``("campaign", utm_source, utm_medium, utm_campaign)`` when the URL's query has any
  of the three (missing ones are ``""``);
- else ``("referral", host)`` when the referrer's host (lower case, without a leading
  ``www.``) is neither the site's domain nor a subdomain of it;
- else none: direct traffic and internal navigation never start a session.

The session's source is its first event's (which may be none).

**Raw truth** (per site and UTC day, over every decoded payload, bots included):
``events`` by type and ``bot_events``/``late_events`` count valid non-duplicate
events by the UTC day of ``ts`` (``raw.events``' partition); ``late_events`` are those
whose ``received_at`` is more than one hour after ``ts``. ``duplicate_deliveries``
counts extra copies, by the UTC day of ``ts``. ``malformed`` counts malformed payloads
by kind, by the UTC day of the collector's receive time (the quarantine's partition).
``payload_lines`` counts all lines by the UTC day of their file (delivery).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from beaconhouse.config import Site
from beaconhouse.generate.records import EventRecord, Payload, epoch_ms, records_of_line
from beaconhouse.generate.useragents import is_bot

SESSION_TIMEOUT_MS = 30 * 60_000
MAX_SESSION_MS = 24 * 3_600_000
LATE_MS = 3_600_000
_EPOCH_DATE = dt.date(1970, 1, 1)
DAY_MS = 86_400_000

Source = tuple[str, ...]


class TruthEvent(NamedTuple):
    """What the mart truth needs of one valid, non-duplicate, non-bot event."""

    visitor_id: str
    #: client time, epoch ms, and its site-local date
    ts: int
    date: dt.date
    event_id: str
    type: str
    source: Source | None = None
    revenue: Decimal | None = None


def traffic_source(url: str | None, referrer: str, domain: str) -> Source | None:
    """An event's traffic source, as defined in this module's docstring."""
    if url and "utm_" in url:
        query = parse_qs(urlsplit(url).query)
        utm = [query.get(f"utm_{key}", [""])[0] for key in ("source", "medium", "campaign")]
        if any(utm):
            return ("campaign", *utm)
    if not referrer or referrer.startswith(_internal_prefixes(domain)):
        return None  # the common cases, without parsing
    host = (urlsplit(referrer).hostname or "").lower().removeprefix("www.")
    if host and host != domain and not host.endswith("." + domain):
        return ("referral", host)
    return None


@functools.cache
def _internal_prefixes(domain: str) -> tuple[str, str]:
    return (f"https://{domain}/", f"http://{domain}/")


class LocalCalendar:
    """The local date of an epoch-ms instant in one time zone (exact, cached)."""

    _BUCKET_MS = 15 * 60_000  # every UTC offset is a multiple of 15 minutes

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._cache: dict[int, dt.date] = {}

    def date(self, ms: int) -> dt.date:
        bucket = ms // self._BUCKET_MS
        day = self._cache.get(bucket)
        if day is None:
            day = dt.datetime.fromtimestamp(bucket * self._BUCKET_MS / 1000, self.tz).date()
            self._cache[bucket] = day
        return day


def sessionize(events: Iterable[TruthEvent]) -> list[list[TruthEvent]]:
    """Split one site's events into sessions by the rules of this module's docstring."""
    sessions: list[list[TruthEvent]] = []
    current: list[TruthEvent] = []
    source: Source | None = None
    previous: TruthEvent | None = None
    for event in sorted(events, key=lambda e: (e.visitor_id, e.ts, e.event_id)):
        new = (
            previous is None
            or event.visitor_id != previous.visitor_id  # 1. a visitor's first event
            or event.ts - previous.ts > SESSION_TIMEOUT_MS  # 2. inactivity
            or event.date != previous.date  # 3. site-local midnight
            or (event.source is not None and event.source != source)  # 4. new campaign or referrer
            or event.ts - current[0].ts >= MAX_SESSION_MS  # 5. 24 hours
        )
        if new:
            current = [event]
            sessions.append(current)
            source = event.source
        else:
            current.append(event)
        previous = event
    return sessions


@dataclass
class MartDay:
    """The mart truth of one site on one local day."""

    website_id: int
    date: dt.date
    currency: str
    pageviews: int = 0
    visitors: int = 0
    sessions: int = 0
    bounces: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)


def mart_days(website_id: int, currency: str, events: Sequence[TruthEvent]) -> dict[dt.date, MartDay]:
    """The mart truth of one site's valid, non-duplicate, non-bot events, per local day."""
    days: dict[dt.date, MartDay] = {}
    visitors: dict[dt.date, set[str]] = {}
    for event in events:
        day = days.get(event.date)
        if day is None:
            day = days[event.date] = MartDay(website_id, event.date, currency)
            visitors[event.date] = set()
        visitors[event.date].add(event.visitor_id)
        if event.type == "pageview":
            day.pageviews += 1
        elif event.type == "transaction":
            day.conversions += 1
            day.revenue += event.revenue or Decimal(0)
    for session in sessionize(events):
        day = days[session[0].date]
        day.sessions += 1
        if sum(1 for e in session if e.type == "pageview") == 1:
            day.bounces += 1
    for date, day in days.items():
        day.visitors = len(visitors[date])
    return dict(sorted(days.items()))


@dataclass
class RawDay:
    """The raw truth of one site on one UTC day."""

    website_id: int
    date: dt.date
    events: Counter[str] = field(default_factory=Counter)
    bot_events: int = 0
    late_events: int = 0
    duplicate_deliveries: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    payload_lines: int = 0


@dataclass(frozen=True)
class MalformedRecord:
    """One malformed payload: where it is, and what is wrong with it."""

    website_id: int
    path: str
    line: int
    kind: str
    reason: str
    detail: str
    received_at: str
    bytes: int


@dataclass
class Truth:
    marts: list[MartDay]
    raw: list[RawDay]
    malformed: list[MalformedRecord]


class TruthBuilder:
    """Feeds delivered payloads through the definitions above, streaming.

    Sessions never span a local midnight, so a site's local day is computed on its own
    once nothing more can arrive for it: :meth:`advance` finalises the days that
    ended more than ``lag_ms`` before the delivery time reached. A payload for a
    finalised day is an error (the lag was too short), never silently lost.
    """

    def __init__(
        self,
        sites: Sequence[Site],
        currencies: dict[int, str],
        *,
        lag_ms: int = 4 * 86_400_000,
        verify: bool = False,
    ) -> None:
        #: decode every payload with the event contract and check it against its records
        self.verify = verify
        self.sites = {site.website_id: site for site in sites}
        self._by_tracking = {site.tracking_id: site.website_id for site in sites}
        self.currencies = currencies
        self.lag_ms = lag_ms
        self.calendars = {site.website_id: LocalCalendar(site.timezone) for site in sites}
        self._open: dict[tuple[int, dt.date], list[TruthEvent]] = {}
        self._seen: dict[tuple[int, dt.date], set[str]] = {}
        self._closed: set[tuple[int, dt.date]] = set()
        self._raw: dict[tuple[int, int], RawDay] = {}
        self.marts: list[MartDay] = []
        self.malformed: list[MalformedRecord] = []

    def _raw_day(self, website_id: int, ms: int) -> RawDay:
        key = (website_id, ms // DAY_MS)
        day = self._raw.get(key)
        if day is None:
            date = _EPOCH_DATE + dt.timedelta(days=key[1])
            day = self._raw[key] = RawDay(website_id, date)
        return day

    def add(self, payload: Payload, path: str, line: int) -> None:
        """One delivered payload, at 1-based ``line`` of file ``path``."""
        website_id = payload.website_id
        self._raw_day(website_id, payload.delivered_at).payload_lines += 1
        if payload.malformed is not None:
            bad = payload.malformed
            received = dt.datetime.fromtimestamp(payload.received_at / 1000, dt.UTC)
            self._raw_day(website_id, payload.received_at).malformed[bad.kind] += 1
            self.malformed.append(
                MalformedRecord(
                    website_id,
                    path,
                    line,
                    bad.kind,
                    bad.reason,
                    bad.detail,
                    received.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    len(bad.line),
                )
            )
            return
        records = payload.records
        if self.verify:
            decoded = records_of_line(payload.line)
            if decoded != records:
                raise ValueError(f"{path}:{line}: the payload does not say what the generator wrote")
        for record in records:
            self._add_event(website_id, record)

    def _add_event(self, website_id: int, event: EventRecord) -> None:
        (
            event_id,
            type_,
            claimed_id,
            tracking_id,
            visitor_id,
            ts,
            received_at,
            user_agent,
            url,
            referrer,
            revenue,
        ) = event
        claimed = claimed_id or self._by_tracking.get(tracking_id or "")
        if claimed != website_id:
            raise ValueError(f"event {event_id} claims site {claimed}, delivered for site {website_id}")
        date = self.calendars[website_id].date(ts)
        key = (website_id, date)
        seen = self._seen.get(key)
        if seen is None:
            if key in self._closed:
                raise RuntimeError(
                    f"an event of site {website_id} day {date} arrived after that day was finalised"
                )
            seen = self._seen[key] = set()
        raw = self._raw.get((website_id, ts // DAY_MS)) or self._raw_day(website_id, ts)
        if event_id in seen:
            raw.duplicate_deliveries += 1
            return
        seen.add(event_id)
        raw.events[type_] += 1
        if received_at is not None and received_at - ts > LATE_MS:
            raw.late_events += 1
        if is_bot(user_agent):
            raw.bot_events += 1
            return
        if visitor_id is None:
            raise ValueError(f"event {event_id} has no visitor_id")
        source = traffic_source(url, referrer, self.sites[website_id].domain)
        amount = Decimal(repr(revenue)) if type_ == "transaction" and revenue is not None else None
        self._open.setdefault(key, []).append(
            TruthEvent(visitor_id, ts, date, event_id, type_, source, amount)
        )

    def advance(self, delivered_through_ms: int) -> None:
        """Finalise the local days that ended ``lag_ms`` or more before ``delivered_through_ms``."""
        for key in sorted(self._seen):
            website_id, date = key
            tz = self.calendars[website_id].tz
            next_midnight = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), tz)
            if epoch_ms(next_midnight) + self.lag_ms <= delivered_through_ms:
                self._finalise(key)

    def _finalise(self, key: tuple[int, dt.date]) -> None:
        website_id, _date = key
        events = self._open.pop(key, [])
        self._seen.pop(key, None)
        self._closed.add(key)
        days = mart_days(website_id, self.currencies[website_id], events)
        self.marts.extend(days.values())

    def finish(self) -> Truth:
        """Finalise everything; the truth, sorted by site and day."""
        for key in sorted(self._seen):
            self._finalise(key)
        marts = sorted(self.marts, key=lambda d: (d.website_id, d.date))
        raw = sorted(self._raw.values(), key=lambda d: (d.website_id, d.date))
        malformed = sorted(self.malformed, key=lambda m: (m.website_id, m.path, m.line))
        return Truth(marts, raw, malformed)
