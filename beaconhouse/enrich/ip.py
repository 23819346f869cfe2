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
import socket
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


def pack_ip(text: str) -> bytes | None:
    """The address as 16 bytes (IPv4 mapped into IPv6), or None if ``text`` is not one.

    Strict, as :func:`ipaddress.ip_address` is: dotted-quad IPv4 without leading zeros,
    or IPv6 text; no surrounding spaces. A zone (``fe80::1%eth0``) is accepted and
    dropped, as ClickHouse cannot store it. ``inet_pton`` does the work in C: a batch
    can hold tens of thousands of distinct addresses, and :mod:`ipaddress` costs about
    ten microseconds each.
    """
    try:
        return _V4_MAPPED_PREFIX + socket.inet_pton(socket.AF_INET, text)
    except (OSError, UnicodeError, ValueError):
        pass
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, UnicodeError, ValueError):
        pass
    if "%" in text:
        try:
            scoped = ipaddress.ip_address(text)
        except ValueError:
            return None
        return scoped.packed if isinstance(scoped, ipaddress.IPv6Address) else None
    return None


def parse_ip(value: str) -> bytes:
    """The address as 16 bytes (IPv4 mapped into IPv6); :class:`InvalidIPError` if invalid.

    Surrounding whitespace and the brackets of ``[2001:db8::1]`` are accepted; a zone
    (``fe80::1%eth0``) is dropped, as ClickHouse cannot store it.
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    packed = pack_ip(text)
    if packed is None:
        raise InvalidIPError(value)
    return packed


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
    groups = distinct(values)
    packed = [None if value is None else _parse_or_none(value)[0] for value in groups.values[0].to_pylist()]
    return groups.expand([pa.array(packed, type=IP_TYPE)])[0]


def invalid_ips(values: ArrayLike) -> list[InvalidIP]:
    """The rows whose IP is present but not an address, in row order."""
    (bad,) = map_distinct(values, lambda value: _parse_or_none(value)[1:], [pa.bool_()])
    rows = pc.indices_nonzero(bad).to_pylist()
    column = values.take(pa.array(rows, type=pa.int64()))
    return [InvalidIP(row, value) for row, value in zip(rows, column.to_pylist(), strict=True)]


def byte_matrix(packed: pa.Array) -> np.ndarray:
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


# Blocks that are not globally reachable, from IANA's special-purpose address
# registries (plus multicast): such addresses have no location.
_NOT_GLOBAL_V4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)  # fmt: skip
_NOT_GLOBAL_V6 = (
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)  # fmt: skip


def _networks(cidrs: tuple[str, ...]) -> list[tuple[int, int]]:
    """(network as int, prefix length) per CIDR."""
    return [(int(n.network_address), n.prefixlen) for n in map(ipaddress.ip_network, cidrs)]


_V4_BLOCKS = _networks(_NOT_GLOBAL_V4)
_V6_BLOCKS = _networks(_NOT_GLOBAL_V6)


def is_global(matrix: np.ndarray) -> np.ndarray:
    """Per row of a (rows, 16) byte matrix: a globally reachable address?

    Vectorised over the rows: each block is one masked comparison of the address's
    high and low 64 bits.
    """
    words = np.ascontiguousarray(matrix).view(">u8").astype(np.uint64)
    high, low = words[:, 0], words[:, 1]
    v4 = is_v4_mapped(matrix)
    v4_value = low & np.uint64(0xFFFFFFFF)
    blocked = np.zeros(len(matrix), dtype=bool)
    for network, prefix in _V4_BLOCKS:
        mask = np.uint64((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF)
        blocked |= v4 & ((v4_value & mask) == np.uint64(network))
    for network, prefix in _V6_BLOCKS:
        net_high, net_low = np.uint64(network >> 64), np.uint64(network & (2**64 - 1))
        high_bits, low_bits = min(prefix, 64), max(prefix - 64, 0)
        high_mask = np.uint64(((1 << high_bits) - 1) << (64 - high_bits)) if high_bits else np.uint64(0)
        low_mask = np.uint64(((1 << low_bits) - 1) << (64 - low_bits)) if low_bits else np.uint64(0)
        blocked |= ~v4 & ((high & high_mask) == net_high) & ((low & low_mask) == net_low)
    return np.asarray(~blocked)


def text_of(packed: bytes) -> str:
    """An address as its usual text: dotted quad for IPv4-mapped ones."""
    if packed[:12] == _V4_MAPPED_PREFIX:
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return socket.inet_ntop(socket.AF_INET6, packed)


def anonymise(packed: ArrayLike, mask: ArrayLike | None = None) -> pa.Array:
    """Zero the host part of the addresses where ``mask`` is true (all rows without one).

    IPv4 keeps its /24 (last octet zeroed), IPv6 its /48 (the usual site prefix, as
    Google Analytics and Matomo do). This is a byte mask, so it runs over the whole
    column in NumPy rather than per distinct value.
    """
    array = packed.combine_chunks() if isinstance(packed, pa.ChunkedArray) else packed
    matrix = byte_matrix(array)
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
