"""Federation: peers, anti-entropy sync, and pushing the owner's records (SPEC §9).

With each peer, a round is: heads (with `If-None-Match`, so an unchanged peer costs one
small round trip), then the records of every in-scope author where the peer is ahead, many
feeds per batch answer (feed pages for a peer without `POST /sync/batch`), ingested answer
by answer, and a fork proof wherever the peer shows one. The scope is
recomputed as records arrive, so a round follows the trust graph as it grows. The owner's
new records go to every peer's inbox at once through a bounded queue; a failed push is made
good by the next round. Each peer's faults are counted by code in its peer record.

`Federation` is one class put together from a mixin per part: `rounds` (the steps of one
round with one peer), `discovery` (adding peers, and learning them from profiles) and `push`
(the push queue and its worker), under `rounds` `batch` (catch-up through `POST
/sync/batch`); `report` holds `SyncReport`. The class itself holds the
lifecycle, a round with one peer or all of them, and the periodic anti-entropy loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

import httpx

from ..node import Node
from ..peers import PeerClient, PeerError
from ..protocol import Identity
from ..settings import Settings
from .base import PAGE
from .discovery import DiscoveryMixin
from .push import PUSH_QUEUE, PushMixin
from .report import SyncReport
from .rounds import PLANNING_PASSES, RoundsMixin

log = logging.getLogger("guildnode.federation")

MAX_BACKOFF = 900.0


class Federation(RoundsMixin, DiscoveryMixin, PushMixin):
    """The node's side of federation. `start()` in the app's lifespan, `stop()` after."""

    def __init__(
        self,
        node: Node,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.node = node
        self.settings = settings
        self.client = PeerClient(
            node.identity,
            node.now,
            transport=transport,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            allow_private=settings.allow_private_peers,
        )
        for known in node.store.peers():
            if known["allow_private"]:
                self.client.allow_private_origin(known["url"])
        self._queue = asyncio.Queue(PUSH_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self._loop = None
        self._rounds: dict[str, asyncio.Lock] = {}
        self._failed_discoveries = {}
        self._refused_own = {}
        self._fetching = {}
        self._no_batch = set()
        self.pushes_dropped = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.node.on_publish.append(self._enqueue)
        self.node.keyring.on_rotate.append(self._sign_as)
        self._tasks.append(asyncio.create_task(self._push_worker(), name="push"))
        if self.settings.sync_interval > 0:
            self._tasks.append(asyncio.create_task(self._anti_entropy(), name="anti-entropy"))

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.node.on_publish.remove(self._enqueue)
        with contextlib.suppress(ValueError):
            self.node.keyring.on_rotate.remove(self._sign_as)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.client.aclose()

    def _sign_as(self, identity: Identity) -> None:
        """After a rotation (SPEC §14.9) requests to peers are signed with the new key."""
        self.client.identity = identity

    # -- sync --------------------------------------------------------------------------

    async def sync_all(self) -> list[SyncReport]:
        """One round with every peer, concurrently; then what the owner's contracts now
        oblige the node to publish (receipts, due reveals: `Market.settle`)."""
        peers = self.node.store.peers()
        reports = list(await asyncio.gather(*(self.sync_peer(p) for p in peers)))
        await asyncio.to_thread(self.node.market.settle)
        return reports

    async def sync_peer(self, peer: dict[str, Any]) -> SyncReport:
        """One anti-entropy round with `peer` (a row of `store.peers()`)."""
        lock = self._rounds.setdefault(peer["did"], asyncio.Lock())
        async with lock:
            report = SyncReport(peer["did"], peer["url"])
            etag = None
            try:
                etag = await self._round(peer, report)
            except PeerError as exc:
                report.error = exc
                log.info("sync with %s failed: %s", peer["url"], exc)
            except Exception as exc:  # a bug here must not end syncing with every peer
                log.exception("sync with %s hit an unexpected error", peer["url"])
                report.error = PeerError("internal_error", f"{exc.__class__.__name__}: {exc}")
            clean = not report.rejected and report.error is None and not report.unfinished
            self.node.store.note_sync(
                peer["did"],
                self.node.now(),
                received=report.accepted,
                rejections=dict(report.rejected),
                error=f"{report.error.code}: {report.error.detail}" if report.error else None,
                # Only a finished, clean round may be skipped next time on an unchanged ETag,
                # and only while this node's scope stays the same (see `_round`).
                etag=f"{self._scope_tag()} {etag}" if clean and etag else None,
            )
            if report.error is None:
                await self._discover_peers()
            return report

    # -- anti-entropy ------------------------------------------------------------------

    def _delay(self, failures: int) -> float:
        base: float = self.settings.sync_interval * (2 ** min(failures, 6))
        return min(base, MAX_BACKOFF) * random.uniform(0.8, 1.2)

    async def _anti_entropy(self) -> None:
        loop = asyncio.get_running_loop()
        due: dict[str, float] = {}
        while True:
            now = loop.time()
            synced = False
            for peer in await asyncio.to_thread(self.node.store.peers):
                when = due.setdefault(peer["did"], now + self._delay(0) * random.random())
                if when <= now:
                    report = await self.sync_peer(peer)
                    failures = peer["failures"] + 1 if report.error else 0
                    due[peer["did"]] = loop.time() + self._delay(failures)
                    synced = True
            if synced:  # time may have made a reveal or a receipt due
                await asyncio.to_thread(self.node.market.settle)
            await asyncio.sleep(min(1.0, self.settings.sync_interval))


__all__ = ["MAX_BACKOFF", "PAGE", "PLANNING_PASSES", "Federation", "SyncReport"]
