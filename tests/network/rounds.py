"""Driving sync between in-process nodes by push and "sync now" (DESIGN: tests stay fast)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ROUNDS = 6  # enough for any record here to reach every node; each check asserts it did


async def sync_round(nodes: list[Any]) -> None:
    for served in nodes:
        await served.federation.flush()
    for served in nodes:
        await served.federation.sync_all()


async def settle(nodes: dict[str, Any], until: Callable[[], bool]) -> int:
    """Sync rounds until `until()` holds, at most ROUNDS; returns the rounds it took."""
    for rounds in range(1, ROUNDS + 1):
        await sync_round(list(nodes.values()))
        if until():
            return rounds
    raise AssertionError(f"not settled after {ROUNDS} sync rounds")


def everywhere(nodes: dict[str, Any], check: Callable[[Any], bool]) -> bool:
    return all(check(served.node) for served in nodes.values())
