import pyarrow as pa
import pytest

from beaconhouse.enrich.ip import (
    IP_TYPE,
    InvalidIP,
    InvalidIPError,
    anonymise,
    for_clickhouse,
    format_ips,
    invalid_ips,
    parse_ip,
    parse_ips,
)

pytestmark = pytest.mark.unit


def test_parse_ip_maps_ipv4_into_ipv6():
    assert parse_ip("203.0.113.7") == bytes(10) + b"\xff\xff" + bytes([203, 0, 113, 7])
    assert parse_ip(" 2001:db8::1 ") == bytes.fromhex("20010db8000000000000000000000001")
    assert parse_ip("[2001:db8::1]") == parse_ip("2001:db8::1")
    assert parse_ip("fe80::1%eth0") == parse_ip("fe80::1")
    assert parse_ip("::ffff:203.0.113.7") == parse_ip("203.0.113.7")


@pytest.mark.parametrize("value", ["", "256.1.1.1", "1.2.3", "example.com", "1.2.3.4:80", "2001:db8::g"])
def test_invalid_ip_raises_with_the_value(value):
    with pytest.raises(InvalidIPError) as caught:
        parse_ip(value)
    assert caught.value.value == value


def test_parse_ips_nulls_unusable_values_and_invalid_ips_lists_the_bad_ones():
    values = pa.array(["1.2.3.4", None, "", "nope", "1.2.3.4", "::1", "999.1.1.1"])
    packed = parse_ips(values)
    assert packed.type == IP_TYPE
    assert [v is not None for v in packed.to_pylist()] == [True, False, False, False, True, True, False]
    assert invalid_ips(values) == [InvalidIP(3, "nope"), InvalidIP(6, "999.1.1.1")]


def test_anonymise_ipv4_zeroes_last_octet_and_ipv6_keeps_48_bits():
    packed = parse_ips(pa.array(["203.0.113.77", "2001:db8:abcd:1234:5678:9abc:def0:1234", None]))
    assert format_ips(anonymise(packed)).to_pylist() == ["::ffff:203.0.113.0", "2001:db8:abcd::", None]


def test_anonymise_only_where_the_site_asks():
    packed = parse_ips(pa.array(["203.0.113.77", "203.0.113.77", "2001:db8:abcd:1234::1"]))
    mask = pa.array([True, False, None])
    assert format_ips(anonymise(packed, mask)).to_pylist() == [
        "::ffff:203.0.113.0",
        "::ffff:203.0.113.77",
        "2001:db8:abcd:1234::1",  # null mask: leave as is
    ]


def test_anonymise_handles_sliced_arrays():
    packed = parse_ips(pa.array(["10.0.0.1", "10.0.0.2", "10.0.0.3"])).slice(1)
    assert format_ips(anonymise(packed)).to_pylist() == ["::ffff:10.0.0.0", "::ffff:10.0.0.0"]


def test_for_clickhouse_stores_missing_as_unspecified():
    column = for_clickhouse(parse_ips(pa.array(["1.2.3.4", None])))
    assert column.null_count == 0
    assert column.to_pylist()[1] == bytes(16)
    assert format_ips(column).to_pylist() == ["::ffff:1.2.3.4", "::"]


def test_is_global_agrees_with_ipaddress_except_multicast():
    """Vectorised routability matches Python's ipaddress on 100k random IPv4 addresses,
    except multicast, which has no location and which ipaddress calls global."""
    import ipaddress

    import numpy as np

    from beaconhouse.enrich.ip import byte_matrix, is_global

    rng = np.random.default_rng(3)
    texts = [str(ipaddress.IPv4Address(int(x))) for x in rng.integers(0, 2**32, 100_000)]
    ours = is_global(byte_matrix(parse_ips(pa.array(texts))))
    multicast = [ipaddress.ip_address(t).is_multicast for t in texts]
    expected = [ipaddress.ip_address(t).is_global and not m for t, m in zip(texts, multicast, strict=True)]
    assert ours.tolist() == expected


@pytest.mark.parametrize(
    ("text", "routable"),
    [
        ("8.8.8.8", True),
        ("10.1.2.3", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("2001:4860:4860::8888", True),
        ("2a00:1450:4001::1", True),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd12:3456::1", False),
        ("2001:db8::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_is_global_special_blocks(text, routable):
    from beaconhouse.enrich.ip import byte_matrix, is_global

    assert is_global(byte_matrix(parse_ips(pa.array([text])))).tolist() == [routable]
