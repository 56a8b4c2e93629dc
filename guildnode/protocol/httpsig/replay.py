"""The bounded memory of signatures already accepted (SPEC §9.6), owned by the caller."""

from __future__ import annotations

import heapq
import sys
import threading

from .profile import CLOCK_SKEW, SignatureError


class ReplayCache:
    """The (keyid, signature) pairs accepted and still within their validity (SPEC §9.6).

    Memory is bounded: an entry is forgotten once `expires + 60 s` has passed (after which
    `verify_request` refuses the signature as expired anyway), and at most `capacity` entries
    are held, at most `per_key` of them per keyid. When a new entry would break a bound even
    after forgetting expired ones, `seen` fails closed with `server_busy` rather than
    evicting live entries (which would let their replays through). Safe to share between
    threads.
    """

    def __init__(self, capacity: int = 100_000, per_key: int = 10_000) -> None:
        if capacity < 1 or per_key < 1:
            raise ValueError("capacity and per_key must be positive")
        self.capacity = capacity
        self.per_key = per_key
        self._lock = threading.Lock()
        self._forget_at: dict[tuple[str, bytes], int] = {}
        self._heap: list[tuple[int, str, bytes]] = []  # (forget_at, keyid, signature)
        self._per_key: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._forget_at)

    def seen(self, keyid: str, signature: bytes, expires: int, now: int) -> bool:
        """True if (keyid, signature) was recorded before; otherwise record it, False.

        Forgets entries whose `expires + 60` is before `now` first. Raises
        `SignatureError("server_busy")` instead of recording when the cache holds `capacity`
        live entries, or `per_key` live entries for this keyid.
        """
        entry = (keyid, signature)
        with self._lock:
            self._forget(now)
            if entry in self._forget_at:
                return True
            if len(self._forget_at) >= self.capacity:
                raise SignatureError(
                    "server_busy", "Too many recent signatures to remember; retry shortly."
                )
            held = self._per_key.get(keyid, 0)
            if held >= self.per_key:
                raise SignatureError(
                    "server_busy", "Too many recent signatures by this key; retry shortly."
                )
            keyid = sys.intern(keyid)  # one copy per key, however many entries
            forget_at = expires + CLOCK_SKEW
            self._forget_at[(keyid, signature)] = forget_at
            heapq.heappush(self._heap, (forget_at, keyid, signature))
            self._per_key[keyid] = held + 1
            return False

    def _forget(self, now: int) -> None:
        while self._heap and self._heap[0][0] < now:
            _, keyid, signature = heapq.heappop(self._heap)
            del self._forget_at[(keyid, signature)]
            left = self._per_key[keyid] - 1
            if left:
                self._per_key[keyid] = left
            else:
                del self._per_key[keyid]
