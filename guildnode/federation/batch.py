"""Catch-up of many feeds through `POST /sync/batch` (SPEC §9.13, §9.9 step 3.3).

One request names every feed still behind with the seq held; the answer holds records of
many feeds, which are ingested as one batch, with scope; `next` says where to go on. A peer
that answers the first request `404` or `405` does not have the endpoint: the round goes on
feed by feed (§9.4), and so do later rounds with that peer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from ..peers import PeerError
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
        store = self.node.store
        after = {author: span[0] for author, span in wanted.items()}
        for number in range(MAX_REQUESTS):
            if not after:
                return True
            asked = dict(sorted(after.items())[:MAX_FEEDS])
            answer = await self.client.request(
                "POST", f"{url}/sync/batch", payload={"feeds": asked}, limit=ANSWER_BYTES
            )
            report.traffic.add(answer.traffic)
            if number == 0 and answer.status in (404, 405):
                return False
            if answer.status != 200:
                raise PeerError("peer_refused", f"{url} answered {answer.status} to a batch.")
            records, unfinished = _parse_answer(answer.json(), asked)
            if records is None:
                report.rejected["wrong_author"] += 1
                return True  # nothing of it is ingested; the next round tries again
            results = await asyncio.to_thread(self.node.ingest, records, scoped=True, scope=scope)
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
                elif author == unfinished and now <= held:
                    if author == min(asked):
                        raise PeerError("bad_response", f"{url} served a batch that went nowhere.")
                    after[author] = now
                else:
                    after[author] = now
        report.unfinished = True
        return True


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
