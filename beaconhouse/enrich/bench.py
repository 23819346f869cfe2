"""Micro-benchmark of :func:`beaconhouse.enrich.enrich`, run by hand (not a test).

    .venv/bin/python -m beaconhouse.enrich.bench [--rows 200000] [--user-agents 2000] [--ips 5000]

Prints rows per second for a cold enricher (empty caches, as on a loader's first
batch) and a warm one (the same distinct values again, as on later batches).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

import pyarrow as pa

from beaconhouse.enrich import Enricher, EnrichOptions, SiteInfo

_BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{v} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S9{v}B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 "
    "Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (compatible; Googlebot/2.{v}; +http://www.google.com/bot.html)",
)
_REFERRERS = ("", "", "https://www.google.com/", "https://m.facebook.com/", "https://news.example.org/a/{i}")


def make_batch(rows: int, user_agents: int, ips: int, seed: int = 7) -> pa.Table:
    """A synthetic loader batch with the given numbers of distinct user agents and IPs."""
    rng = random.Random(seed)  # noqa: S311  (synthetic data, not security)
    uas = [rng.choice(_BROWSERS).format(v=i) + f" app/{i}" for i in range(user_agents)]
    addresses = [
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(ips)
    ]
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return pa.table(
        {
            "website_id": pa.array([rng.randrange(1, 4) for _ in range(rows)], pa.uint32()),
            "client_ts": pa.array(
                [start + dt.timedelta(seconds=rng.randrange(3 * 86400)) for _ in range(rows)],
                pa.timestamp("ms", tz="UTC"),
            ),
            "page_url": [
                f"https://www.site{rng.randrange(1, 4)}.example/p/{rng.randrange(2000)}"
                + rng.choice(("", "", "?utm_source=newsletter&utm_medium=email", "?gclid=abc"))
                for _ in range(rows)
            ],
            "referrer_url": [rng.choice(_REFERRERS).format(i=rng.randrange(200)) for _ in range(rows)],
            "user_agent": [rng.choice(uas) for _ in range(rows)],
            "ip": [rng.choice(addresses) for _ in range(rows)],
            "visitor_id": [rng.choice((None, "", f"client-{rng.randrange(1000)}")) for _ in range(rows)],
        }
    )


def main() -> None:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--user-agents", type=int, default=2_000)
    parser.add_argument("--ips", type=int, default=5_000)
    args = parser.parse_args()
    batch = make_batch(args.rows, args.user_agents, args.ips)
    sites = {
        i: SiteInfo(i, f"site{i}.example", ("UTC", "Europe/Berlin", "America/New_York")[i - 1])
        for i in (1, 2, 3)
    }
    started = time.perf_counter()
    enricher = Enricher(EnrichOptions(visitor_id_secret=b"benchmark-secret-0123456789"))
    setup = time.perf_counter() - started
    print(f"{args.rows} rows, {args.user_agents} distinct UAs, {args.ips} distinct IPs; setup {setup:.2f}s")
    for label in ("cold", "warm", "warm"):
        started = time.perf_counter()
        enricher.enrich(batch, sites)
        elapsed = time.perf_counter() - started
        print(f"{label}: {elapsed:.3f}s = {args.rows / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
