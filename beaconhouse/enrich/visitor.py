"""The cookieless visitor id: a keyed daily hash, as Plausible Analytics counts visitors.

``visitor_id = BLAKE2b-128(key=secret, website_id ‖ IP ‖ site-local day ‖ user agent)``,
as 32 hex characters, with BLAKE2b's personalisation set to ``bh-visitor-v1``. The
same browser on the same network gets the same id all day on one site, a different one
on another site, and a new one the next day, so a visitor can be counted within a day
but not followed across days or sites.

Unlike Plausible, which throws each day's random salt away, the key is a long-lived
secret from configuration: a replay or backfill of an old day must produce the same
id, because ``visitor_id`` is part of raw.events' sorting (dedup) key. The price: whoever
holds the secret could recompute an id for a *guessed* IP and user agent. Keep the
secret out of the warehouse and rotate it (docs/enrichment.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.enrich.distinct import ArrayLike, map_distinct

_PERSON = b"bh-visitor-v1"  # domain separation: these hashes are for nothing else
_DIGEST_SIZE = 16
MIN_SECRET_BYTES = 16


_EPOCH = dt.date(1970, 1, 1)


def _key(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the visitor id secret must be at least {MIN_SECRET_BYTES} bytes")
    # BLAKE2b keys are at most 64 bytes; a longer secret is hashed down to one.
    return secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()


def _keyed_hasher(secret: bytes) -> Any:
    # Keying BLAKE2b costs a compression; copying a keyed state is cheaper per id.
    return hashlib.blake2b(key=_key(secret), digest_size=_DIGEST_SIZE, person=_PERSON)


def _message(website_id: int, ip: bytes | None, user_agent: str | None, epoch_day: int) -> bytes:
    # Fixed-width fields first and the one variable-length field last, so no two
    # different inputs give the same bytes. A missing IP is flagged, not "::".
    address = b"\x00" + bytes(16) if ip is None else b"\x01" + ip
    fixed = website_id.to_bytes(4, "big") + address + epoch_day.to_bytes(4, "big", signed=True)
    return fixed + (user_agent or "").encode()


def cookieless_visitor_id(
    secret: bytes, website_id: int, ip: bytes | None, user_agent: str | None, day: dt.date
) -> str:
    """The visitor id for one event (32 hex characters).

    ``ip`` is the full 16-byte address (None if unknown), ``day`` the site-local date.
    """
    digest = _keyed_hasher(secret)
    digest.update(_message(website_id, ip, user_agent, (day - _EPOCH).days))
    return str(digest.hexdigest())


def site_local_dates(client_ts: ArrayLike, website_id: ArrayLike, timezones: Mapping[int, str]) -> pa.Array:
    """The calendar day (``date32``) of each UTC timestamp in its site's time zone."""
    ts = client_ts.combine_chunks() if isinstance(client_ts, pa.ChunkedArray) else client_ts
    sites = website_id.combine_chunks() if isinstance(website_id, pa.ChunkedArray) else website_id
    days = pc.cast(ts, pa.date32())  # UTC days; replaced below for other zones
    for zone in sorted(set(timezones.values()) - {"UTC", "Etc/UTC"}):
        ids = [site for site, tz in timezones.items() if tz == zone]
        rows = pc.is_in(sites, value_set=pa.array(ids, type=sites.type))
        if not pc.any(rows).as_py():
            continue
        zoned = ts.cast(pa.timestamp(ts.type.unit, tz="UTC")).cast(pa.timestamp(ts.type.unit, tz=zone))
        days = pc.if_else(rows, pc.cast(pc.local_timestamp(zoned), pa.date32()), days)
    return days


def cookieless_visitor_ids(
    secret: bytes,
    website_id: ArrayLike,
    packed_ips: ArrayLike,
    user_agents: ArrayLike,
    days: ArrayLike,
) -> pa.Array:
    """:func:`cookieless_visitor_id` per row, hashing each distinct tuple once.

    ``days`` is a ``date32`` array (see :func:`site_local_dates`).
    """
    keyed = _keyed_hasher(secret)

    def one(site: int, ip: bytes | None, user_agent: str | None, epoch_day: int) -> tuple[str]:
        digest = keyed.copy()
        digest.update(_message(site, ip, user_agent, epoch_day))
        return (digest.hexdigest(),)

    epoch_days = pc.cast(days, pa.int32())
    (ids,) = map_distinct([website_id, packed_ips, user_agents, epoch_days], one, [pa.string()])
    return ids


def fill_visitor_ids(
    client_ids: ArrayLike,
    secret: bytes,
    website_id: ArrayLike,
    packed_ips: ArrayLike,
    user_agents: ArrayLike,
    days: ArrayLike,
) -> tuple[pa.Array, pa.Array]:
    """``(visitor_id, visitor_id_kind)``: the client's id where it sent a non-empty one
    ('client'), otherwise the cookieless id ('cookieless'), computed only for those rows."""
    ids = client_ids.combine_chunks() if isinstance(client_ids, pa.ChunkedArray) else client_ids
    missing = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(ids), ""), True)
    kind = pc.if_else(missing, "cookieless", "client")
    if not pc.any(missing).as_py():
        return ids, kind
    rows = pa.array(np.flatnonzero(missing.to_numpy(zero_copy_only=False)))
    hashed = cookieless_visitor_ids(
        secret, website_id.take(rows), packed_ips.take(rows), user_agents.take(rows), days.take(rows)
    )
    return pc.replace_with_mask(ids, missing, hashed), kind
