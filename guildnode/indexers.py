"""The indexers the owner named, and what the node does with them (issue 12): name and
forget them, search through them (`search.ask`), and follow what was found there.

Following a found guild or brief brings its record here, so the owner can act on it through
the normal path (`guild apply`, `propose`): its author's feed is fetched from a node that
serves it (the URL the owner gives, the author's endpoints if their profile is held here,
else each named indexer, though SPEC §13 does not oblige an indexer to serve feeds),
ingested and so verified record by record like any other, and the author's node, from the
endpoints of their profile, becomes a peer. Once the owner applies (or proposes), the author
is in the replication scope and ordinary sync keeps their feed current.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .errors import NodeError
from .peers import MAX_PAGE_BYTES, PeerError, normalise_url
from .protocol import ProtocolError, parse_json, public_key_from_did
from .protocol.search import Query
from .search import SearchError, SearchResult, ask, probe

if TYPE_CHECKING:
    from .federation import Federation
    from .store import Store

FEED_PAGE = 200
MAX_FOLLOW_PAGES = 50  # 10,000 records at most from one source for one follow


def indexer_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("url", "did", "added_at", "allow_private")}


def list_indexers(store: Store) -> dict[str, Any]:
    return {"indexers": [indexer_view(row) for row in store.indexers()]}


async def add_indexer(federation: Federation, url: str, allow_private: bool) -> dict[str, Any]:
    """Ask `url` a search to learn that it is an indexer and who, then remember it.
    Raises `PeerError` when it does not answer as an indexer."""
    row = await probe(federation.client, url, allow_private)
    node = federation.node
    node.store.add_indexer(row["url"], row["did"], node.now(), allow_private)
    return next(indexer_view(r) for r in node.store.indexers() if r["url"] == row["url"])


def remove_indexer(store: Store, url: str) -> dict[str, Any]:
    """Forget an indexer; raises `SearchError("not_found")` if it was not named."""
    try:
        key = normalise_url(url)
    except PeerError:
        key = url
    if not store.remove_indexer(key):
        raise SearchError("not_found", f"No indexer {url[:200]} is named.", 404)
    return {"removed": key}


async def search(federation: Federation, query: Query) -> SearchResult:
    node = federation.node
    indexers = await asyncio.to_thread(node.store.indexers)
    return await ask(federation.client, indexers, query, node.now())


async def follow(
    federation: Federation, record_id: str, author: str, source: str | None = None
) -> dict[str, Any]:
    """Bring record `record_id` (a guild's charter or a brief) of `author` here (see the
    module's docstring).

    Raises `SearchError` (`invalid_query` for a bad id or DID, `not_found` when no source
    served the record, or a charter has no effect) or `PeerError` for a bad `source` URL.
    Returns its kind, where it came from and the peer added, if any."""
    try:
        public_key_from_did(author)
    except ProtocolError as exc:
        raise SearchError("invalid_query", f"author: {exc.detail}") from None
    if len(record_id) != 64 or any(c not in "0123456789abcdef" for c in record_id):
        raise SearchError("invalid_query", "A record id is 64 lower-case hex digits.")
    node = federation.node
    sources = [normalise_url(source)] if source else []
    # Then the author's own node, if a profile of theirs is held here, then the indexers.
    for url in [*(node.profile(author) or {}).get("endpoints", []),
                *(row["url"] for row in node.store.indexers())]:  # fmt: skip
        if url not in sources:
            sources.append(url)
    tried: list[str] = []
    came_from = "this node" if node.store.get(record_id) is not None else None
    for url in sources if came_from is None else []:
        try:
            await _fetch_feed(federation, url, author)
        except PeerError as exc:
            tried.append(f"{url}: {exc.code}: {exc.detail[:200]}")
            continue
        if node.store.get(record_id) is not None:
            came_from = url
            break
        tried.append(f"{url}: the record is not in the feed served")
    if came_from is None:
        raise SearchError(
            "not_found",
            f"No source served the record {record_id[:12]}… in {author}'s feed"
            + (f" ({'; '.join(tried)})" if tried else "")
            + ". Give the address of a node that holds it (the author's endpoints show in a"
            " people search).",
            404,
        )
    kind = parse_json(node.store.get(record_id) or b"{}").get("kind")
    if kind == "guild":
        try:
            node.charter(record_id)
        except NodeError as exc:  # held, but not a charter with effect here
            detail = f"{record_id[:12]}… is held but is no guild here."
            raise SearchError("not_found", detail, 404) from exc
    peer = await _peer(federation, author, source)
    return {"id": record_id, "kind": kind, "author": author, "from": came_from, "peer": peer}


async def _fetch_feed(federation: Federation, url: str, author: str) -> None:
    """Ingest `author`'s feed from `url`, page by page, from what is held here on; each
    record is verified by ingest, which decides what is kept."""
    node = federation.node
    for _ in range(MAX_FOLLOW_PAGES):
        head = node.store.head(author)
        after = head.seq if head else 0
        answer = await federation.client.request(
            "GET", f"{url}/sync/feed/{author}?after={after}&limit={FEED_PAGE}", limit=MAX_PAGE_BYTES
        )
        if answer.status != 200:
            raise PeerError("peer_refused", f"{url} answered {answer.status} to a feed page.")
        data = answer.json()
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or len(records) > FEED_PAGE:
            raise PeerError("bad_response", 'A feed page is not {"records": [...]} of ≤ 200.')
        if not records:
            return
        if any(not isinstance(r, dict) or r.get("author") != author for r in records):
            raise PeerError("bad_response", f"{url} served records of another author.")
        results = await asyncio.to_thread(node.ingest, records)
        rejected = [r for r in results if r.status == "rejected"]
        if rejected:
            error = rejected[0].error
            raise PeerError("bad_response", f"{url} served a refused record: {error}")
        if len(records) < FEED_PAGE:
            return


async def _peer(federation: Federation, author: str, source: str | None) -> dict[str, Any] | None:
    """Add the author's node as a peer: the source given, else their profile's endpoints."""
    node = federation.node
    for known in node.store.peers():
        if known["did"] == author:
            return {"did": known["did"], "url": known["url"]}
    endpoints = [(source, "manual")] if source else []
    endpoints += [(url, "profile") for url in (node.profile(author) or {}).get("endpoints", [])]
    for url, kind in endpoints:
        try:
            peer = await federation.add_peer(url, source=kind, expect=author)
        except PeerError:
            continue  # the next endpoint; the charter is here whatever happens
        return {"did": peer["did"], "url": peer["url"]}
    return None
