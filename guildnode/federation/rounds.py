"""One anti-entropy round with one peer (SPEC §9).

A round is: heads (with `If-None-Match`, so an unchanged peer costs one small round trip);
the owner's records the peer lacks, as its heads show; then, for every in-scope author in
the heads, the peer's fork proof where it shows one we lack, and either its one record in
dispute (another record at a seq we hold) or its records where it is ahead: many feeds per
`POST /sync/batch` answer (`batch`), or feed pages one author at a time from a peer without
that endpoint, ingested answer by answer. An author another round is fetching is left to it
(one feed, one peer at a time). The scope is recomputed as records arrive, so a round
follows the trust graph as it grows.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from ..peers import BATCH_BYTES, MAX_HEADS_BYTES, MAX_PAGE_BYTES, PeerError
from ..scope import Scope
from .base import PAGE
from .batch import BatchMixin
from .report import SyncReport

MAX_PAGES_PER_AUTHOR = 500  # per round; the next round goes on
PLANNING_PASSES = 4  # scope may grow while a round ingests; re-plan at most this often
PUSH_BATCHES_PER_ROUND = 10


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


class RoundsMixin(BatchMixin):
    """The steps of a round; `Federation.sync_peer` runs one under the peer's lock."""

    _refused_own: dict[str, int]  # peer → own head seq it refused
    _fetching: dict[str, asyncio.Event]  # author → set when the round fetching it is done
    _no_batch: set[str]  # peer URLs that answered POST /sync/batch with 404 or 405

    def _scope_tag(self) -> str:
        """A short digest of the current scope and of the owner's own head, kept beside a
        peer's ETag: a peer's unchanged heads say nothing about authors that came into scope
        since, nor about the owner's records it lacks (push-back, SPEC §9.9 step 1). A
        guest's record that names the peer's owner — a question about its brief — reaches it
        only with the start of the owner's chain, which push-back sends."""
        head = self.node.store.head(self.node.did)
        core = "\n".join([*sorted(self.node.scope().core), f"own {head.id if head else ''}"])
        return hashlib.sha256(core.encode()).hexdigest()[:16]

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
            done.update(todo)
            await self._catch_up_all(url, todo, remote, report, scope)
        else:
            report.unfinished = True  # scope kept growing: the next round goes on
        new_etag = answer.headers.get("etag")
        # Keep only a tag that can be sent back as it came (printable ASCII, RFC 9110).
        if new_etag is None or not (new_etag.isascii() and new_etag.isprintable()):
            return None
        return str(new_etag)

    async def _catch_up_all(
        self,
        url: str,
        authors: list[str],
        remote: dict[str, RemoteHead],
        report: SyncReport,
        scope: Scope,
    ) -> None:
        """Catch up `authors` from the peer at `url`. An author another round is fetching
        now is left to it, and looked at again when that round is done with it: so one
        feed is fetched from one peer at a time (SPEC §9.9)."""
        while authors:
            mine = [a for a in authors if a not in self._fetching]
            theirs = [(a, self._fetching[a]) for a in authors if a in self._fetching]
            for author in mine:
                self._fetching[author] = asyncio.Event()
            try:
                wanted: dict[str, tuple[int, int]] = {}
                for author in mine:
                    span = await self._prepare(url, author, remote[author], report)
                    if span is not None:
                        wanted[author] = span
                batched = wanted and url not in self._no_batch
                if batched and not await self._batch_catch_up(url, wanted, report, scope):
                    self._no_batch.add(url)  # an older peer: feed by feed from now on
                if url in self._no_batch:
                    for author, (after, target) in sorted(wanted.items()):
                        await self._pages(url, author, after, target, report, scope)
            finally:
                for author in mine:
                    self._fetching.pop(author).set()
            for _, done in theirs:
                await done.wait()
            authors = [author for author, _ in theirs]

    async def _prepare(
        self, url: str, author: str, remote: RemoteHead, report: SyncReport
    ) -> tuple[int, int] | None:
        """The fork proof and the disputed seq of `author` (SPEC §9.9, 3.1–3.2); then the
        span (after, target) of pages still to fetch, or None."""
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
            return None
        return (after, target) if after < target else None

    async def _pages(
        self, url: str, author: str, after: int, target: int, report: SyncReport, scope: Scope
    ) -> None:
        """Feed pages of `author` from `after` up to `target`, one request each (§9.4)."""
        store = self.node.store
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
            report.count(results)
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
        traffic, proof = await self.client.fork_proof(url, author)
        report.traffic.add(traffic)
        if isinstance(proof, str):
            report.rejected[proof] += 1
            return
        first, second = proof
        if not self.node.keep_fork_proof(first, second):
            report.rejected["bad_fork_proof"] += 1
