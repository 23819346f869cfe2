"""A token bucket: deliver at most ``rate`` events per second on average."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Tokens refill at ``rate`` per second up to ``burst``; taking more than there are waits.

    A take larger than the bucket (a whole hourly file at once) is allowed: it leaves
    the bucket in debt, and the wait pays the debt back, so the average rate holds.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self.clock = clock
        self.sleep = sleep
        self.tokens = self.burst
        self.updated = clock()
        #: seconds spent waiting so far
        self.waited = 0.0

    def take(self, n: float) -> None:
        """Take ``n`` tokens, first waiting for the bucket to pay back any debt."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= n
        if self.tokens < 0:
            wait = -self.tokens / self.rate
            self.waited += wait
            self.sleep(wait)
