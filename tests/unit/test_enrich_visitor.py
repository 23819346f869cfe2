import datetime as dt

import pyarrow as pa
import pytest

from beaconhouse.enrich.ip import parse_ip, parse_ips
from beaconhouse.enrich.visitor import (
    cookieless_visitor_id,
    cookieless_visitor_ids,
    fill_visitor_ids,
    site_local_dates,
)

pytestmark = pytest.mark.unit

SECRET = b"a-test-secret-of-enough-bytes"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
IP = parse_ip("203.0.113.7")
DAY = dt.date(2026, 11, 22)


def test_id_is_a_stable_hex_digest():
    first = cookieless_visitor_id(SECRET, 1, IP, UA, DAY)
    assert first == cookieless_visitor_id(SECRET, 1, IP, UA, DAY)
    assert len(first) == 32
    assert int(first, 16) >= 0


@pytest.mark.parametrize(
    "changed",
    [
        {"website_id": 2},
        {"day": DAY + dt.timedelta(days=1)},
        {"ip": parse_ip("203.0.113.8")},
        {"ip": None},
        {"user_agent": UA + " "},
        {"secret": SECRET + b"!"},
    ],
)
def test_id_changes_across_days_sites_and_devices(changed):
    base = {"secret": SECRET, "website_id": 1, "ip": IP, "user_agent": UA, "day": DAY}
    assert cookieless_visitor_id(**base) != cookieless_visitor_id(**{**base, **changed})


def test_short_secret_is_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        cookieless_visitor_id(b"short", 1, IP, UA, DAY)


def test_long_secret_is_accepted():
    assert len(cookieless_visitor_id(b"x" * 100, 1, IP, UA, DAY)) == 32


def ts(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_day_is_the_site_local_date():
    client_ts = pa.array(
        [ts(2026, 11, 22, 23, 30), ts(2026, 11, 22, 23, 30), ts(2026, 11, 23, 3, 0), ts(2026, 11, 22, 12)],
        pa.timestamp("ms", tz="UTC"),
    )
    sites = pa.array([1, 2, 3, 1], pa.uint32())
    days = site_local_dates(client_ts, sites, {1: "UTC", 2: "Europe/Berlin", 3: "America/New_York"})
    assert days.to_pylist() == [
        dt.date(2026, 11, 22),
        dt.date(2026, 11, 23),  # 00:30 in Berlin
        dt.date(2026, 11, 22),  # 22:00 the day before in New York
        dt.date(2026, 11, 22),
    ]


def test_stable_within_a_local_day_and_new_after_local_midnight():
    # Berlin: 00:05 and 23:55 local on Nov 22 are one day; 00:05 on Nov 23 is the next.
    client_ts = pa.array(
        [ts(2026, 11, 21, 23, 5), ts(2026, 11, 22, 22, 55), ts(2026, 11, 22, 23, 5)],
        pa.timestamp("ms", tz="UTC"),
    )
    sites = pa.array([7, 7, 7], pa.uint32())
    days = site_local_dates(client_ts, sites, {7: "Europe/Berlin"})
    ids = cookieless_visitor_ids(
        SECRET, sites, parse_ips(pa.array(["203.0.113.7"] * 3)), pa.array([UA] * 3), days
    )
    first, same_day, next_day = ids.to_pylist()
    assert first == same_day != next_day
    assert first == cookieless_visitor_id(SECRET, 7, IP, UA, dt.date(2026, 11, 22))


def test_fill_keeps_client_ids_and_hashes_the_rest():
    client_ids = pa.array(["c-1", None, "", "  ", "c-2"])
    n = len(client_ids)
    sites = pa.array([1] * n, pa.uint32())
    packed = parse_ips(pa.array(["203.0.113.7"] * n))
    days = pa.array([DAY] * n, pa.date32())
    ids, kind = fill_visitor_ids(client_ids, SECRET, sites, packed, pa.array([UA] * n), days)
    expected = cookieless_visitor_id(SECRET, 1, IP, UA, DAY)
    assert ids.to_pylist() == ["c-1", expected, expected, expected, "c-2"]
    assert kind.to_pylist() == ["client", "cookieless", "cookieless", "cookieless", "client"]
