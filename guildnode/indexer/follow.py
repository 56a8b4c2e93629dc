"""Following public feeds: the indexer's rounds with the peers it is given and learns
(SPEC §13.1).

A round with one peer: its heads (with `If-None-Match`, so an unchanged peer costs one small
round trip), then, for every author whose chain the peer holds further than the indexer, feed
pages after the indexer's head, each page verified and placed by the member node's own
`Ingest` (SPEC §3.5, §7: the same checks, the same rejection codes), a few authors at a time.
A peer that shows a fork proof, or another record at a seq already held, is asked for it, so
the chain freezes here as on a member node (SPEC §7.5). A rejected record ends that author's
pages from that peer for the round. After each round new peers are learnt from the
`endpoints` of the profiles held, each checked against its `/.well-known/guildnode`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..federation.report import Tally
from ..ingest import Ingest
from ..peers import (
    MAX_HEADS_BYTES,
    MAX_PAGE_BYTES,
    PeerClient,
    PeerError,
    normalise_url,
)
from ..protocol import ChainHead, ProtocolError, public_key_from_did
from .store import IndexStore

log = logging.getLogger("guildnode.indexer")

PAGE = 200  # records per feed page (the most a peer serves, SPEC §9.4)
MAX_PAGES_PER_AUTHOR = 500  # per round; the next round goes on
FEEDS_IN_FLIGHT = 4  # authors fetched at once from one peer, so fetching overlaps ingest
PEERS_IN_FLIGHT = 8
DISCOVERIES_PER_ROUND = 20
RETRY_DISCOVERY = 3600


@dataclass(frozen=True, slots=True)
class RemoteHead:
    seq: int
    id: str
    forked: bool


@dataclass
class PeerRound(Tally):
    """What one round with one peer did."""

    url: str
    error: PeerError | None = None
    idle: bool = False


def parse_heads(data: Any) -> dict[str, RemoteHead]:
    """SPEC §9.3's answer, or `bad_response`."""
    feeds = data.get("feeds") if isinstance(data, dict) else None
    if not isinstance(feeds, dict):
        raise PeerError("bad_response", 'The heads are not {"feeds": {...}}.')
    heads: dict[str, RemoteHead] = {}
    for author, head in feeds.items():
        seq = head.get("seq") if isinstance(head, dict) else None
        rid = head.get("id") if isinstance(head, dict) else None
        if type(seq) is not int or not (isinstance(rid, str) or (seq == 0 and rid is None)):
            raise PeerError("bad_response", f"The head of {author[:80]!r} is malformed.")
        assert isinstance(head, dict)
        heads[author] = RemoteHead(seq, rid or "", head.get("forked") is True)
    return heads


