"""Catch-up of many feeds through `POST /sync/batch` (SPEC §9.13, §9.9 step 3.3).

One request names every feed still behind with the seq held; the answer holds records of
many feeds, which are ingested as one batch, with scope; `next` says where to go on. The
next request is sent while an answer is ingested, as if every record of it is accepted, and
its records are checked and their signatures verified as soon as it arrives, while the one
before is still being committed; when a record is not accepted, that request is cancelled and
the right one sent. A peer
that answers the first request `404` or `405` does not have the endpoint: the round goes on
feed by feed (§9.4), and so do later rounds with that peer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..ingest import Verifying
from ..peers import Answer, PeerError
from ..scope import Scope
from .base import FederationBase
from .report import SyncReport

MAX_FEEDS = 1000  # feeds named in one request (the most a peer takes, SPEC §9.13)
ANSWER_BYTES = 8 * 1_048_576 + 4096  # the most a batch answer may be (SPEC §9.9)
MAX_REQUESTS = 500  # batch requests per planning pass; the next round goes on


class BatchMixin(FederationBase):
    async def _fetch_disputed(self, url: str, author: str, seq: int, report: SyncReport) -> None:
        raise NotImplementedError  # RoundsMixin

    async def _batch_catch_up(
        self, url: str, wanted: dict[str, tuple[int, int]], report: SyncReport, scope: Scope
    ) -> bool:
        """Fetch the spans `wanted` (author → (after, target)) in batches; False when the
        peer has no batch endpoint (and nothing was fetched)."""
        after = {author: span[0] for author, span in wanted.items()}
        pending: tuple[dict[str, int], asyncio.Task[_Fetched]] | None = None
        try:
            for number in range(MAX_REQUESTS):
                if not after:
                    return True
                asked = dict(sorted(after.items())[:MAX_FEEDS])
                if pending is None or pending[0] != asked:
                    if pending is not None:  # the guess was wrong: a record was refused
                        await _cancel(pending[1])
                    pending = (asked, asyncio.create_task(self._ask(url, asked)))
                fetched = await pending[1]
                pending = None
                answer = fetched.answer
                report.traffic.add(answer.traffic)
                if number == 0 and answer.status in (404, 405):
                    return False
                if answer.status != 200:
                    raise PeerError("peer_refused", f"{url} answered {answer.status} to a batch.")
                if fetched.error is not None:
                    raise fetched.error
                records, unfinished = fetched.records, fetched.unfinished
                if records is None:
                    report.rejected["wrong_author"] += 1
                    return True  # nothing of it is ingested; the next round tries again
                # Ask for the next answer while this one is ingested, as if all of it holds.
                ahead = _expected(after, asked, records, unfinished, wanted)
                if ahead:
                    ahead = dict(sorted(ahead.items())[:MAX_FEEDS])
                    pending = (ahead, asyncio.create_task(self._ask(url, ahead)))
                assert fetched.verifying is not None
                await self._take(
                    url, records, fetched.verifying, unfinished, asked, after, wanted, report, scope
                )
        finally:
            if pending is not None:
                await _cancel(pending[1])
        report.unfinished = True
        return True

    async def _ask(self, url: str, asked: dict[str, int]) -> _Fetched:
        """Ask for a batch and, once it is here, start verifying its records: an answer asked
        ahead is then checked while the one before it is still being committed."""
        answer = await self.client.request(
            "POST", f"{url}/sync/batch", payload={"feeds": asked}, limit=ANSWER_BYTES
        )
        fetched = _Fetched(answer)
        if answer.status == 200:
            try:
                fetched.records, fetched.unfinished = _parse_answer(answer.json(), asked)
            except PeerError as exc:
                fetched.error = exc
            if fetched.records is not None:
                fetched.verifying = await asyncio.to_thread(self.node.ingest_begin, fetched.records)
        return fetched

    async def _take(
        self,
        url: str,
        records: list[Any],
        verifying: Verifying,
        unfinished: str | None,
        asked: dict[str, int],
        after: dict[str, int],
        wanted: dict[str, tuple[int, int]],
        report: SyncReport,
        scope: Scope,
    ) -> None:
        """Ingest one answer; then move `after` on, or drop the feeds done or stopped."""
        store = self.node.store
        results = await asyncio.to_thread(
            self.node.ingest_finish, verifying, scoped=True, scope=scope
        )
        report.count(results)
        by_author: dict[str, list[Any]] = defaultdict(list)
        for record, result in zip(records, results, strict=True):
            by_author[record["author"]].append(result)
        for author, held in asked.items():
            got = by_author.get(author, [])
            if got and got[0].error is not None and got[0].error.code == "wrong_prev":
                await self._fetch_disputed(url, author, held, report)
            head = store.head(author)
            now = head.seq if head else 0
            if any(result.status == "rejected" for result in got) or now >= wanted[author][1]:
                del after[author]  # done, or no more trust for this feed this round
            elif unfinished is None or author < unfinished:
                report.rejected["short_feed"] += 1  # served to its end, yet short
                del after[author]
            elif author == unfinished and now <= held and author == min(asked):
                raise PeerError("bad_response", f"{url} served a batch that went nowhere.")
            else:
                after[author] = now


def _expected(
    after: dict[str, int],
    asked: dict[str, int],
    records: list[Any],
    unfinished: str | None,
    wanted: dict[str, tuple[int, int]],
) -> dict[str, int]:
    """What `after` becomes once `records` are ingested, if every one is accepted."""
    last = {r["author"]: r["seq"] for r in records if type(r.get("seq")) is int}
    expected = dict(after)
    for author, held in asked.items():
        now = last.get(author, held)
        if now >= wanted[author][1] or unfinished is None or author < unfinished:
            del expected[author]
        else:
            expected[author] = now
    return expected


@dataclass
class _Fetched:
    """A batch answer; for a 200, its records and `next` (or why they are not of the shape of
    SPEC §9.13) and, when they are, their verification under way (`Node.ingest_begin`)."""

    answer: Answer
    records: list[Any] | None = None
    unfinished: str | None = None
    error: PeerError | None = None
    verifying: Verifying | None = None


async def _cancel(task: asyncio.Task[_Fetched]) -> None:
    """Cancel a request asked ahead and wait for it to end (a cancellation of the caller
    still propagates); its answer or error is dropped."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved, so that it is not logged as never retrieved


def _parse_answer(data: Any, asked: dict[str, int]) -> tuple[list[Any] | None, str | None]:
    """The records and `next` of a batch answer; records None when one is not an object of
    a feed asked for. Raises `bad_response` when the answer is not of the shape of §9.13."""
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise PeerError("bad_response", 'A batch answer is not {"records": [...], "next": …}.')
    unfinished = data.get("next")
    if unfinished is not None and unfinished not in asked:
        raise PeerError("bad_response", "A batch answer's `next` is not a feed asked for.")
    records: list[Any] = data["records"]
    if any(not isinstance(r, dict) or r.get("author") not in asked for r in records):
        return None, unfinished
    return records, unfinished
