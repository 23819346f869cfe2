"""The contract's rules that a schema cannot express, per event and over columns.

A decoded event must also name a configured site, carry sane timestamps, and have the
fields its type needs (see docs/ingestion.md). Two views of the same rules:

- :func:`check_event` is the reference: one event, the first rule it breaks, with the
  precise reason and detail that go to the quarantine.
- :func:`screen` runs over a whole batch's columns in Arrow and NumPy and marks every
  row that *may* break a rule. Rows it passes are accepted as they are; rows it marks
  go through :func:`check_event`, which decides. So the screen may be cautious, but it
  must never pass a row that :func:`check_event` rejects (a test holds it to that).

Only the rare suspect rows cost Python time per event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.enrich.ip import pack_ip
from beaconhouse.events.contract import Event
from beaconhouse.ingest.quarantine import Reason

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


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


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :func:`check_event` found: the values an accepted event lands with, or a
    rejection (``reason`` set) with what is known of the event."""

    reason: Reason | None
    detail: str = ""
    website_id: int | None = None
    event_id: str | None = None
    client_ms: int = 0
    server_ms: int = 0


def to_epoch_ms(value: dt.datetime | int) -> int:
    """Epoch milliseconds of a contract timestamp (an aware datetime or epoch ms)."""
    if isinstance(value, int):
        return value
    return (value - _EPOCH) // _MS


class IpValidity:
    """Whether an IP text is an address, remembered per distinct text (bounded)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self._known: dict[str, bool] = {}
        self._limit = limit

    def __call__(self, text: str) -> bool:
        valid = self._known.get(text)
        if valid is None:
            valid = pack_ip(text) is not None
            if len(self._known) < self._limit:
                self._known[text] = valid
        return valid


def check_event(
    event: Event, sites: SiteKeys, rules: TimeRules, received_ms: int, ip_valid: IpValidity
) -> Verdict:
    """The first rule ``event`` breaks, or the values it is accepted with.

    ``received_ms`` is the collector's time, used when the event has no ``received_at``.
    """
    # -- the site -------------------------------------------------------------------
    website_id = event.website_id
    if event.tracking_id is not None:
        by_key = sites.by_tracking_id.get(event.tracking_id)
        if by_key is None:
            return Verdict(Reason.UNKNOWN_WEBSITE, f"no site has tracking_id {event.tracking_id!r}")
        if website_id is not None and website_id != by_key:
            return Verdict(
                Reason.WEBSITE_MISMATCH,
                f"tracking_id {event.tracking_id!r} is site {by_key}, not website_id {website_id}",
                by_key,
            )
        website_id = by_key
    elif website_id is None:
        return Verdict(Reason.MISSING_FIELD, "required field $.tracking_id (or $.website_id) is missing")
    elif website_id not in sites.tracking_id_of:
        return Verdict(Reason.UNKNOWN_WEBSITE, f"no site has website_id {website_id}")
    event_id = str(event.event_id) if event.event_id is not None else None

    def reject(reason: Reason, detail: str) -> Verdict:
        return Verdict(reason, detail, website_id, event_id)

    # -- time -------------------------------------------------------------------------
    ts = event.ts
    if isinstance(ts, dt.datetime) and ts.tzinfo is None:
        return reject(Reason.TIMESTAMP_WITHOUT_OFFSET, "$.ts has no UTC offset (RFC 3339 needs one)")
    received = event.received_at
    if isinstance(received, dt.datetime) and received.tzinfo is None:
        return reject(Reason.TIMESTAMP_WITHOUT_OFFSET, "$.received_at has no UTC offset")
    client_ms = to_epoch_ms(ts)
    server_ms = to_epoch_ms(received) if received is not None else received_ms
    if client_ms > server_ms + rules.max_future_ms:
        hours = (client_ms - server_ms) / 3.6e6
        return reject(Reason.TIMESTAMP_IN_FUTURE, f"$.ts is {hours:.1f} h after the collector's time")
    if client_ms < server_ms - rules.max_age_ms:
        days = (server_ms - client_ms) / 8.64e7
        return reject(Reason.TIMESTAMP_TOO_OLD, f"$.ts is {days:.1f} days before the collector's time")

    # -- what each type needs ---------------------------------------------------------
    kind = event.type
    page = event.page
    page_url = page.url if page is not None and page.url is not None else ""
    if kind == "pageview" and not page_url:
        return reject(Reason.MISSING_FIELD, "a pageview needs $.page.url")
    if page_url and not page_url.startswith(("https://", "http://")):
        return reject(Reason.INVALID_URL, f"$.page.url is not an http(s) URL: {page_url[:100]!r}")
    if kind == "event" and event.event is None:
        return reject(Reason.MISSING_FIELD, "an event of type 'event' needs $.event")
    if kind == "transaction" and event.ecommerce is None:
        return reject(Reason.MISSING_FIELD, "a transaction needs $.ecommerce")
    context = event.context
    ip = context.ip if context is not None else ""
    if ip and not ip_valid(ip):
        return reject(Reason.INVALID_IP, f"$.context.ip is not an IP address: {ip[:60]!r}")
    return Verdict(None, "", website_id, event_id, client_ms, server_ms)


@dataclass
class RuleColumns:
    """The columns of a block of events that the rules read, one entry per event."""

    kinds: pa.Array  # string
    tracking_ids: Sequence[str | None]
    website_ids: Sequence[int | None]
    ts: Sequence[dt.datetime | int]
    received_at: Sequence[dt.datetime | int | None]
    received_ms: np.ndarray  # the collector's time, where received_at is absent
    page_urls: pa.Array  # string, null when the event has none
    has_action: np.ndarray
    has_ecommerce: np.ndarray
    ips: pa.Array  # string, '' when the event has none


@dataclass
class Screened:
    """What :func:`screen` computed: who may break a rule, and the values of the rest."""

    suspect: np.ndarray
    website_id: np.ndarray  # uint32; valid where not suspect
    client_ms: np.ndarray
    server_ms: np.ndarray


def _naive(values: Sequence[Any]) -> np.ndarray:
    """Rows holding a datetime without a UTC offset."""
    try:
        zones = [value.tzinfo for value in values]
    except AttributeError:  # epoch-millisecond ints among them
        zones = [getattr(value, "tzinfo", dt.UTC) for value in values]
    if None not in zones:
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((zone is None for zone in zones), dtype=bool, count=len(values))


def _epoch_ms(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Epoch ms of aware datetimes and ints (Arrow converts in C++), and which are present."""
    array = pa.array(values, type=pa.timestamp("ms", tz="UTC"))
    present = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(pc.fill_null(array.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)), present


