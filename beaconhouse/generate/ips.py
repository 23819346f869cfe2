"""Client IPs from real, well-known public allocations, per country.

Each block is a range a large access network has held for years (Deutsche Telekom's
``79.192.0.0/10``, Comcast's ``73.0.0.0/8``, SoftBank's ``126.0.0.0/11``, …), so any
IP-to-country database puts its addresses in that country. Crawlers come from their
operators' published ranges (Googlebot ``66.249.64.0/19``, bingbot ``157.55.39.0/24``,
…) or from cloud providers. No private, reserved or documentation ranges are used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import numpy as np

#: IPv4 blocks per country (ISO 3166-1 alpha-2)
COUNTRY_V4: dict[str, tuple[str, ...]] = {
    "DE": ("79.192.0.0/10", "91.0.0.0/10", "87.128.0.0/10", "84.128.0.0/10"),  # Deutsche Telekom
    "US": (
        "73.0.0.0/8",
        "98.192.0.0/10",  # Comcast
        "99.0.0.0/10",  # AT&T
        "72.64.0.0/11",
        "71.160.0.0/11",
    ),  # Verizon
    "JP": (
        "126.0.0.0/11",  # SoftBank
        "60.32.0.0/12",
        "153.128.0.0/10",
    ),  # NTT OCN
    "GB": (
        "86.128.0.0/10",
        "81.128.0.0/12",  # BT
        "5.64.0.0/13",
        "90.192.0.0/11",
    ),  # Sky
    "FR": (
        "90.0.0.0/10",
        "90.64.0.0/11",  # Orange
        "82.64.0.0/14",
        "78.192.0.0/12",  # Free
        "109.208.0.0/13",
    ),  # Orange
    "BR": ("179.208.0.0/12", "191.176.0.0/12"),
    "IN": (
        "122.160.0.0/12",  # Airtel
        "117.192.0.0/10",  # BSNL
        "49.32.0.0/12",
    ),  # Jio
    "ES": ("83.32.0.0/11", "88.0.0.0/11"),  # Telefónica
    "CA": (
        "99.224.0.0/11",  # Rogers
        "70.48.0.0/13",
    ),  # Bell
}

#: IPv6 blocks per country; a share of the visitors of these countries use IPv6
COUNTRY_V6: dict[str, tuple[str, ...]] = {
    "DE": ("2003::/19",),  # Deutsche Telekom
    "US": ("2601::/20", "2607:fb90::/32"),  # Comcast, T-Mobile US
    "JP": ("240b:10::/32", "2400:4050::/32"),  # SoftBank, NTT
    "GB": ("2a00:23c0::/27", "2a02:c7c::/30"),  # BT, Sky
    "FR": ("2a01:e00::/26", "2a01:cb00::/24"),  # Free, Orange
    "BR": ("2804:14c::/31",),
    "IN": ("2409:4000::/22",),  # Jio
    "CA": ("2607:fea8::/32",),  # Rogers
}

#: where crawlers and scripts come from
BOT_NETWORKS: dict[str, tuple[str, ...]] = {
    "google": ("66.249.64.0/19",),
    "bing": ("157.55.39.0/24", "207.46.13.0/24", "40.77.167.0/24"),
    "ahrefs": ("54.36.148.0/23",),
    "semrush": ("185.191.171.0/24",),
    "openai": ("20.171.206.0/24", "52.230.152.0/24"),
    "yandex": ("5.255.250.0/24",),
    "apple": ("17.241.219.0/24",),
    "bytedance": ("110.249.201.0/24",),
    "meta": ("69.171.224.0/19", "173.252.64.0/18"),
    "azure": ("20.191.45.0/24",),
    "aws": ("3.80.0.0/12",),
    "gcp": ("34.64.0.0/10",),
    "digitalocean": ("159.89.0.0/16", "167.71.0.0/16"),
}

COUNTRIES: tuple[str, ...] = tuple(COUNTRY_V4)


class _Blocks:
    """A set of CIDR blocks, sampled in proportion to their size."""

    def __init__(self, cidrs: Sequence[str]) -> None:
        networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
        self.version = networks[0].version
        self.bases = [int(net.network_address) for net in networks]
        self.host_bits = [net.max_prefixlen - net.prefixlen for net in networks]
        # Weight by log size: a /8 should not drown a /12 completely.
        weights = np.array(self.host_bits, dtype=np.float64)
        self.p = weights / weights.sum()

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        which = rng.choice(len(self.bases), size=n, p=self.p)
        raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
        out: list[str] = []
        for block, (hi, lo) in zip(which.tolist(), raw.tolist(), strict=True):
            bits = self.host_bits[block]
            offset = ((hi << 63) | lo) & ((1 << bits) - 1)
            if self.version == 4:
                # Skip .0 and .255: real clients rarely have them and they look odd.
                offset = (offset & ~0xFF) | (1 + (offset & 0xFF) % 254) if bits >= 8 else offset
                out.append(str(ipaddress.IPv4Address(self.bases[block] + offset)))
            else:
                out.append(ipaddress.IPv6Address(self.bases[block] + offset).compressed)
        return out


class IpPool:
    """Samples client addresses by country, and crawler addresses by network."""

    def __init__(self, v6_share: float = 0.3) -> None:
        self.v6_share = v6_share
        self._v4 = {country: _Blocks(cidrs) for country, cidrs in COUNTRY_V4.items()}
        self._v6 = {country: _Blocks(cidrs) for country, cidrs in COUNTRY_V6.items()}
        self._bots = {name: _Blocks(cidrs) for name, cidrs in BOT_NETWORKS.items()}

    def for_countries(self, rng: np.random.Generator, countries: Sequence[str]) -> list[str]:
        """One address per entry of ``countries``, IPv6 for a share where the country has it."""
        out = [""] * len(countries)
        use_v6 = rng.random(len(countries)) < self.v6_share
        groups: dict[tuple[str, bool], list[int]] = {}
        for i, (country, v6) in enumerate(zip(countries, use_v6.tolist(), strict=True)):
            groups.setdefault((country, v6 and country in self._v6), []).append(i)
        for (country, v6), indices in sorted(groups.items()):
            blocks = self._v6[country] if v6 else self._v4[country]
            for i, address in zip(indices, blocks.sample(rng, len(indices)), strict=True):
                out[i] = address
        return out

    def for_network(self, rng: np.random.Generator, network: str, n: int) -> list[str]:
        """``n`` addresses from a crawler network of :data:`BOT_NETWORKS`."""
        return self._bots[network].sample(rng, n)