class Follower:
    """The indexer's rounds: `add_peer`, `round` (one with every peer), `follow` (one peer)."""

    def __init__(
        self,
        store: IndexStore,
        ingest: Ingest,
        client: PeerClient,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.ingest = ingest
        self.client = client
        self._clock = clock
        self._etags: dict[str, str] = {}
        self._failed: dict[str, float] = {}  # endpoint → when it may be tried again
        self.as_of: int | None = None  # when the last completed round ended

    # -- peers -------------------------------------------------------------------------

    async def add_peer(self, url: str, *, source: str = "given", expect: str | None = None) -> str:
        """Ask `url` who it is and follow it; returns its DID. The client refuses private and
        loopback addresses at connect time, given or learnt, unless the indexer runs with
        `--allow-private-peers`; with `expect` the node there must name that DID (a
        profile's author)."""
        url = normalise_url(url)
        info = await self.client.well_known(url)
        did = info["did"]
        try:
            public_key_from_did(did)
        except ProtocolError as exc:
            raise PeerError("bad_response", f"{url} names an invalid DID: {exc.detail}") from None
        if expect is not None and did != expect:
            raise PeerError("identity_mismatch", f"{url} is {did}, not {expect}.")
        if did == self.client.identity.did:
            raise PeerError("identity_mismatch", f"{url} is this indexer itself.")
        await asyncio.to_thread(self.store.add_peer, url, did, source, int(self._clock()))
        return str(did)

    async def _discover(self) -> None:
        """Follow nodes named in the `endpoints` of held profiles (a few per round)."""
        peers = await asyncio.to_thread(self.store.peers)
        known = {p["did"] for p in peers} | {p["url"] for p in peers}
        now = self._clock()
        tried = 0
        endpoints = await asyncio.to_thread(self.store.endpoints)
        for did, urls in sorted(endpoints.items()):
            if did in known or tried >= DISCOVERIES_PER_ROUND:
                continue
            for url in urls[:2]:
                if self._failed.get(url, 0) > now or url in known:
                    continue
                tried += 1
                try:
                    await self.add_peer(url, source="profile", expect=did)
                    break
                except PeerError as exc:
                    log.info("endpoint %s of %s refused: %s", url, did, exc)
                    self._failed[url] = now + RETRY_DISCOVERY

    # -- rounds ------------------------------------------------------------------------

    async def round(self) -> list[PeerRound]:
        """One round with every peer, a few at a time; then learn peers from profiles."""
        started = int(self._clock())
        gate = asyncio.Semaphore(PEERS_IN_FLIGHT)

        async def one(peer: dict[str, Any]) -> PeerRound:
            async with gate:
                return await self.follow(peer["url"])

        peers = await asyncio.to_thread(self.store.peers)
        reports = list(await asyncio.gather(*(one(p) for p in peers)))
        await self._discover()
        self.as_of = max(started, int(self._clock()))
        return reports

    async def follow(self, url: str) -> PeerRound:
        """One round with the peer at `url`, noted in its peer row."""
        report = PeerRound(url)
        try:
            await self._round(url, report)
        except PeerError as exc:
            report.error = exc
            log.info("round with %s failed: %s", url, exc)
        error = f"{report.error.code}: {report.error.detail}" if report.error else None
        await asyncio.to_thread(
            self.store.note_round,
            url,
            int(self._clock()),
            report.accepted,
            dict(report.rejected),
            error,
        )
        return report

    async def _round(self, url: str, report: PeerRound) -> None:
        etag = self._etags.pop(url, None)
        headers = {"if-none-match": etag} if etag else {}
        answer = await self.client.request(
            "GET", f"{url}/sync/heads", headers=headers, limit=MAX_HEADS_BYTES
        )
        if answer.status == 304 and etag:
            report.idle = True
            self._etags[url] = etag
            return
        if answer.status != 200:
            raise PeerError("peer_refused", f"{url}/sync/heads answered {answer.status}.")
        remote = parse_heads(answer.json())
        local = await asyncio.to_thread(self.store.chain_states, remote)
        gate = asyncio.Semaphore(FEEDS_IN_FLIGHT)

        async def catch_up(author: str) -> None:
            async with gate:
                head, frozen = local[author]
                await self._catch_up(url, author, remote[author], head, frozen, report)

        await asyncio.gather(
            *(catch_up(a) for a in sorted(remote) if self._behind(a, remote, local))
        )
        new_etag = answer.headers.get("etag")
        # Only a clean round may be skipped next time on an unchanged ETag.
        if new_etag and new_etag.isascii() and new_etag.isprintable() and not report.rejected:
            self._etags[url] = new_etag

    @staticmethod
    def _behind(
        author: str,
        remote: dict[str, RemoteHead],
        local: dict[str, tuple[ChainHead | None, int | None]],
    ) -> bool:
        """Whether the peer shows anything about `author` the indexer lacks."""
        theirs = remote[author]
        head, frozen = local[author]
        if theirs.forked:  # a proof not held, or one of an earlier fork
            return frozen is None or theirs.seq < frozen
        if frozen is not None or theirs.seq == 0:
            return False
        ours = head.seq if head else 0
        if theirs.seq == ours:
            return head is not None and theirs.id != head.id
        return True  # ahead; or behind, and then `_catch_up` compares the ids at its head

    async def _catch_up(
        self,
        url: str,
        author: str,
        remote: RemoteHead,
        head: ChainHead | None,
        frozen: int | None,
        report: PeerRound,
    ) -> None:
        if remote.forked:
            await self._fetch_fork(url, author, report)
            head, frozen = (await asyncio.to_thread(self.store.chain_states, [author]))[author]
        target = remote.seq if frozen is None else min(remote.seq, frozen)
        after = head.seq if head else 0
        if frozen is None and 0 < remote.seq <= after:
            held = head.id if head and remote.seq == after else None
            if held is None:
                held = await asyncio.to_thread(self.store.id_at, author, remote.seq)
            if held != remote.id:  # another record where one is held: it proves a fork
                await self._fetch_page(url, author, remote.seq - 1, 1, report)
            return
        for _ in range(MAX_PAGES_PER_AUTHOR):
            if after >= target:
                return
            records = await self._fetch_page(url, author, after, PAGE, report)
            if records is None:
                return
            new_head = (await asyncio.to_thread(self.store.chain_states, [author]))[author][0]
            if new_head is None or new_head.seq <= after:
                return
            after = new_head.seq

    async def _fetch_page(
        self, url: str, author: str, after: int, limit: int, report: PeerRound
    ) -> list[Any] | None:
        """Fetch and ingest one feed page; None when the round with this author should stop."""
        answer = await self.client.request(
            "GET", f"{url}/sync/feed/{author}?after={after}&limit={limit}", limit=MAX_PAGE_BYTES
        )
        if answer.status != 200:
            raise PeerError("peer_refused", f"{url} answered {answer.status} to a feed page.")
        data = answer.json()
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or len(records) > limit:
            raise PeerError(
                "bad_response", f'A feed page is not {{"records": [...]}} of ≤ {limit}.'
            )
        if not records:
            report.rejected["short_feed"] += 1
            return None
        if any(not isinstance(r, dict) or r.get("author") != author for r in records):
            report.rejected["wrong_author"] += 1
            return None
        results = await asyncio.to_thread(self.ingest.batch, records)
        clean = report.count(results)
        first = results[0].error
        if first is not None and first.code == "wrong_prev" and after > 0:
            # The peer's chain parts from the one held at or before its head.
            await self._fetch_page(url, author, after - 1, 1, report)
        return records if clean else None

    async def _fetch_fork(self, url: str, author: str, report: PeerRound) -> None:
        _, proof = await self.client.fork_proof(url, author)
        if isinstance(proof, str):
            report.rejected[proof] += 1
            return
        first, second = proof
        if not await asyncio.to_thread(self.ingest.keep_fork_proof, first, second):
            report.rejected["bad_fork_proof"] += 1
