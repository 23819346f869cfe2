import ipaddress
import struct

import pyarrow as pa
import pytest

from beaconhouse.enrich.geo import COLUMNS, GeoLocator
from beaconhouse.enrich.ip import parse_ip, parse_ips

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def bundled():
    return GeoLocator()


# What the bundled registry data (iptocc 3.3.170) says; registry data names the country
# a block is registered in, so Cloudflare's 1.1.1.1 (APNIC research block) is AU.
@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("1.1.1.1", "AU"),
        ("81.2.69.160", "GB"),
        ("193.0.6.139", "NL"),
        ("217.160.0.1", "DE"),
        ("133.242.0.1", "JP"),
        ("200.160.2.3", "BR"),
        ("2001:4860:4860::8888", "US"),
        ("2a00:1450:4001::1", "IE"),
    ],
)
def test_country_from_the_bundled_registry_data(bundled, ip, country):
    assert bundled.locate_one(parse_ip(ip)) == (country, "", "")


@pytest.mark.parametrize(
    "ip",
    ["10.1.2.3", "192.168.0.1", "172.16.5.4", "127.0.0.1", "100.64.0.1", "169.254.1.1", "::1", "fe80::1"],
)
def test_private_and_loopback_have_no_location(bundled, ip):
    assert bundled.locate_one(parse_ip(ip)) == ("", "", "")


def test_locate_array_once_per_distinct_ip(bundled):
    columns = bundled.locate(parse_ips(pa.array(["8.8.8.8", "10.0.0.1", None, "8.8.8.8", "bad"])))
    assert tuple(columns) == COLUMNS
    assert columns["country_code"].to_pylist() == ["US", "", "", "US", ""]


# A MaxMind DB (format 2.0) with a few IPv4 networks, written here so the test needs
# no downloaded database. Format: a binary search tree over address bits, then 16 zero
# bytes, a data section of typed values, and a metadata map after a marker.
def _encode(value):
    def control(type_, size):
        if type_ <= 7:
            return bytes([(type_ << 5) | size])
        return bytes([size, type_ - 7])

    if isinstance(value, str):
        data = value.encode()
        return control(2, len(data)) + data
    if isinstance(value, dict):
        return control(7, len(value)) + b"".join(_encode(k) + _encode(v) for k, v in value.items())
    if isinstance(value, list):
        return control(11, len(value)) + b"".join(_encode(v) for v in value)
    if isinstance(value, tuple):  # (type, int): uint16 = 5, uint32 = 6, uint64 = 9
        type_, number = value
        data = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
        return control(type_, len(data)) + data
    raise TypeError(value)


def write_mmdb(path, networks):
    records = {}  # node id -> [left, right], a child is ("node", id) or ("data", offset)
    data = b""
    root = 0
    records[root] = [None, None]
    for cidr, record in networks.items():
        network = ipaddress.ip_network(cidr)
        offset = len(data)
        data += _encode(record)
        bits = format(int(network.network_address), "032b")[: network.prefixlen]
        node = root
        for i, bit in enumerate(bits):
            side = int(bit)
            if i == len(bits) - 1:
                records[node][side] = ("data", offset)
            else:
                if records[node][side] is None:
                    new = len(records)
                    records[new] = [None, None]
                    records[node][side] = ("node", new)
                node = records[node][side][1]
    count = len(records)

    def value(child):
        if child is None:
            return count
        kind, number = child
        return number if kind == "node" else count + 16 + number

    tree = b"".join(
        struct.pack(">I", value(left))[1:] + struct.pack(">I", value(right))[1:]
        for left, right in (records[i] for i in range(count))
    )
    metadata = {
        "node_count": (6, count),
        "record_size": (5, 24),
        "ip_version": (5, 4),
        "database_type": "Test-City",
        "languages": ["en"],
        "binary_format_major_version": (5, 2),
        "binary_format_minor_version": (5, 0),
        "build_epoch": (9, 1_700_000_000),
        "description": {"en": "beaconhouse test database"},
    }
    path.write_bytes(tree + bytes(16) + data + b"\xab\xcd\xefMaxMind.com" + _encode(metadata))
    return path


@pytest.fixture
def city_db(tmp_path):
    return write_mmdb(
        tmp_path / "city.mmdb",
        {
            "81.2.69.0/24": {
                "country": {"iso_code": "GB"},
                "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
                "city": {"names": {"en": "London"}},
            },
            "8.8.8.0/24": {"country": {"iso_code": "US"}, "subdivisions": [{"names": {"en": "California"}}]},
            "1.1.1.0/24": {"city": {"names": {"en": "Nowhere"}}},
        },
    )


def test_mmdb_gives_region_and_city(city_db):
    geo = GeoLocator(city_db)
    try:
        columns = geo.locate(
            parse_ips(pa.array(["81.2.69.160", "8.8.8.8", "1.1.1.1", "193.0.6.139", "10.0.0.1"]))
        )
        rows = list(zip(*(columns[name].to_pylist() for name in COLUMNS), strict=True))
        assert rows == [
            ("GB", "GB-ENG", "London"),  # ISO 3166-2 when the database has a code
            ("US", "California", ""),  # its name otherwise
            ("AU", "", "Nowhere"),  # no country in the record: the registry's
            ("NL", "", ""),  # not in the database: the registry's country
            ("", "", ""),
        ]
        # an IPv6 address in an IPv4-only database falls back to the registry
        assert geo.locate_one(parse_ip("2001:4860:4860::8888")) == ("US", "", "")
    finally:
        geo.close()
