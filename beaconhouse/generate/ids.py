"""Random identifiers drawn from the run's RNG, so the same seed gives the same ids."""

from __future__ import annotations

import numpy as np


def uuid4_strings(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` version-4 UUIDs (``xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx``)."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    h = raw.tobytes().hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


def hex_ids(rng: np.random.Generator, n: int, length: int = 16) -> list[str]:
    """``n`` random lowercase hex strings of ``length`` characters (even)."""
    h = rng.bytes(length // 2 * n).hex()
    return [h[i : i + length] for i in range(0, length * n, length)]
