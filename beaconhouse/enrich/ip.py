"""Parse, anonymise and encode client IP addresses.

Every address is held as 16 bytes, IPv4 mapped into IPv6 (``::ffff:a.b.c.d``), in an
Arrow ``fixed_size_binary(16)`` array. That is exactly ClickHouse's ``IPv6`` layout:
ClickHouse reads Arrow/Parquet ``FIXED_SIZE_BINARY`` straight into an ``IPv6`` column,
and clickhouse-connect's native insert accepts the 16 packed bytes too (it passes each
value to :func:`ipaddress.ip_address`, which takes packed bytes). A string column would
also load, but would be parsed again by the server; bytes are smaller and exact.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beaconhouse.enrich.distinct import ArrayLike, distinct, map_distinct

IP_TYPE = pa.binary(16)
_V4_MAPPED_PREFIX = b"\x00" * 10 + b"\xff\xff"
#: ``::``, what a row without a usable IP stores (the IPv6 column is not Nullable).
UNSPECIFIED = bytes(16)


class InvalidIPError(ValueError):
    """A value that is not an IPv4 or IPv6 address."""

    def __init__(self, value: str) -> None:
        super().__init__(f"not an IP address: {value!r}")
        self.value = value


@dataclass(frozen=True)
class InvalidIP:
    """One row whose IP could not be parsed, for the loader to report or quarantine."""

    row: int
    value: str


def parse_ip(value: str) -> bytes:
    """The address as 16 bytes (IPv4 mapped into IPv6); :class:`InvalidIPError` if invalid.

    Surrounding whitespace and the brackets of ``[2001:db8::1]`` are accepted; a zone
    (``fe80::1%eth0``) is dropped, as ClickHouse cannot store it.
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidIPError(value) from None
    if isinstance(address, ipaddress.IPv4Address):
        return _V4_MAPPED_PREFIX + address.packed
    return address.packed


def _parse_or_none(value: str | None) -> tuple[bytes | None, bool]:
    """(packed or None, whether the value was present but invalid)."""
    if value is None or not value.strip():
        return None, False
    try:
        return parse_ip(value), False
    except InvalidIPError:
        return None, True


def parse_ips(values: ArrayLike) -> pa.Array:
    """Parse a string array of IPs (each distinct value once) to ``fixed_size_binary(16)``.

    Null, empty and invalid values become null; :func:`invalid_ips` lists the invalid ones.
    """
    (packed,) = map_distinct(values, lambda value: _parse_or_none(value)[:1], [IP_TYPE])
    return packed


def invalid_ips(values: ArrayLike) -> list[InvalidIP]:
    """The rows whose IP is present but not an address, in row order."""
    (bad,) = map_distinct(values, lambda value: _parse_or_none(value)[1:], [pa.bool_()])
    rows = pc.indices_nonzero(bad).to_pylist()
    column = values.take(pa.array(rows, type=pa.int64()))
    return [InvalidIP(row, value) for row, value in zip(rows, column.to_pylist(), strict=True)]


def _byte_matrix(packed: pa.Array) -> np.ndarray:
    """A writable (rows, 16) uint8 copy of a ``fixed_size_binary(16)`` array's values."""
    data = packed.buffers()[1]
    if data is None:
        return np.zeros((len(packed), 16), dtype=np.uint8)
    flat = np.frombuffer(data, dtype=np.uint8)
    start = packed.offset * 16
    return flat[start : start + len(packed) * 16].reshape(-1, 16).copy()


def is_v4_mapped(matrix: np.ndarray) -> np.ndarray:
    """Per row of a (rows, 16) byte matrix: is it an IPv4-mapped address?"""
    prefix = np.frombuffer(_V4_MAPPED_PREFIX, dtype=np.uint8)
    return np.asarray((matrix[:, :12] == prefix).all(axis=1))


def anonymise(packed: ArrayLike, mask: ArrayLike | None = None) -> pa.Array:
    """Zero the host part of the addresses where ``mask`` is true (all rows without one).

    IPv4 keeps its /24 (last octet zeroed), IPv6 its /48 (the usual site prefix, as
    Google Analytics and Matomo do). This is a byte mask, so it runs over the whole
    column in NumPy rather than per distinct value.
    """
    array = packed.combine_chunks() if isinstance(packed, pa.ChunkedArray) else packed
    matrix = _byte_matrix(array)
    rows = (
        np.ones(len(array), dtype=bool)
        if mask is None
        else np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
    )
    v4 = is_v4_mapped(matrix)
    matrix[rows & v4, 15] = 0
    matrix[rows & ~v4, 6:] = 0
    result = pa.FixedSizeBinaryArray.from_buffers(IP_TYPE, len(array), [None, pa.py_buffer(matrix.tobytes())])
    if array.null_count:
        result = pc.if_else(pc.is_valid(array), result, pa.scalar(None, type=IP_TYPE))
    return result


def for_clickhouse(packed: ArrayLike) -> pa.Array:
    """The column as ClickHouse's non-Nullable ``IPv6`` stores it: null becomes ``::``."""
    return pc.fill_null(packed, pa.scalar(UNSPECIFIED, type=IP_TYPE))


def format_ips(packed: ArrayLike) -> pa.Array:
    """Human-readable strings (``::ffff:203.0.113.0`` style, as ClickHouse prints IPv6)."""
    groups = distinct(packed)
    texts = [None if value is None else format_ip(value) for value in groups.values[0].to_pylist()]
    return groups.expand([pa.array(texts, type=pa.string())])[0]


def format_ip(packed: bytes) -> str:
    """One 16-byte address as text, IPv4-mapped ones as ``::ffff:a.b.c.d``."""
    address = ipaddress.IPv6Address(packed)
    # Python before 3.13 prints a mapped address in hex (::ffff:cb00:7100).
    return f"::ffff:{address.ipv4_mapped}" if address.ipv4_mapped else str(address)
