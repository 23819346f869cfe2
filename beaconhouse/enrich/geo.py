"""Country (and, with a MaxMind-format database, region and city) from the client IP.

The country comes from ``iptocc``, a PyPI package that embeds the five Regional
Internet Registries' delegation files (the country each address block is *registered*
to; RIR data agrees with commercial geolocation for roughly 95 % of IPv4 addresses,
less for anycast and multinational networks). It is public data under the package's
MIT/Apache-2.0 licence, so nothing has to be downloaded at run time.

For region and city, configure a MaxMind-format ``.mmdb`` file (GeoLite2/GeoIP2 City,
DB-IP City Lite, IPinfo, …): it is read with the ``maxminddb`` package, and its
country wins over the registry's when it has one.

Addresses that are not globally routable (private, loopback, link-local, CGNAT,
documentation) have no location: ''.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import iptocc
import maxminddb
import numpy as np
import pyarrow as pa

from beaconhouse.enrich.distinct import ArrayLike, distinct
from beaconhouse.enrich.ip import IP_TYPE, byte_matrix, is_global, text_of

COLUMNS = ("country_code", "region", "city")
_UNKNOWN = ("", "", "")


def _name(record: Any) -> str:
    if not isinstance(record, dict):
        return ""
    names = record.get("names")
    if isinstance(names, dict) and isinstance(names.get("en"), str):
        return str(names["en"])
    return ""


class GeoLocator:
    """Looks up the :data:`COLUMNS` for arrays of addresses."""

    def __init__(self, mmdb_path: str | Path | None = None) -> None:
        self.mmdb_path = Path(mmdb_path) if mmdb_path else None
        self._reader = maxminddb.open_database(str(self.mmdb_path)) if self.mmdb_path else None

    def close(self) -> None:
        """Close the ``.mmdb`` file, if one is open."""
        if self._reader is not None:
            self._reader.close()

    def _mmdb(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[str, str, str]:
        if self._reader is None:
            return _UNKNOWN
        try:
            record = self._reader.get(address)
        except ValueError:  # an IPv6 address in an IPv4-only database
            return _UNKNOWN
        if not isinstance(record, dict):
            return _UNKNOWN
        country = record.get("country")
        code = country.get("iso_code", "") if isinstance(country, dict) else ""
        code = code if isinstance(code, str) else ""
        region = ""
        subdivisions = record.get("subdivisions")
        if isinstance(subdivisions, list) and subdivisions and isinstance(subdivisions[0], dict):
            # ISO 3166-2 ("DE-BY") when the database has it: stable across languages.
            iso = subdivisions[0].get("iso_code")
            region = f"{code}-{iso}" if code and isinstance(iso, str) and iso else _name(subdivisions[0])
        return code, region, _name(record.get("city"))

    def locate_one(self, packed: bytes | None) -> tuple[str, str, str]:
        """(country_code, region, city) for one 16-byte address ('' when unknown)."""
        columns = self.locate(pa.array([packed], type=IP_TYPE))
        return columns["country_code"][0].as_py(), columns["region"][0].as_py(), columns["city"][0].as_py()

    def locate(self, packed_ips: ArrayLike) -> dict[str, pa.Array]:
        """The :data:`COLUMNS` for a ``fixed_size_binary(16)`` array, each distinct IP once.

        Use the raw address, before anonymisation: a /24 can span countries.
        Routability is a vectorised test over the distinct addresses; the registry
        lookup is one call into iptocc (it loops in Rust) for all the routable ones.
        """
        groups = distinct(packed_ips)
        values = groups.values[0]
        routable = is_global(byte_matrix(values)) & np.asarray(
            values.is_valid().to_numpy(zero_copy_only=False), dtype=bool
        )
        rows = np.flatnonzero(routable)
        found = values.take(pa.array(rows, type=pa.int64())).to_pylist()
        texts = [text_of(packed) for packed in found]
        codes = list(iptocc.country_code(texts)) if texts else []
        if self._reader is not None:
            located = []
            for text, registry_code in zip(texts, codes, strict=True):
                code, region, city = self._mmdb(ipaddress.ip_address(text))
                located.append((code or registry_code or "", region, city))
        else:
            located = [(code or "", "", "") for code in codes]
        arrays = []
        for position in range(len(COLUMNS)):
            # Unroutable and missing addresses take the '' at index 0.
            column = pa.array(["", *(entry[position] for entry in located)], type=pa.string())
            index = np.zeros(len(values), dtype=np.int64)
            index[rows] = np.arange(1, len(rows) + 1)
            arrays.append(column.take(pa.array(index)))
        return dict(zip(COLUMNS, groups.expand(arrays), strict=True))
