"""From simulated events to payload lines, as a collector would receive them.

- Every event becomes a JSON object (contract v1) with a deterministic ``event_id``,
  the client's ``ts`` and the collector's ``received_at`` (RFC 3339, ms, ``Z``).
- Most payloads are one event. Visitors whose SDK batches (``BATCHING_SHARE``) send
  arrays of up to 20 consecutive events, flushed after a window of 5-120 s.
- ``received_at`` is the flush time plus a network delay of a few hundred ms, the same
  for every event of an array.
- **Late**: a share of sessions (``late_share``) were recorded offline and arrive in
  arrays of 20 one to 30 hours later.
- **Malformed**: a share of single-event payloads (``malformed_share`` of all lines) is
  replaced by a malformed one (:mod:`beaconhouse.generate.malformed`).
- **Duplicates**: a share of delivered events (``duplicate_share``) is delivered again,
  byte for byte, as a single-event line: 70% within 30 seconds (a retried beacon),
  30% one to six hours later (an at-least-once pipeline re-delivering), often into a
  later hour's file. A re-delivery goes to the file of its *delivery* time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from beaconhouse.events.contract import MAX_EVENTS_PER_PAYLOAD
from beaconhouse.generate.ids import uuid4_strings
from beaconhouse.generate.malformed import MalformedFactory
from beaconhouse.generate.records import EventRecord, Payload
from beaconhouse.generate.simulate import EVENT_TYPES, HOUR_MS, PAGEVIEW, TRANSACTION, Array, SimDay
from beaconhouse.generate.sites import SiteProfile

MIN_BATCH_WINDOW_MS = 5_000
MAX_BATCH_WINDOW_MS = 120_000
MAX_LATENESS_MS = 30 * HOUR_MS
QUICK_RETRY_SHARE = 0.7


@dataclass(frozen=True)
class DeliveryShares:
    """How often delivery goes wrong (or late)."""

    duplicate_share: float = 0.005
    malformed_share: float = 0.001
    late_share: float = 0.01


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_text(text: str) -> str:
    """A JSON string; plain ASCII (URLs we built, ids) is quoted without orjson."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return _json(text)


