"""Rate limits: token buckets per key, with bounded memory (SPEC §9.8).

Pure: `now` (seconds, any monotonic origin) is an argument.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: float


class RateLimiter:
    """Token buckets keyed by a string (a DID, an address, an author).

    At most `max_keys` buckets are kept; the least recently used is forgotten first, which
    only ever gives a forgotten key a fresh (full) bucket.
    """

    def __init__(self, rate: Rate, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def wait(self, key: str, now: float, cost: float = 1.0) -> float:
        """The seconds until `key` could spend `cost` (0 if now), spending nothing."""
        tokens, last = self._buckets.get(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + (now - last) * self.rate.per_second)
        if tokens >= cost:
            return 0.0
        return math.inf if cost > self.rate.burst else (cost - tokens) / self.rate.per_second

    def take(self, key: str, now: float, cost: float = 1.0) -> float:
        """Spend `cost` tokens of `key`'s bucket. Returns 0 when allowed, else the seconds
        to wait before the same request would be (nothing is spent then)."""
        tokens, last = self._buckets.pop(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + (now - last) * self.rate.per_second)
        if cost > self.rate.burst:
            wait = math.inf
        elif tokens >= cost:
            tokens -= cost
            wait = 0.0
        else:
            wait = (cost - tokens) / self.rate.per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait
