"""`POST /sync/batch` (SPEC §9.13): the route's refusals, its cursor, catch-up of many feeds
in few round trips, old peers without it, and one feed fetched from one peer at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guildnode.api import batch
from guildnode.protocol import Identity
from tests.conftest import Router, ServedNode
from tests.network.test_faults import chain

pytestmark = pytest.mark.anyio

AUTHORS = [Identity(bytes([100 + n]) * 32) for n in range(12)]
GOOD = AUTHORS[0].did


async def post(served: ServedNode, body: bytes) -> Any:
    return await served.client.post(
        "/sync/batch", content=body, headers={"content-type": "application/json"}
    )


BAD_REQUESTS: dict[str, tuple[bytes, int, str]] = {
    "not JSON": (b"{feeds", 400, "malformed_request"),
    "not an object": (b"[1]", 400, "malformed_request"),
    "feeds not an object": (b'{"feeds": [1]}', 400, "malformed_request"),
    "an unknown key": (json.dumps({"feeds": {}, "cursor": 1}).encode(), 400, "malformed_request"),
    "too many feeds": (
        json.dumps({"feeds": {f"did:key:z{n}": 0 for n in range(batch.MAX_FEEDS + 1)}}).encode(),
        400,
        "too_many_feeds",
    ),
    "a bad DID": (json.dumps({"feeds": {"did:web:x": 0}}).encode(), 400, "invalid_did"),
    "a negative after": (json.dumps({"feeds": {GOOD: -1}}).encode(), 400, "invalid_after"),
    "a string after": (json.dumps({"feeds": {GOOD: "3"}}).encode(), 400, "invalid_after"),
    "a huge after": (json.dumps({"feeds": {GOOD: 2**60}}).encode(), 400, "invalid_after"),
    "a huge limit": (
        json.dumps({"feeds": {GOOD: 0}, "limit": 10**9}).encode(),
        400,
        "invalid_budget",
    ),
    "a zero limit": (json.dumps({"feeds": {GOOD: 0}, "limit": 0}).encode(), 400, "invalid_budget"),
    "huge max_bytes": (
        json.dumps({"feeds": {GOOD: 0}, "max_bytes": 2**40}).encode(),
        400,
        "invalid_budget",
    ),
    "a body over 1 MiB": (b'{"feeds":{"' + b"x" * 1_100_000 + b'":0}}', 413, "body_too_large"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
async def test_a_bad_batch_request_is_refused_with_its_code(make_node: Any, case: str) -> None:
    body, status, code = BAD_REQUESTS[case]
    lone = await make_node("lone")
    response = await post(lone, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["detail"]
    assert (await lone.client.get("/sync/heads")).status_code == 200  # still serving


async def test_a_batch_serves_feeds_in_did_order_and_names_where_to_go_on(
    make_node: Any,
) -> None:
    lone = await make_node("lone")
    chains = {author.did: chain(author, 5) for author in AUTHORS[:4]}
    for records in chains.values():
        await lone.inbox(records)
    wanted = dict.fromkeys(chains, 1)
    first = (await post(lone, json.dumps({"feeds": wanted, "limit": 7}).encode())).json()
    order = sorted(chains)
    assert [(r["author"], r["seq"]) for r in first["records"]] == [
        *((order[0], s) for s in range(2, 6)),
        *((order[1], s) for s in range(2, 5)),
    ]
    assert first["next"] == order[1]
    rest = {order[1]: 4, order[2]: 1, order[3]: 1}
    second = (await post(lone, json.dumps({"feeds": rest}).encode())).json()
    assert len(second["records"]) == 1 + 4 + 4 and second["next"] is None
    # An unknown feed and one asked past its end give nothing, and the batch is complete.
    empty = await post(lone, json.dumps({"feeds": {order[0]: 5, AUTHORS[9].did: 0}}).encode())
    assert empty.json() == {"records": [], "next": None}


async def feeds_on(served: ServedNode, authors: list[Identity], length: int) -> int:
    for author in authors:
        await served.inbox(chain(author, length))
    return len(authors) * length


async def test_catching_up_many_feeds_costs_a_few_round_trips(
    make_node: Any, router: Router
) -> None:
    a, b = await make_node("a"), await make_node("b")
    total = await feeds_on(b, AUTHORS, 8)
    a.welcome(*(author.did for author in AUTHORS))
    await a.federation.add_peer(b.url)
    await a.federation.flush()
    [peer] = a.federation.peers()
    router.exchanges.clear()
    report = await a.federation.sync_peer(peer)
    assert report.error is None and not report.rejected
    assert report.accepted == total
    paths = [url.removeprefix(b.url) for _, url, _, _ in router.exchanges]
    assert not any(path.startswith("/sync/feed/") for path in paths), paths
    assert paths.count("/sync/batch") == 1
    assert report.traffic.round_trips <= 3  # heads, push-back of a's vouches, one batch
    for author in AUTHORS:
        assert a.node.store.head(author.did) == b.node.store.head(author.did)


class OldPeer:
    """A node app from before `POST /sync/batch`: that path answers `status`."""

    def __init__(self, app: Any, status: int) -> None:
        self.app, self.status = app, status

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/sync/batch":
            body = b'{"error":{"code":"not_found","detail":"no such path"}}'
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": self.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@pytest.mark.parametrize("status", [404, 405])
async def test_an_old_peer_without_the_batch_endpoint_is_synced_feed_by_feed(
    make_node: Any, router: Router, status: int
) -> None:
    a, b = await make_node("a"), await make_node("b")
    router.add("b.test", OldPeer(b.app, status))
    total = await feeds_on(b, AUTHORS[:3], 4)
    a.welcome(*(author.did for author in AUTHORS[:3]))
    await a.federation.add_peer(b.url)
    await a.federation.flush()
    [peer] = a.federation.peers()
    router.exchanges.clear()
    report = await a.federation.sync_peer(peer)
    assert report.error is None and not report.rejected and report.accepted == total
    paths = [url.removeprefix(b.url) for _, url, _, _ in router.exchanges]
    assert paths.count("/sync/batch") == 1
    assert sum(path.startswith("/sync/feed/") for path in paths) == 3
    # The next round does not ask for the batch again.
    more = AUTHORS[0]
    await b.inbox(chain(more, 6)[4:])
    router.exchanges.clear()
    [peer] = a.federation.peers()
    report = await a.federation.sync_peer(peer)
    assert report.accepted == 2
    assert all("/sync/batch" not in url for _, url, _, _ in router.exchanges)


async def test_two_simultaneous_rounds_fetch_each_feed_once(make_node: Any) -> None:
    a, b, c = await make_node("a"), await make_node("b"), await make_node("c")
    total = await feeds_on(b, AUTHORS, 10)
    await feeds_on(c, AUTHORS, 10)
    a.welcome(*(author.did for author in AUTHORS))
    await a.federation.add_peer(b.url)
    await a.federation.add_peer(c.url)
    await a.federation.flush()
    reports = await a.federation.sync_all()  # both rounds at once
    assert all(report.error is None and not report.rejected for report in reports)
    assert sum(report.accepted for report in reports) == total
    assert sum(report.duplicates for report in reports) == 0  # no record came twice
    for author in AUTHORS:
        assert a.node.store.head(author.did) == b.node.store.head(author.did)


async def test_a_catch_up_cut_into_many_small_answers_goes_on_to_the_end(
    make_node: Any, router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With answers of at most 4 KiB, feeds are cut mid-way and the asker goes on from
    `next` until every feed is caught up, without a `short_feed`."""
    monkeypatch.setattr(batch, "MAX_ANSWER_BYTES", 4096)
    a, b = await make_node("a"), await make_node("b")
    total = await feeds_on(b, AUTHORS, 8)
    a.welcome(*(author.did for author in AUTHORS))
    await a.federation.add_peer(b.url)
    await a.federation.flush()
    [peer] = a.federation.peers()
    router.exchanges.clear()
    report = await a.federation.sync_peer(peer)
    assert report.error is None and not report.rejected and report.accepted == total
    batches = sum(url.endswith("/sync/batch") for _, url, _, _ in router.exchanges)
    canonical = sum(len(r) for d in AUTHORS for r in b.node.store.feed(d.did, 0, 100, 2**30))
    assert canonical // 4096 <= batches <= canonical // 3000 + 2, (batches, canonical)
    for author in AUTHORS:
        assert a.node.store.head(author.did) == b.node.store.head(author.did)