class PayloadEncoder:
    """Encodes one site's simulated days into payloads.

    Events are assembled from JSON fragments: every text goes through orjson (so
    escaping is orjson's), except the ids, which are hex and UUIDs. The parts that
    repeat (a page's URL and title, a session's ids and context) are encoded once.
    The key order is fixed, so equal events are equal bytes.
    """

    def __init__(self, profile: SiteProfile, shares: DeliveryShares, seed: int) -> None:
        self.profile = profile
        self.shares = shares
        self.seed = seed
        self.malformed = MalformedFactory(np.random.default_rng([seed, profile.website_id, 0xBAD]))
        self._seq = 0
        catalogue = profile.catalogue
        self._url_json = [_json(url) for url in catalogue.urls]
        self._title_json = [_json(title) for title in catalogue.titles]
        self._page = [
            f'{{"url":{u},"title":{t}}}' for u, t in zip(self._url_json, self._title_json, strict=True)
        ]
        self._page_open = [
            f'{{"url":{u},"title":{t},"referrer":'
            for u, t in zip(self._url_json, self._title_json, strict=True)
        ]
        self._actions = [
            [
                f'{{"category":{_json(a.category)},"action":{_json(a.action)},"label":{_json(label)}'
                for label in a.labels
            ]
            for a in profile.kind.actions
        ]
        #: scrolling is not an interaction (it does not make a session engaged)
        self._non_interaction = [a.category == "scroll" for a in profile.kind.actions]
        site = profile.site
        self._site_parts = (
            f',"tracking_id":{_json(site.tracking_id)}',
            f',"website_id":{site.website_id}',
            f',"tracking_id":{_json(site.tracking_id)},"website_id":{site.website_id}',
        )

    def encode(self, sim: SimDay, day: dt.date) -> list[Payload]:
        """The payloads carrying ``sim``'s events, unordered."""
        profile = self.profile
        rng = np.random.default_rng([self.seed, profile.website_id, day.toordinal(), 0xDE11])
        n = len(sim)
        if n == 0:
            return []
        delay = np.clip(rng.lognormal(np.log(180.0), 0.6, size=n), 20, 10_000).astype(np.int64)
        received = sim.ts + delay
        payload_of = np.arange(n)
        late = (rng.random(len(sim.session_ids)) < self.shares.late_share) & ~sim.is_bot
        self._batch(rng, sim, late, received, payload_of)
        event_ids = uuid4_strings(rng, n)
        encoded, records = self._encode_events(sim, event_ids, received)

        # Most payloads are single events (payload_of[i] == i, alone); arrays are few.
        sizes = np.bincount(payload_of, minlength=n)
        batched: dict[int, list[int]] = {}
        for i in np.flatnonzero(sizes[payload_of] > 1).tolist():
            batched.setdefault(int(payload_of[i]), []).append(i)
        leaders = np.flatnonzero(sizes > 0).tolist()
        singles = len(leaders) - len(batched)
        malformed_p = self.shares.malformed_share * len(leaders) / max(singles, 1)
        malformed_draw = rng.random(len(leaders)).tolist()
        dup_draw, retry_draw, later_draw = rng.random((3, n))
        received_at = received.tolist()
        session_of = sim.session.tolist()
        website_id = profile.website_id
        visitor_keys = [v.encode() for v in sim.visitor_ids]
        out: list[Payload] = []
        lost: set[int] = set()
        seq = self._seq
        for k, first in enumerate(leaders):
            at = received_at[first]
            key = visitor_keys[session_of[first]]
            seq += 1
            indices = batched.get(first)
            if indices is not None:
                line = b"[" + b",".join(encoded[i] for i in indices) + b"]"
                out.append(Payload(at, at, website_id, seq, key, line, tuple(records[i] for i in indices)))
            elif malformed_draw[k] < malformed_p:
                bad = self.malformed.make(orjson.loads(encoded[first]), encoded[first], _rfc3339(at))
                out.append(Payload(at, at, website_id, seq, key, bad.line, (), bad))
                lost.add(first)
            else:
                out.append(Payload(at, at, website_id, seq, key, encoded[first], (records[first],)))
        # Re-deliveries of single events, byte for byte (never of an event lost to a malformed payload).
        for i in np.flatnonzero(dup_draw < self.shares.duplicate_share).tolist():
            if i in lost:
                continue
            at = received_at[i]
            if retry_draw[i] < QUICK_RETRY_SHARE:
                later = 50 + int(later_draw[i] * 30_000)
            else:
                later = HOUR_MS + int(later_draw[i] * 5 * HOUR_MS)
            seq += 1
            key = visitor_keys[session_of[i]]
            out.append(Payload(at + later, at, website_id, seq, key, encoded[i], (records[i],), None, True))
        self._seq = seq
        return out

    def _batch(
        self, rng: np.random.Generator, sim: SimDay, late: Array, received: Array, payload_of: Array
    ) -> None:
        """Group the events of batching and offline sessions into arrays (in place)."""
        wanted = np.flatnonzero(late | sim.batching)
        if len(wanted) == 0:
            return
        order = np.argsort(sim.session, kind="stable")
        sessions = sim.session[order]
        lo = np.searchsorted(sessions, wanted, side="left")
        hi = np.searchsorted(sessions, wanted, side="right")
        windows = rng.uniform(MIN_BATCH_WINDOW_MS, MAX_BATCH_WINDOW_MS, size=len(wanted))
        lateness = HOUR_MS + np.minimum(
            rng.exponential(5 * HOUR_MS, size=len(wanted)), MAX_LATENESS_MS - HOUR_MS
        )
        delays = np.clip(rng.lognormal(np.log(180.0), 0.6, size=len(wanted)), 20, 10_000)
        ts = sim.ts
        for j, session in enumerate(wanted.tolist()):
            indices = order[lo[j] : hi[j]].tolist()
            if not indices:
                continue
            if late[session]:
                flushed = int(ts[indices[-1]] + lateness[j])
                for c, chunk_start in enumerate(range(0, len(indices), MAX_EVENTS_PER_PAYLOAD)):
                    chunk = indices[chunk_start : chunk_start + MAX_EVENTS_PER_PAYLOAD]
                    payload_of[chunk] = chunk[0]
                    received[chunk] = flushed + 40 * c
                continue
            chunk = [indices[0]]
            for i in [*indices[1:], -1]:
                if i >= 0 and len(chunk) < MAX_EVENTS_PER_PAYLOAD and ts[i] - ts[chunk[0]] <= windows[j]:
                    chunk.append(i)
                    continue
                payload_of[chunk] = chunk[0]
                received[chunk] = int(ts[chunk[-1]] + delays[j])
                chunk = [i]

    def _encode_events(
        self, sim: SimDay, event_ids: list[str], received: Array
    ) -> tuple[list[bytes], list[EventRecord]]:
        """Every event's JSON, and the record of what it says."""
        profile = self.profile
        catalogue = profile.catalogue
        urls = catalogue.urls
        tracking_id, website_id = profile.site.tracking_id, profile.website_id
        ts_text = np.datetime_as_string(sim.ts.astype("datetime64[ms]"), unit="ms").tolist()
        received_text = np.datetime_as_string(received.astype("datetime64[ms]"), unit="ms").tolist()
        kinds, sessions, pages = sim.kind.tolist(), sim.session.tolist(), sim.page.tolist()
        landing, prev_page = sim.landing.tolist(), sim.prev_page.tolist()
        action, label, value = sim.action.tolist(), sim.label.tolist(), sim.value.tolist()
        order, load_ms = sim.order.tolist(), sim.load_ms.tolist()
        ts_ms, received_ms = sim.ts.tolist(), received.tolist()
        site_keys = sim.site_keys.tolist()
        # per session: ids, context, dimensions
        heads, contexts, dimensions = [], [], []
        for s in range(len(sim.session_ids)):
            user_id = sim.user_ids[s]
            # visitor, session and user ids are hex/uuid/ascii: no escaping needed
            heads.append(
                f'{self._site_parts[site_keys[s]]},"visitor_id":"{sim.visitor_ids[s]}"'
                f',"session_id":"{sim.session_ids[s]}"'
                + (f',"user_id":"{user_id}"' if user_id is not None else "")
            )
            contexts.append(',"context":' + sim.contexts[s].decode())
            dims = sim.dimensions[s]
            dimensions.append(f',"dimensions":{_json(dims)}' if dims else "")
        claimed = [(tracking_id if k != 1 else None, website_id if k != 0 else None) for k in range(3)]
        encoded: list[bytes] = []
        records: list[EventRecord] = []
        for i in range(len(kinds)):
            s, k, p = sessions[i], kinds[i], pages[i]
            url, referrer, extra, properties = urls[p], "", "", ""
            revenue = None
            if k == PAGEVIEW:
                lnd = landing[i]
                if lnd >= 0:
                    source = sim.landings[lnd]
                    referrer = source.referrer
                    url = url + source.query
                    page = f'{{"url":{_json_text(url)},"title":{self._title_json[p]}'
                    page += f',"referrer":{_json_text(referrer)}}}' if referrer else "}"
                elif prev_page[i] >= 0:
                    referrer = urls[prev_page[i]]
                    page = self._page_open[p] + self._url_json[prev_page[i]] + "}"
                else:
                    page = self._page[p]
            else:
                page = self._page[p]
                if k == TRANSACTION:
                    placed = sim.orders[order[i]]
                    revenue = placed.ecommerce["revenue"]
                    extra = ',"ecommerce":' + _json(placed.ecommerce)
                    if placed.properties:
                        properties = ',"properties":' + _json(placed.properties)
                else:
                    custom = self._actions[action[i]][label[i]]
                    v = value[i]
                    # repr of a finite float is JSON
                    extra = ',"event":' + custom + (f',"value":{v!r}}}' if v == v else "}")
                    if self._non_interaction[action[i]]:
                        properties = ',"properties":{"non_interaction":true}'
            load = load_ms[i]
            metrics = f',"metrics":{{"page_load_ms":{round(load, 1)!r}}}' if load == load else ""
            kind = EVENT_TYPES[k]
            encoded.append(
                f'{{"v":1,"type":"{kind}","event_id":"{event_ids[i]}"{heads[s]}'
                f',"ts":"{ts_text[i]}Z","received_at":"{received_text[i]}Z","page":{page}'
                f"{contexts[s]}{extra}{dimensions[s]}{metrics}{properties}}}".encode()
            )
            site_tracking, site_id = claimed[site_keys[s]]
            records.append(
                EventRecord(
                    event_ids[i],
                    kind,
                    site_id,
                    site_tracking,
                    sim.visitor_ids[s],
                    ts_ms[i],
                    received_ms[i],
                    sim.user_agents[s],
                    url,
                    referrer,
                    revenue,
                )
            )
        return encoded, records


def _rfc3339(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
