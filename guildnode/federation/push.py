"""Pushing the owner's records: new ones go to every peer's inbox at once through a bounded
queue, drained by one worker. A failed or dropped push is made good by the next round."""

from __future__ import annotations

import asyncio
from typing import Any

from ..peers import MAX_PAGE_BYTES, PeerError, batches
from ..protocol import VerifiedRecord
from .base import PAGE, FederationBase

PUSH_QUEUE = 1000


class PushMixin(FederationBase):
    """The push queue, its worker, `push` and `flush`."""

    _queue: asyncio.Queue[VerifiedRecord]
    _loop: asyncio.AbstractEventLoop | None
    pushes_dropped: int

    def _enqueue(self, record: VerifiedRecord) -> None:
        """Called from whatever thread published: hand the record to the event loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._offer(record)
        else:
            loop.call_soon_threadsafe(self._offer, record)

    def _offer(self, record: VerifiedRecord) -> None:
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            self.pushes_dropped += 1  # the next anti-entropy round carries it

    async def _push_worker(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < PAGE and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self.push(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def push(self, records: list[VerifiedRecord]) -> dict[str, str]:
        """Post `records` to every peer's inbox now; returns peer → outcome."""
        chunks = batches([r.canonical for r in records], PAGE)
        outcomes: dict[str, str] = {}

        async def one(peer: dict[str, Any]) -> None:
            try:
                for chunk in chunks:
                    answer = await self.client.request(
                        "POST", f"{peer['url']}/inbox", raw_records=chunk, limit=MAX_PAGE_BYTES
                    )
                    outcomes[peer["did"]] = str(answer.status)
            except PeerError as exc:
                outcomes[peer["did"]] = exc.code

        await asyncio.gather(*(one(p) for p in self.node.store.peers()))
        return outcomes

    async def flush(self) -> None:
        """Wait until every queued record has been pushed (tests and the demo use it)."""
        await asyncio.sleep(0)  # let records handed over from other threads arrive
        await self._queue.join()
