"""The owner's live notifications: a Server-Sent Events stream woken by the node.

`Live` belongs to one app (`app.state.live`). The node calls `wake` after every record it
stores — published by the owner (`Node.on_publish`) or ingested from a peer
(`Node.on_ingest`) — from whatever thread stored it; each open stream then derives the
notices again and sends them if they changed. Nothing polls the database: a stream sleeps
until it is woken, or until its heartbeat, when it also looks again if a new minute has begun
(an offer that expires changes what waits on the owner without any record arriving).

Streams are few (`MAX_STREAMS`, the owner's own tabs) and end when the client goes away or
the server shuts down: `close` ends every stream at once, so uvicorn, which waits for open
connections before it stops, exits promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MAX_STREAMS = 8
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000  # how long a browser waits before it reconnects


@dataclass(eq=False)
class _Stream:
    loop: asyncio.AbstractEventLoop
    woken: asyncio.Event = field(default_factory=asyncio.Event)


class Live:
    """The open event streams of one node, and the wake-up they wait for."""

    def __init__(self, most: int = MAX_STREAMS, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self.most = most
        self.heartbeat = heartbeat
        self.closing = False
        self._streams: set[_Stream] = set()
        self._lock = threading.Lock()

    @property
    def open_streams(self) -> int:
        with self._lock:
            return len(self._streams)

    def wake(self, *_: Any) -> None:
        """Tell every stream to look again. Safe from any thread (and a signal handler)."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            with contextlib.suppress(RuntimeError):  # its loop has closed: it is gone already
                stream.loop.call_soon_threadsafe(stream.woken.set)

    def close(self) -> None:
        """End every stream (the server is shutting down) and refuse new ones."""
        self.closing = True
        self.wake()

    def full(self) -> bool:
        """Whether a new stream would be refused (checked before the answer starts)."""
        with self._lock:
            return self.closing or len(self._streams) >= self.most

    @contextmanager
    def _slot(self) -> Iterator[_Stream | None]:
        stream = _Stream(asyncio.get_running_loop())
        with self._lock:
            room = not self.closing and len(self._streams) < self.most
            if room:
                self._streams.add(stream)
        if not room:  # the slots filled up since `full` was asked
            yield None
            return
        try:
            yield stream
        finally:
            with self._lock:
                self._streams.discard(stream)

    async def events(
        self, current: Callable[[], Any], minute: Callable[[], int]
    ) -> AsyncIterator[str]:
        """The text of one stream: `current()` (run off the event loop) as a `notices`
        event whenever it changes, and a comment line at each quiet heartbeat. The stream
        holds its slot only while it runs, so one the client never read holds none; it ends
        at once if the slots filled up since `full` was asked."""
        with self._slot() as stream:
            if stream is None:
                return
            yield f"retry: {RETRY_MS}\n\n"
            sent: Any = None
            while not self.closing:
                stream.woken.clear()  # before looking, so a wake during the look is not lost
                looked_at = minute()
                found = await asyncio.to_thread(current)
                if found != sent:
                    sent = found
                    yield f"event: notices\ndata: {json.dumps(found, ensure_ascii=False)}\n\n"
                while not self.closing:
                    try:
                        await asyncio.wait_for(stream.woken.wait(), self.heartbeat)
                        break
                    except TimeoutError:
                        if minute() != looked_at:
                            break
                        yield ": heartbeat\n\n"
