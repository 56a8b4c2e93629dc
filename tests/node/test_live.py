"""`ui.live.Live`, the hub of the notification streams, on its own: a stream sends what
`current()` gives when it changes, a wake from any thread makes it look again, quiet
stretches get heartbeats, the slots are bounded, and `close` ends every stream."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from guildnode.ui.live import Live

pytestmark = pytest.mark.anyio


def parsed(chunk: str) -> Any:
    name, data = chunk.strip().split("\n")
    assert name == "event: notices"
    return json.loads(data.removeprefix("data: "))


async def test_a_wake_from_another_thread_sends_what_changed() -> None:
    live = Live(heartbeat=0.05)
    value = {"count": 0}
    stream = live.events(lambda: dict(value), lambda: 0)
    assert await anext(stream) == "retry: 3000\n\n"
    assert parsed(await anext(stream)) == {"count": 0}
    assert await anext(stream) == ": heartbeat\n\n"  # quiet: nothing new to send

    value["count"] = 1
    waker = threading.Thread(target=live.wake)
    waker.start()
    waker.join()
    chunk = await anext(stream)
    while chunk == ": heartbeat\n\n":  # a heartbeat may already be under way
        chunk = await anext(stream)
    assert parsed(chunk) == {"count": 1}

    live.wake()  # woken with nothing changed: nothing is sent but heartbeats
    assert await anext(stream) == ": heartbeat\n\n"
    await stream.aclose()
    assert live.open_streams == 0


async def test_a_new_minute_looks_again_without_a_wake() -> None:
    live = Live(heartbeat=0.02)
    minute = [0]
    value = {"count": 0}
    stream = live.events(lambda: dict(value), lambda: minute[0])
    await anext(stream)
    assert parsed(await anext(stream)) == {"count": 0}
    value["count"], minute[0] = 2, 1  # say an offer expired: time alone changed the list
    chunk = await anext(stream)
    assert parsed(chunk) == {"count": 2}
    await stream.aclose()


async def test_streams_are_bounded_and_close_ends_them_all() -> None:
    live = Live(most=2, heartbeat=30)
    streams = [live.events(lambda: {}, lambda: 0) for _ in range(2)]
    for stream in streams:
        await anext(stream)
    assert live.open_streams == 2 and live.full()
    late = live.events(lambda: {}, lambda: 0)  # started despite `full`: ends at once
    with pytest.raises(StopAsyncIteration):
        await anext(late)
    for stream in streams:
        assert parsed(await anext(stream)) == {}

    live.close()
    for stream in streams:
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(stream), 1)
    assert live.open_streams == 0 and live.full()  # closed: no new stream either