def screen(columns: RuleColumns, sites: SiteKeys, rules: TimeRules, ip_valid: IpValidity) -> Screened:
    """Mark the rows that may break a rule; resolve site and times for the others."""
    n = len(columns.kinds)
    # -- the site: by tracking id, else by website id ---------------------------------
    tracking = pa.array(columns.tracking_ids, type=pa.string())
    given_id = pa.array(columns.website_ids, type=pa.int64())
    known_keys = pa.array(list(sites.by_tracking_id), type=pa.string())
    known_ids = pa.array(list(sites.by_tracking_id.values()), type=pa.int64())
    by_key = pc.take(known_ids, pc.index_in(tracking, value_set=known_keys))
    site_ids = pa.array(sorted(sites.tracking_id_of), type=pa.int64())
    id_known = pc.fill_null(pc.is_in(given_id, value_set=site_ids), False)
    has_key = pc.is_valid(tracking)
    resolved = pc.if_else(has_key, by_key, pc.if_else(id_known, given_id, pa.scalar(None, pa.int64())))
    consistent = pc.or_(pc.invert(has_key), pc.fill_null(pc.equal(given_id, by_key), True))
    site_ok = pc.and_(pc.is_valid(resolved), consistent)
    suspect = ~np.asarray(pc.fill_null(site_ok, False).to_numpy(zero_copy_only=False), dtype=bool)
    website_id = np.asarray(pc.fill_null(resolved, 0).to_numpy(zero_copy_only=False)).astype(np.uint32)

    # -- time ---------------------------------------------------------------------------
    suspect |= _naive(columns.ts) | _naive(columns.received_at)
    client_ms, _ = _epoch_ms(columns.ts)
    server_ms, has_received = _epoch_ms(columns.received_at)
    server_ms = np.where(has_received, server_ms, columns.received_ms)
    suspect |= client_ms > server_ms + rules.max_future_ms
    suspect |= client_ms < server_ms - rules.max_age_ms

    # -- what each type needs -----------------------------------------------------------
    kinds = columns.kinds
    urls = pc.fill_null(columns.page_urls, "")
    web = pc.or_(pc.starts_with(urls, "https://"), pc.starts_with(urls, "http://"))
    empty = pc.equal(urls, "")
    bad_url = pc.and_(pc.invert(empty), pc.invert(web))
    needs_url = pc.and_(pc.equal(kinds, "pageview"), empty)
    suspect |= np.asarray(pc.or_(bad_url, needs_url).to_numpy(zero_copy_only=False), dtype=bool)
    is_event = np.asarray(pc.equal(kinds, "event").to_numpy(zero_copy_only=False), dtype=bool)
    is_transaction = np.asarray(pc.equal(kinds, "transaction").to_numpy(zero_copy_only=False), dtype=bool)
    suspect |= (is_event & ~columns.has_action) | (is_transaction & ~columns.has_ecommerce)

    # -- IPs: each distinct text once ----------------------------------------------------
    distinct_ips = pc.unique(columns.ips).to_pylist()
    invalid = [ip for ip in distinct_ips if ip and not ip_valid(ip)]
    if invalid:
        suspect |= np.asarray(
            pc.is_in(columns.ips, value_set=pa.array(invalid, type=pa.string())).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
    assert len(suspect) == n
    return Screened(suspect, website_id, client_ms, server_ms)
