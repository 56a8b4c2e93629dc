"""Federation: peers, anti-entropy sync, and pushing the owner's records (SPEC §9).

With each peer, a round is: heads (with `If-None-Match`, so an unchanged peer costs one
small round trip), then feed pages for every in-scope author where the peer is ahead,
ingested page by page, then a fork proof wherever the peer shows one. The scope is
recomputed as records arrive, so a round follows the trust graph as it grows. The owner's
new records go to every peer's inbox at once through a bounded queue; a failed push is made
good by the next round. Each peer's faults are counted by code in its peer record.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from .node import Node
from .peers import (
    BATCH_BYTES,
    MAX_HEADS_BYTES,
    MAX_PAGE_BYTES,
    PeerClient,
    PeerError,
    Traffic,
    batches,
    is_private_host,
    normalise_url,
)
from .protocol import ProtocolError, VerifiedRecord, public_key_from_did, verify_record
from .scope import Scope
from .settings import Settings

log = logging.getLogger("guildnode.federation")

PAGE = 200
MAX_PAGES_PER_AUTHOR = 500  # per round; the next round goes on
PLANNING_PASSES = 4  # scope may grow while a round ingests; re-plan at most this often
PUSH_QUEUE = 1000
MAX_BACKOFF = 900.0
DISCOVERIES_PER_ROUND = 5
PUSH_BATCHES_PER_ROUND = 10


@dataclass
class SyncReport:
    """What one round with one peer did."""

    peer: str
    url: str
    idle: bool = False
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    error: PeerError | None = None
    traffic: Traffic = field(default_factory=Traffic)
    unfinished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "url": self.url,
            "idle": self.idle,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "error": {"code": self.error.code, "detail": self.error.detail} if self.error else None,
            "round_trips": self.traffic.round_trips,
            "bytes_sent": self.traffic.bytes_sent,
            "bytes_received": self.traffic.bytes_received,
        }


@dataclass(frozen=True, slots=True)
class RemoteHead:
    seq: int
    id: str
    forked: bool


def _parse_heads(data: Any) -> dict[str, RemoteHead]:
    feeds = data.get("feeds") if isinstance(data, dict) else None
    if not isinstance(feeds, dict):
        raise PeerError("bad_response", 'The heads are not {"feeds": {...}}.')
    heads: dict[str, RemoteHead] = {}
    for author, head in feeds.items():
        if (
            not isinstance(head, dict)
            or type(head.get("seq")) is not int
            or not (
                isinstance(head.get("id"), str) or (head.get("seq") == 0 and head.get("id") is None)
            )
        ):
            raise PeerError("bad_response", f"The head of {author[:80]!r} is malformed.")
        heads[author] = RemoteHead(head["seq"], head.get("id") or "", head.get("forked") is True)
    return heads


class Federation:
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
        )
        self._queue: asyncio.Queue[VerifiedRecord] = asyncio.Queue(PUSH_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rounds: dict[str, asyncio.Lock] = {}
        self._failed_discoveries: dict[str, int] = {}
        self._refused_own: dict[str, int] = {}  # peer → own head seq it refused
        self.pushes_dropped = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.node.on_publish.append(self._enqueue)
        self._tasks.append(asyncio.create_task(self._push_worker(), name="push"))
        if self.settings.sync_interval > 0:
            self._tasks.append(asyncio.create_task(self._anti_entropy(), name="anti-entropy"))

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.node.on_publish.remove(self._enqueue)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.client.aclose()

    def _scope_tag(self) -> str:
        """A short digest of the current scope, kept beside a peer's ETag."""
        core = "\n".join(sorted(self.node.scope().core)).encode()
        return hashlib.sha256(core).hexdigest()[:16]

    # -- peers -------------------------------------------------------------------------

    async def _check_url(self, url: str, source: str) -> str:
        url = normalise_url(url)
        host = httpx.URL(url).host
        # The owner may add any address by hand; learnt endpoints must be public (DESIGN).
        # (Name resolution blocks, so it runs off the event loop.)
        if (
            source != "manual"
            and not self.settings.allow_private_peers
            and await asyncio.to_thread(is_private_host, host)
        ):
            raise PeerError(
                "private_address",
                f"{url} is a private or loopback address; allow_private_peers is off.",
            )
        return url

    async def add_peer(
        self, url: str, *, source: str = "manual", expect: str | None = None
    ) -> dict[str, Any]:
        """Ask `url` who it is and remember it as a peer. With `expect`, the node there must
        name that DID (peers learnt from a profile must be the profile's author)."""
        url = await self._check_url(url, source)
        info = await self.client.well_known(url)
        did = info["did"]
        try:
            public_key_from_did(did)
        except ProtocolError as exc:
            raise PeerError("bad_response", f"{url} names an invalid DID: {exc.detail}") from None
        if expect is not None and did != expect:
            raise PeerError("identity_mismatch", f"{url} is {did}, not {expect}.")
        if did == self.node.did:
            raise PeerError("identity_mismatch", f"{url} is this node itself.")
        self.node.store.add_peer(did, url, source, self.node.now())
        return next(p for p in self.node.store.peers() if p["did"] == did)

    def remove_peer(self, did_or_url: str) -> bool:
        return self.node.store.remove_peer(did_or_url.rstrip("/"))

    def peers(self) -> list[dict[str, Any]]:
        return self.node.store.peers()

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

    async def _round(self, peer: dict[str, Any], report: SyncReport) -> str | None:
        url = peer["url"]
        scope_tag, _, etag = (peer["heads_etag"] or "").partition(" ")
        # An ETag from a round under another scope says nothing about authors now in scope.
        headers = {"if-none-match": etag} if etag and scope_tag == self._scope_tag() else {}
        answer = await self.client.request(
            "GET", f"{url}/sync/heads", headers=headers, limit=MAX_HEADS_BYTES
        )
        report.traffic.add(answer.traffic)
        if answer.status == 304:
            report.idle = True
            return etag
        if answer.status != 200:
            raise PeerError("peer_refused", f"{url}/sync/heads answered {answer.status}.")
        remote = _parse_heads(answer.json())
        await self._offer_own_records(peer["did"], url, remote.get(self.node.did), report)
        done: set[str] = set()
        for _ in range(PLANNING_PASSES):
            scope = self.node.scope()
            todo = sorted(a for a in remote if a in scope and a not in done)
            if not todo:
                break
            for author in todo:
                done.add(author)
                await self._catch_up(url, author, remote[author], report, scope)
        else:
            report.unfinished = True  # scope kept growing: the next round goes on
        new_etag = answer.headers.get("etag")
        # Keep only a tag that can be sent back as it came (printable ASCII, RFC 9110).
        if new_etag is None or not (new_etag.isascii() and new_etag.isprintable()):
            return None
        return str(new_etag)

    async def _catch_up(
        self, url: str, author: str, remote: RemoteHead, report: SyncReport, scope: Scope
    ) -> None:
        store = self.node.store
        if remote.forked:
            known = store.fork(author)
            if known is None or known.seq > remote.seq + 1:
                await self._fetch_fork(url, author, report)
        frozen = store.frozen_at(author)
        target = remote.seq if frozen is None else min(remote.seq, frozen)
        head = store.head(author)
        after = head.seq if head else 0
        if (
            frozen is None
            and 0 < remote.seq <= after
            and store.id_at(author, remote.seq) != remote.id
        ):
            # The peer holds another record where we hold one: fetch it, which proves a fork.
            await self._fetch_disputed(url, author, remote.seq, report)
            return
        for _ in range(MAX_PAGES_PER_AUTHOR):
            if after >= target:
                return
            if _ == MAX_PAGES_PER_AUTHOR - 1:
                report.unfinished = True  # the page budget ran out: the next round goes on
            answer = await self.client.request(
                "GET", f"{url}/sync/feed/{author}?after={after}&limit={PAGE}", limit=MAX_PAGE_BYTES
            )
            report.traffic.add(answer.traffic)
            if answer.status != 200:
                raise PeerError("peer_refused", f"{url} answered {answer.status} to a feed page.")
            data = answer.json()
            records = data.get("records") if isinstance(data, dict) else None
            if not isinstance(records, list) or len(records) > PAGE:
                raise PeerError("bad_response", 'A feed page is not {"records": [...]} of ≤ 200.')
            if not records:
                report.rejected["short_feed"] += 1
                return
            if any(not isinstance(r, dict) or r.get("author") != author for r in records):
                report.rejected["wrong_author"] += 1
                return
            results = await asyncio.to_thread(self.node.ingest, records, scoped=True, scope=scope)
            for result in results:
                if result.status == "accepted":
                    report.accepted += 1
                elif result.status == "duplicate":
                    report.duplicates += 1
                else:
                    assert result.error is not None
                    report.rejected[result.error.code] += 1
            if results and results[0].error is not None and results[0].error.code == "wrong_prev":
                # The peer's chain parts from ours at or before our head: fetch its record
                # at our head's seq, which proves the fork.
                await self._fetch_disputed(url, author, after, report)
            if any(result.status == "rejected" for result in results):
                return  # a peer that served one bad record gets no more trust this round
            new_head = store.head(author)
            if new_head is None or new_head.seq <= after:
                return
            after = new_head.seq

    async def _offer_own_records(
        self, did: str, url: str, remote: RemoteHead | None, report: SyncReport
    ) -> None:
        """Push the owner's records the peer lacks, as its heads show. This makes good a
        failed push, and brings a peer the start of the owner's chain when a later record
        names that peer's owner (SPEC §9.7). A peer that refused the owner's chain is not
        offered it again until the chain has grown."""
        after = remote.seq if remote else 0
        own = self.node.store.head(self.node.did)
        if own is None or self._refused_own.get(did) == own.seq:
            return
        for _ in range(PUSH_BATCHES_PER_ROUND):
            missing = self.node.store.feed(self.node.did, after, PAGE, BATCH_BYTES)
            if not missing:
                return
            answer = await self.client.request(
                "POST", f"{url}/inbox", raw_records=missing, limit=MAX_PAGE_BYTES
            )
            report.traffic.add(answer.traffic)
            data = answer.json() if answer.status == 200 else None
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, list) or not all(
                isinstance(r, dict) and r.get("status") in ("accepted", "duplicate")
                for r in results
            ):
                self._refused_own[did] = own.seq
                return  # refused (out of its scope, say): the peer does not want more now
            after += len(missing)

    async def _fetch_disputed(self, url: str, author: str, seq: int, report: SyncReport) -> None:
        """Fetch the peer's record at `seq` of `author` and ingest it: if it differs from
        ours, the node keeps the pair as a fork proof (SPEC §7.5)."""
        answer = await self.client.request(
            "GET", f"{url}/sync/feed/{author}?after={seq - 1}&limit=1", limit=MAX_PAGE_BYTES
        )
        report.traffic.add(answer.traffic)
        data = answer.json() if answer.status == 200 else None
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or len(records) != 1:
            report.rejected["short_feed"] += 1
            return
        record = records[0]
        if (
            not isinstance(record, dict)
            or record.get("author") != author
            or record.get("seq") != seq
        ):
            report.rejected["wrong_author"] += 1
            return
        [result] = await asyncio.to_thread(self.node.ingest, [record], scoped=True)
        if result.error is not None:
            report.rejected[result.error.code] += 1

    async def _fetch_fork(self, url: str, author: str, report: SyncReport) -> None:
        answer = await self.client.request(
            "GET", f"{url}/sync/forks/{author}", limit=2 * 16_384 + 1024
        )
        report.traffic.add(answer.traffic)
        if answer.status != 200:
            report.rejected["bad_fork_proof"] += 1
            return
        data = answer.json()
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or len(records) != 2:
            report.rejected["bad_fork_proof"] += 1
            return
        try:
            first, second = (verify_record(r) for r in records)
        except ProtocolError as exc:
            report.rejected[exc.code] += 1
            return
        if not self.node.keep_fork_proof(first, second):
            report.rejected["bad_fork_proof"] += 1

    async def _discover_peers(self) -> None:
        """Learn peers from the `endpoints` of in-scope profiles (a few per round)."""
        known = {p["did"] for p in self.node.store.peers()} | {self.node.did}
        now = self.node.now()
        tried = 0
        for did in sorted(self.node.scope().core - known):
            if tried >= DISCOVERIES_PER_ROUND:
                return
            profile = self.node.profile(did)
            for endpoint in (profile or {}).get("endpoints", [])[:2]:
                if self._failed_discoveries.get(endpoint, 0) > now:
                    continue
                tried += 1
                try:
                    await self.add_peer(endpoint, source="profile", expect=did)
                    break
                except PeerError as exc:
                    log.info("peer %s from %s's profile refused: %s", endpoint, did, exc)
                    self._failed_discoveries[endpoint] = now + 3600

    # -- push --------------------------------------------------------------------------

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
