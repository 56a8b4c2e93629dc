"""The inbox's defences: rate limits per address, overall, per signing key and per author,
and the replay cache of HTTP signatures (SPEC §9.8). Rate refusals are 429 with Retry-After;
a full replay memory is `503 server_busy` (it refuses new signatures rather than forget live
ones)."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..limits import Rate, RateLimiter
from ..protocol.httpsig import ReplayCache
from .errors import ApiError

GLOBAL_RATE = Rate(per_second=500, burst=1000)
ADDRESS_RATE = Rate(per_second=100, burst=200)
SENDER_RATE = Rate(per_second=50, burst=200)
AUTHOR_RATE = Rate(per_second=2000 / 60, burst=2000)  # records


class RateLimited(ApiError):
    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__("rate_limited", detail)
        self.retry_after = max(1, math.ceil(retry_after)) if math.isfinite(retry_after) else 3600


class InboxGuard:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.overall = RateLimiter(GLOBAL_RATE, max_keys=1)
        self.addresses = RateLimiter(ADDRESS_RATE)
        self.senders = RateLimiter(SENDER_RATE)
        self.authors = RateLimiter(AUTHOR_RATE)
        self.replay = ReplayCache()

    def _take(self, limiter: RateLimiter, key: str, what: str, cost: float = 1.0) -> None:
        wait = limiter.take(key, self._clock(), cost)
        if wait:
            raise RateLimited(f"Too many requests {what}; retry later.", wait)

    def admit_address(self, address: str) -> None:
        self._take(self.overall, "*", "to this node")
        self._take(self.addresses, address, f"from {address}")

    def admit_sender(self, did: str) -> None:
        self._take(self.senders, did, f"signed by {did}")

    def admit_authors(self, records: list[Any]) -> None:
        """Refuse the batch if any author it names has no budget left. Nothing is spent
        here: `charge_authors` spends for records that verified, so junk that merely names
        an author cannot use up that author's budget."""
        counts = Counter(
            r["author"] for r in records if isinstance(r, dict) and isinstance(r.get("author"), str)
        )
        now = self._clock()
        for author, n in counts.items():
            wait = self.authors.wait(author, now, min(n, AUTHOR_RATE.burst))
            if wait:
                raise RateLimited(f"Too many records by {author[:80]}; retry later.", wait)

    def charge_authors(self, accepted: Counter[str]) -> None:
        now = self._clock()
        for author, n in accepted.items():
            self.authors.take(author, now, min(n, AUTHOR_RATE.burst))
