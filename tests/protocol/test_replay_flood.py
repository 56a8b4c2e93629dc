"""The replay cache keeps live entries through a flood of distinct keys (SPEC §9.8)."""

from __future__ import annotations

import pytest

from guildnode.protocol.httpsig import ReplayCache
from guildnode.protocol.httpsig.profile import SignatureError


def test_a_replay_after_a_flood_of_100_000_distinct_keys_is_still_refused() -> None:
    cache = ReplayCache()
    now = 1_000_000
    assert cache.seen("did:key:victim", b"sig", now + 300, now) is False
    refused = 0
    for i in range(100_000):
        try:
            cache.seen(f"did:key:flood{i}", b"s", now + 300, now)
        except SignatureError as error:
            assert error.code == "server_busy"
            refused += 1
    assert refused >= 1  # full: new signatures refused, live ones kept
    assert cache.seen("did:key:victim", b"sig", now + 300, now + 1) is True


def test_the_cache_takes_new_signatures_again_once_old_ones_expire() -> None:
    cache = ReplayCache(capacity=2, per_key=2)
    cache.seen("a", b"1", 100, 0)
    cache.seen("b", b"1", 100, 0)
    with pytest.raises(SignatureError):
        cache.seen("c", b"1", 100, 0)
    assert cache.seen("c", b"1", 1000, 500) is False
