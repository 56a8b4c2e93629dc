"""Faulty peers: each misbehaves in one way, and the node under test (the victim) must

- store nothing bad (no record from the bad data; `check()` still passes),
- report the fault in its peer list (a rejection counted by code, or `last_error` naming the
  `PeerError` code),
- and go on syncing with an honest peer in the same test.

A misbehaving peer is a plain ASGI app registered on the shared `Router` at evil.test, or,
for faults that need real sockets (timeouts), a tiny TCP server on 127.0.0.1. The inbox side
is driven through the victim's real `POST /inbox` route.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from guildnode.api.guard import AUTHOR_RATE, SENDER_RATE
from guildnode.peers import MAX_PAGE_BYTES, PEER_CODES
from guildnode.protocol import (
    Identity,
    canonical_bytes,
    encode_sig,
    format_timestamp,
    record_id,
)
from tests.conftest import PEER, Router, ServedNode, signed_headers

pytestmark = pytest.mark.anyio

EVIL = Identity(bytes([77]) * 32)  # the misbehaving peer's node key, and the author it serves
FORGER = Identity(bytes([78]) * 32)  # a key that is not EVIL's
STRANGER = Identity(bytes([79]) * 32)  # an author nobody vouched for: out of every scope
NOBODY = Identity(bytes([254]) * 32)  # a subject for vouches
EVIL_URL = "http://evil.test"
START = 1_790_000_000  # `created` of crafted records: in the past, after nothing


# -- crafted records --------------------------------------------------------------------


def signed(
    signer: Identity,
    *,
    seq: int,
    prev: str | None,
    author: str | None = None,
    kind: str = "vouch",
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A record as a wire dict, signed by `signer` (claiming `author`, by default the
    signer). Signed directly, not through `sign_record`, so a forgery can be built too."""
    unsigned = {
        "v": 1,
        "kind": kind,
        "author": author or signer.did,
        "seq": seq,
        "prev": prev,
        "created": format_timestamp(START + seq),
        "body": body if body is not None else {"subject": NOBODY.did, "level": 1},
    }
    return {**unsigned, "sig": encode_sig(signer.sign(canonical_bytes(unsigned)))}


def rid(wire: dict[str, Any]) -> str:
    return record_id(canonical_bytes(wire))


def chain(
    signer: Identity, n: int, *, kind: str = "vouch", body: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """`n` linked records of `signer`, seq 1..n."""
    records: list[dict[str, Any]] = []
    for seq in range(1, n + 1):
        records.append(
            signed(
                signer, seq=seq, prev=rid(records[-1]) if records else None, kind=kind, body=body
            )
        )
    return records


def page(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"records": records}, separators=(",", ":")).encode()


def heads(*tips: dict[str, Any]) -> bytes:
    """`{"feeds": {DID: {"seq", "id"}}}` naming each record in `tips` as its author's latest."""
    feeds = {tip["author"]: {"seq": tip["seq"], "id": rid(tip)} for tip in tips}
    return json.dumps({"feeds": feeds}).encode()


# -- a misbehaving peer -----------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(
        default_factory=lambda: [(b"content-type", b"application/json")]
    )


class EvilPeer:
    """A plain ASGI app that answers each path with whatever reply the test set for it.

    `/.well-known/guildnode` names `identity`; other paths answer 404 until set. Queries are
    ignored: a feed page is the same whatever `after` asks for. Every path asked is logged.
    """

    def __init__(self, identity: Identity = EVIL, url: str = EVIL_URL) -> None:
        self.did = identity.did
        self.url = url
        self.replies: dict[str, Reply] = {
            "/.well-known/guildnode": Reply(
                body=json.dumps(
                    {
                        "did": self.did,
                        "name": "Evil",
                        "url": url,
                        "protocol": 1,
                        "software": {"name": "evil", "version": "6.6.6"},
                    }
                ).encode()
            )
        }
        self.asked: list[str] = []

    def serve(self, path: str, body: bytes = b"", status: int = 200, **headers: str) -> None:
        raw = [(b"content-type", b"application/json")]
        raw += [(k.replace("_", "-").encode(), v.encode("latin-1")) for k, v in headers.items()]
        self.replies[path] = Reply(status, body, raw)

    def serve_heads(self, body: bytes, **headers: str) -> None:
        self.serve("/sync/heads", body, **headers)

    def serve_feed(self, author: str, body: bytes, status: int = 200, **headers: str) -> None:
        self.serve(f"/sync/feed/{author}", body, status, **headers)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        query = scope.get("query_string", b"").decode()
        self.asked.append(scope["path"] + (f"?{query}" if query else ""))
        more = True
        while more:  # read the request body, whatever it is
            message = await receive()
            more = message.get("more_body", False)
        reply = self.replies.get(
            scope["path"], Reply(404, b'{"error":{"code":"not_found","detail":"no"}}')
        )
        headers = [*reply.headers, (b"content-length", str(len(reply.body)).encode())]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


# -- the world of each test: a victim, an honest peer, an evil peer -----------------------


@dataclass
class World:
    victim: ServedNode
    honest: ServedNode
    evil: EvilPeer
    router: Router
    rounds: int = 0

    def row(self, url: str = EVIL_URL) -> dict[str, Any]:
        [row] = [p for p in self.victim.federation.peers() if p["url"] == url]
        return row

    async def sync(self) -> list[Any]:
        """One "sync now" with every peer; the honest peer publishes something new first,
        and it must arrive in this very round whatever the evil peer does."""
        self.rounds += 1
        fresh = self.honest.node.set_profile(bio=f"round {self.rounds}")
        reports = await self.victim.federation.sync_all()
        assert self.victim.node.store.get(fresh.id) is not None, "the honest peer was starved"
        honest = self.row(self.honest.url)
        assert honest["last_error"] is None and honest["rejections"] == {}, honest
        return reports

    def held(self, did: str) -> list[str]:
        return [record for record, _ in self.victim.node.store.records(author=did)]

    def assert_sound(self, *bad: dict[str, Any]) -> None:
        assert_sound(self.victim, *bad)


def assert_sound(served: ServedNode, *bad: dict[str, Any]) -> None:
    """Nothing of the bad data is stored, and everything stored verifies again."""
    for wire in bad:
        assert served.node.store.get(rid(wire)) is None, wire["seq"]
    report = served.node.check()
    assert report.ok, report.problems


async def build_world(
    make_node: Any, router: Router, *, add_evil: bool = True, **settings: Any
) -> World:
    victim = await make_node("victim", **settings)
    honest = await make_node("honest")
    honest.node.set_profile(name="Honest")
    evil = EvilPeer()
    router.add("evil.test", evil)
    victim.node.vouch(EVIL.did, level=1)  # the evil author is in scope: the victim fetches
    victim.node.vouch(honest.node.did, level=1)
    await victim.federation.flush()  # pushed to nobody yet: no stray exchanges later
    await victim.federation.add_peer(honest.url)
    if add_evil:
        await victim.federation.add_peer(EVIL_URL)
    return World(victim, honest, evil, router)


@pytest.fixture
async def world(make_node: Any, router: Router) -> World:
    return await build_world(make_node, router)


@pytest.fixture
async def lone(make_node: Any) -> ServedNode:
    """A node alone, whose owner vouches for EVIL: for what reaches the inbox."""
    victim = await make_node("victim")
    victim.node.vouch(EVIL.did, level=1)
    return victim


async def give(served: ServedNode, *records: dict[str, Any]) -> None:
    """Hand records to `served` through its inbox, as an honest peer would push them."""
    results = await served.inbox(list(records))
    assert all(r["status"] == "accepted" for r in results), results


# -- 1, 2, 4 and friends: a feed page with a bad record ---------------------------------


def _forged() -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    forged = signed(FORGER, author=EVIL.did, seq=1, prev=None)
    return [], [forged], heads(forged)


def _tampered() -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    genuine = signed(EVIL, seq=1, prev=None)
    tampered = json.loads(json.dumps(genuine))
    tampered["body"]["level"] = 3  # changed after signing
    return [], [tampered], heads(tampered)


def _gap() -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    first, second, third = chain(EVIL, 3)
    del second  # never served
    return [first], [third], heads(third)


def _wrong_author() -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    mine, theirs = signed(EVIL, seq=1, prev=None), signed(STRANGER, seq=1, prev=None)
    return [], [mine, theirs], heads(mine)


def _short_feed() -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    promised = signed(EVIL, seq=1, prev=None)
    return [], [], heads(promised)


BAD_PAGES: dict[str, tuple[Callable[[], Any], str]] = {
    "forged: signed by another key than its author's": (_forged, "bad_signature"),
    "tampered: body changed after signing": (_tampered, "bad_signature"),
    "gap: seq 3 after the victim holds 1": (_gap, "seq_gap"),
    "a record of another author in the page": (_wrong_author, "wrong_author"),
    "heads promise a record the feed does not serve": (_short_feed, "short_feed"),
}


@pytest.mark.parametrize("via", ["feed", "batch"])
@pytest.mark.parametrize("case", list(BAD_PAGES))
async def test_a_bad_feed_page_is_refused_counted_and_stored_nowhere(
    world: World, case: str, via: str
) -> None:
    """The same faults, served as a feed page (§9.4) or in a batch answer (§9.13)."""
    build, code = BAD_PAGES[case]
    held, served, claimed = build()
    if held:
        await give(world.victim, *held)
    world.evil.serve_heads(claimed)
    if via == "batch":
        world.evil.serve("/sync/batch", json.dumps({"records": served, "next": None}).encode())
    else:
        world.evil.serve_feed(EVIL.did, page(served))

    await world.sync()
    fetched = [path for path in world.evil.asked if path.startswith("/sync/feed/")]
    assert (fetched == []) == (via == "batch"), world.evil.asked

    row = world.row()
    assert row["rejections"] == {code: 1}, row
    assert row["last_error"] is None  # the conversation worked; the data was bad
    assert row["records_received"] == 0
    world.assert_sound(*served)
    assert len(world.held(EVIL.did)) == len(held)
    assert world.held(STRANGER.did) == []
    # The next round counts the fault again (a faulty round is never cached by ETag) and
    # the honest peer still flows.
    await world.sync()
    assert world.row()["rejections"] == {code: 2}


# -- 3: forks ---------------------------------------------------------------------------


async def test_a_peer_serving_a_fork_gets_it_kept_as_proof_and_the_chain_frozen(
    world: World,
) -> None:
    honest_one = signed(EVIL, seq=1, prev=None)
    await give(world.victim, honest_one)  # the victim holds the honest version first
    # The peer's other branch: a second, validly signed record at seq 1, and its successor.
    other_one = signed(EVIL, seq=1, prev=None, body={"subject": NOBODY.did, "level": 3})
    other_two = signed(EVIL, seq=2, prev=rid(other_one))
    world.evil.serve_heads(heads(other_two))
    world.evil.serve_feed(EVIL.did, page([other_one, other_two]))  # from seq 1, whatever `after`

    await world.sync()

    row = world.row()
    assert row["rejections"].get("fork") == 1, row
    assert set(row["rejections"]) <= {"fork", "chain_frozen"}
    store = world.victim.node.store
    proof = store.fork(EVIL.did)
    assert proof is not None and proof.seq == 1
    assert {record_id(proof.first), record_id(proof.second)} == {rid(honest_one), rid(other_one)}
    world.assert_sound(other_one, other_two)
    assert world.victim.node.check().forks == 1

    # The proof is served, and the author's feed is frozen before the fork.
    client = world.victim.client
    answer = await client.get(f"/sync/forks/{EVIL.did}")
    assert answer.status_code == 200
    assert {rid(r) for r in answer.json()["records"]} == {rid(honest_one), rid(other_one)}
    assert (await client.get(f"/sync/feed/{EVIL.did}?after=0")).json() == {"records": []}
    assert (await client.get("/sync/heads")).json()["feeds"][EVIL.did] == {
        "seq": 0,
        "id": None,
        "forked": True,
    }
    # The next round asks nothing past the freeze, and stores nothing of the other branch.
    await world.sync()
    assert world.row()["rejections"] == row["rejections"]
    assert store.frozen_at(EVIL.did) == 0
    world.assert_sound(other_one, other_two)


@pytest.mark.parametrize("branch", [1, 2], ids=["same-length", "longer"])
async def test_a_fork_held_by_an_honest_peer_is_proven_when_the_heads_disagree(
    make_node: Any, branch: int
) -> None:
    """Two nodes each hold one branch of a forking author's chain. Neither is at fault; the
    heads they exchange show different ids for the same seq (or a successor whose `prev` is
    not what the victim holds). Sync must end with the fork proven on the victim (DESIGN:
    "every node converges on the same state"), not with two nodes diverging for ever."""
    victim, other = await make_node("victim"), await make_node("other")
    mine = signed(EVIL, seq=1, prev=None)
    theirs = chain(EVIL, branch, body={"subject": NOBODY.did, "level": 2})
    assert rid(theirs[0]) != rid(mine)
    await give(victim, mine)
    await give(other, *theirs)
    await victim.federation.add_peer(other.url)
    for _ in range(2):
        await victim.federation.sync_all()
    [row] = victim.federation.peers()
    assert row["last_error"] is None, row
    proof = victim.node.store.fork(EVIL.did)
    assert proof is not None, (
        f"no fork proof after sync; the peer's heads name {rid(theirs[-1])[:12]} at seq "
        f"{branch}, the victim holds {rid(mine)[:12]} at seq 1; rejections: {row['rejections']}"
    )
    assert proof.seq == 1
    assert victim.node.store.frozen_at(EVIL.did) == 0
    assert victim.node.check().ok


# -- 5: a page over the size limit ------------------------------------------------------


def _padded(records: list[dict[str, Any]], size: int) -> bytes:
    body = page(records)
    assert len(body) <= size, (len(body), size)
    return body[:-1] + b" " * (size - len(body)) + b"}"  # JSON whitespace up to `size`


@pytest.fixture(scope="module")
def big_chain() -> list[dict[str, Any]]:
    """200 records of an unknown kind, ~5 KB each: a full page just under 1 MiB."""
    return chain(EVIL, 200, kind="blob", body={"data": "x" * 4_700})


async def test_a_page_over_the_size_limit_is_cut_off_and_nothing_stored(
    world: World, big_chain: list[dict[str, Any]]
) -> None:
    world.evil.serve_heads(heads(big_chain[-1]))
    world.evil.serve_feed(EVIL.did, _padded(big_chain, MAX_PAGE_BYTES + 1))

    await world.sync()

    row = world.row()
    assert row["last_error"].startswith("response_too_large"), row
    assert row["failures"] == 1
    assert world.held(EVIL.did) == []
    world.assert_sound(*big_chain)

    # Exactly at the limit, the same records are taken.
    world.evil.serve_feed(EVIL.did, _padded(big_chain, MAX_PAGE_BYTES))
    await world.sync()
    assert world.row()["last_error"] is None
    assert len(world.held(EVIL.did)) == 200
    assert world.victim.node.check().ok


# -- 6: a peer slower than the timeout (real sockets) -----------------------------------


class StallingServer:
    """A TCP server on 127.0.0.1 that reads a request and then, by `mode`:
    "silent": never answers; "headers": sends the status line and headers, then nothing;
    "trickle": sends the headers, then one byte of body every 0.2 s (each read completes
    well within a 0.5 s read timeout, the whole answer takes minutes)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.done = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []
        self.connections = 0

    async def __aenter__(self) -> StallingServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.done.set()
        self.server.close()
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await self.server.wait_closed()
        await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        self.connections += 1
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            if self.mode in ("headers", "trickle"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: 65536\r\n\r\n{"
                )
                await writer.drain()
            while self.mode == "trickle" and not self.done.is_set():
                await asyncio.sleep(0.2)
                writer.write(b" ")
                await writer.drain()
            await self.done.wait()


@pytest.mark.parametrize("mode", ["silent", "headers", "trickle"])
async def test_a_peer_slower_than_the_timeout_fails_in_bounded_time(
    make_node: Any, router: Router, mode: str
) -> None:
    world = await build_world(
        make_node, router, add_evil=False, read_timeout=0.5, connect_timeout=0.5
    )
    async with StallingServer(mode) as slow:
        url = f"http://127.0.0.1:{slow.port}"
        # /.well-known would stall too, so the peer row is written directly.
        world.victim.node.store.add_peer(EVIL.did, url, "manual", world.victim.node.now())
        started = time.monotonic()
        with anyio.move_on_after(5) as deadline:
            await world.sync()
        elapsed = time.monotonic() - started
        assert not deadline.cancelled_caught, (
            f"{mode}: the round with a stalling peer was still running after 5 s (read_timeout=0.5)"
        )
        assert elapsed < 5
        assert slow.connections >= 1
        row = world.row(url)
        assert (row["last_error"] or "").startswith("peer_timeout"), row
        assert row["failures"] == 1
        world.assert_sound()


# -- 7: redirects -----------------------------------------------------------------------


@pytest.mark.parametrize(("where", "status"), [("heads", 302), ("feed", 307)])
async def test_a_redirect_is_never_followed(world: World, where: str, status: int) -> None:
    elsewhere = EvilPeer(url="http://elsewhere.test")
    record = signed(EVIL, seq=1, prev=None)
    elsewhere.serve_heads(heads(record))
    elsewhere.serve_feed(EVIL.did, page([record]))
    world.router.add("elsewhere.test", elsewhere)
    world.evil.serve_heads(heads(record))
    path = "/sync/heads" if where == "heads" else f"/sync/feed/{EVIL.did}"
    world.evil.serve(path, b"", status, location=f"http://elsewhere.test{path}?after=0")

    await world.sync()

    row = world.row()
    assert (row["last_error"] or "").startswith("peer_redirect"), row
    assert "elsewhere.test" in row["last_error"]
    assert elsewhere.asked == []
    assert not any("elsewhere.test" in url for _, url, _, _ in world.router.exchanges)
    assert world.held(EVIL.did) == []
    world.assert_sound(record)


# -- 8: the inbox refuses requests whose signature does not hold ------------------------


def _without_signature(url: str, body: bytes) -> tuple[dict[str, str], bytes]:
    return {"content-type": "application/json"}, body


def _expired(url: str, body: bytes) -> tuple[dict[str, str], bytes]:
    return signed_headers(url, body, now=int(time.time()) - 400), body


def _altered(url: str, body: bytes) -> tuple[dict[str, str], bytes]:
    return signed_headers(url, b'{"records":[]}'), body  # an empty batch was signed


def _other_key(url: str, body: bytes) -> tuple[dict[str, str], bytes]:
    headers = signed_headers(url, body)
    key = next(k for k in headers if k.lower() == "signature-input")
    headers[key] = headers[key].replace(PEER.did, FORGER.did)  # claims another signer
    return headers, body


def _other_node(url: str, body: bytes) -> tuple[dict[str, str], bytes]:
    return signed_headers("http://honest.test/inbox", body), body  # relayed from elsewhere


UNSIGNED: dict[str, tuple[Callable[[str, bytes], tuple[dict[str, str], bytes]], str]] = {
    "no signature": (_without_signature, "signature_missing"),
    "signed 400 s ago": (_expired, "signature_expired"),
    "body altered after signing": (_altered, "digest_mismatch"),
    "keyid names another key": (_other_key, "signature_invalid"),
    "signed for another node": (_other_node, "signature_invalid"),
}


async def assert_still_serving(served: ServedNode) -> None:
    answer = await served.client.get("/sync/heads")
    assert answer.status_code == 200
    assert served.node.did in answer.json()["feeds"]


@pytest.mark.parametrize("case", list(UNSIGNED))
async def test_the_inbox_refuses_a_request_whose_signature_does_not_hold(
    lone: ServedNode, case: str
) -> None:
    make, code = UNSIGNED[case]
    record = signed(EVIL, seq=1, prev=None)  # in scope: it would be stored if let in
    headers, sent = make(f"{lone.url}/inbox", page([record]))
    before = lone.node.store.count()

    answer = await lone.client.post("/inbox", content=sent, headers=headers)

    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert error["code"] == code, error
    assert error["detail"]
    assert lone.node.store.count() == before
    assert_sound(lone, record)
    await assert_still_serving(lone)


async def test_the_inbox_refuses_the_same_signed_request_twice(lone: ServedNode) -> None:
    first = signed(EVIL, seq=1, prev=None)
    body = page([first])
    headers = signed_headers(f"{lone.url}/inbox", body)  # built once, sent twice
    answer = await lone.client.post("/inbox", content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["results"][0]["status"] == "accepted"
    count = lone.node.store.count()

    again = await lone.client.post("/inbox", content=body, headers=headers)

    assert again.status_code == 401, again.text
    assert again.json()["error"]["code"] == "signature_replayed"
    assert lone.node.store.count() == count
    assert_sound(lone)
    await assert_still_serving(lone)


# -- 9: floods --------------------------------------------------------------------------

FLOOD_REQUESTS = 600
FLOOD_SECONDS = 10.0


async def test_a_signer_flooding_the_inbox_is_rate_limited_and_others_are_not(
    lone: ServedNode,
) -> None:
    flooder = Identity(bytes([81]) * 32)
    url = f"{lone.url}/inbox"
    body = b'{"records":[]}'
    statuses: list[int] = []
    limited = None
    started = time.monotonic()
    while len(statuses) < FLOOD_REQUESTS and time.monotonic() - started < FLOOD_SECONDS:
        answer = await lone.client.post(
            "/inbox", content=body, headers=signed_headers(url, body, flooder)
        )
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            limited = answer
            break
    assert limited is not None, f"{len(statuses)} requests in a row were all let in"
    burst = int(SENDER_RATE.burst)
    assert statuses[:burst] == [200] * burst  # a peer gets its burst
    error = limited.json()["error"]
    assert error["code"] == "rate_limited"
    assert flooder.did in error["detail"]  # the signer's limit, not the address's
    assert int(limited.headers["retry-after"]) >= 1
    # Limits are per key: another signer is still let in, and the node serves on.
    other = Identity(bytes([82]) * 32)
    answer = await lone.client.post(
        "/inbox", content=body, headers=signed_headers(url, body, other)
    )
    assert answer.status_code == 200, answer.text
    assert_sound(lone)
    await assert_still_serving(lone)


async def test_an_author_flooding_the_inbox_is_rate_limited(lone: ServedNode) -> None:
    prolific = Identity(bytes([83]) * 32)
    lone.node.vouch(prolific.did, level=1)
    batches = int(AUTHOR_RATE.burst) // 200 + 2  # one past the burst, and one to spare
    records = chain(prolific, 200 * batches)
    url = f"{lone.url}/inbox"
    limited = None
    taken = 0
    started = time.monotonic()
    for index in range(batches):
        body = page(records[200 * index : 200 * (index + 1)])
        answer = await lone.client.post("/inbox", content=body, headers=signed_headers(url, body))
        if answer.status_code == 429:
            limited = answer
            break
        assert answer.status_code == 200, answer.text
        assert {r["status"] for r in answer.json()["results"]} == {"accepted"}
        taken += 200
    elapsed = time.monotonic() - started
    assert limited is not None, f"{taken} records of one author were all let in"
    # A token bucket: the burst, plus what refilled while the batches went in.
    assert taken <= AUTHOR_RATE.burst + AUTHOR_RATE.per_second * elapsed
    error = limited.json()["error"]
    assert error["code"] == "rate_limited"
    assert prolific.did[:80] in error["detail"]
    assert int(limited.headers["retry-after"]) >= 1
    # The refused batch is refused whole.
    assert len(list(lone.node.store.records(author=prolific.did))) == taken
    assert_sound(lone, *records[taken:])
    await assert_still_serving(lone)


# -- 10: garbage ------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b'{"feeds":' + b"[" * depth + b"]" * depth + b"}"


GARBAGE: dict[str, tuple[str, bytes, int, dict[str, str], str]] = {
    # name: (where, body, status, headers, expected code)
    "heads are HTML": ("heads", b"<html>hello</html>", 200, {}, "bad_response"),
    "heads hold a list of feeds": ("heads", b'{"feeds":[]}', 200, {}, "bad_response"),
    "a head with a string seq": (
        "heads",
        json.dumps({"feeds": {EVIL.did: {"seq": "1", "id": "x"}}}).encode(),
        200,
        {},
        "bad_response",
    ),
    "heads nest 100,000 deep": ("heads", _nested(100_000), 200, {}, "bad_response"),
    "heads answer 500": ("heads", b'{"error":{}}', 500, {}, "peer_refused"),
    "heads in an encoding never asked for": (
        "heads",
        b"this is not gzip",
        200,
        {"content-encoding": "gzip"},
        "bad_response",
    ),
    "a feed page of HTML": ("feed", b"<html>", 200, {}, "bad_response"),
    "a feed page without records": ("feed", b'{"items":[]}', 200, {}, "bad_response"),
    "a feed page of 201 records": ("feed", page([{}] * 201), 200, {}, "bad_response"),
    "a batch answer of HTML": ("batch", b"<html>", 200, {}, "bad_response"),
    "a batch answer without records": ("batch", b'{"next":null}', 200, {}, "bad_response"),
    "a batch answer going on from a feed never asked for": (
        "batch",
        json.dumps({"records": [], "next": STRANGER.did}).encode(),
        200,
        {},
        "bad_response",
    ),
    "a batch answer going nowhere": (
        "batch",
        json.dumps({"records": [], "next": EVIL.did}).encode(),
        200,
        {},
        "bad_response",
    ),
    "a batch answered 500": ("batch", b'{"error":{}}', 500, {}, "peer_refused"),
}


@pytest.mark.parametrize("case", list(GARBAGE))
async def test_a_peer_answering_garbage_is_reported(world: World, case: str) -> None:
    where, body, status, headers, code = GARBAGE[case]
    record = signed(EVIL, seq=1, prev=None)
    world.evil.serve_heads(heads(record))
    if where == "heads":
        world.evil.serve("/sync/heads", body, status, **headers)
    elif where == "batch":
        world.evil.serve("/sync/batch", body, status, **headers)
    else:
        world.evil.serve_feed(EVIL.did, body, status, **headers)

    await world.sync()  # must not raise, whatever the peer sent

    row = world.row()
    assert (row["last_error"] or "").startswith(f"{code}:"), row
    assert row["failures"] == 1
    assert world.held(EVIL.did) == []
    world.assert_sound(record)
    await world.sync()
    assert world.row()["failures"] == 2


async def test_an_etag_that_cannot_be_sent_back_does_not_break_later_rounds(
    world: World,
) -> None:
    """A clean round stores the peer's ETag and sends it back as If-None-Match next time. An
    ETag of non-ASCII bytes (obs-text, which HTTP/1.1 parsers accept) must not make every
    later round with that peer, and "sync now" as a whole, fail with an exception."""
    world.evil.serve("/sync/heads", b'{"feeds":{}}', etag='"\u00e9t\u00e9"')
    await world.sync()
    assert world.row()["last_error"] is None
    for _ in range(2):
        await world.sync()  # must not raise
    row = world.row()
    assert row["last_error"] is None or row["last_error"].split(":")[0] in PEER_CODES, row
    world.assert_sound()


# -- 11: authors outside the scope ------------------------------------------------------


async def test_heads_naming_an_out_of_scope_author_fetch_nothing_of_it(world: World) -> None:
    mine = signed(EVIL, seq=1, prev=None)
    strangers = chain(STRANGER, 3)
    world.evil.serve_heads(heads(mine, strangers[-1]))
    world.evil.serve_feed(EVIL.did, page([mine]))
    world.evil.serve_feed(STRANGER.did, page(strangers))

    await world.sync()

    assert f"/sync/feed/{EVIL.did}?after=0&limit=200" in world.evil.asked
    assert not any(STRANGER.did in path for path in world.evil.asked)
    assert not any(STRANGER.did in url for _, url, _, _ in world.router.exchanges)
    assert world.held(STRANGER.did) == []
    assert world.held(EVIL.did) == [rid(mine)]  # the in-scope part was fine
    row = world.row()
    assert row["last_error"] is None and row["rejections"] == {}, row
    world.assert_sound(*strangers)


# -- 12: peers learnt from profiles -----------------------------------------------------


def _profile(identity: Identity, *endpoints: str) -> dict[str, Any]:
    body = {"name": "Someone", "kind": "person", "endpoints": list(endpoints)}
    return signed(identity, seq=1, prev=None, kind="profile", body=body)


async def test_an_endpoint_naming_the_profiles_author_becomes_a_peer(
    world: World, make_node: Any
) -> None:
    carol = await make_node("carol")
    profile = carol.node.set_profile(name="Carol", endpoints=[carol.url])
    await give(world.victim, profile.to_wire())  # carol is now in the victim's scope

    await world.sync()

    [row] = [p for p in world.victim.federation.peers() if p["did"] == carol.node.did]
    assert row["source"] == "profile"
    assert row["url"] == carol.url
    # Carol is synced with from the next round: her new record arrives from her directly.
    later = carol.node.set_profile(bio="new")
    await world.sync()
    assert world.victim.node.store.get(later.id) is not None
    assert world.row(carol.url)["last_error"] is None
    world.assert_sound()


async def test_an_endpoint_naming_another_identity_is_not_a_peer(
    world: World, make_node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="guildnode.federation")
    mallory = await make_node("mallory")
    dave = Identity(bytes([84]) * 32)
    await give(world.victim, _profile(dave, mallory.url))  # mallory is not dave

    await world.sync()

    urls = {p["url"] for p in world.victim.federation.peers()}
    assert mallory.url not in urls
    assert mallory.node.did not in {p["did"] for p in world.victim.federation.peers()}
    assert any("identity_mismatch" in r.getMessage() for r in caplog.records)
    asked = [u for _, u, _, _ in world.router.exchanges if u.startswith(mallory.url)]
    assert asked == [f"{mallory.url}/.well-known/guildnode"]
    await world.sync()  # not asked again for a while
    asked = [u for _, u, _, _ in world.router.exchanges if u.startswith(mallory.url)]
    assert asked == [f"{mallory.url}/.well-known/guildnode"]
    world.assert_sound()


@pytest.mark.parametrize("endpoint", ["http://[", "http://evil.test:port", "http://xn--zz.test"])
async def test_a_malformed_endpoint_in_a_profile_is_skipped(world: World, endpoint: str) -> None:
    """The evil author vouches for eve, so eve is two vouch hops from the victim's owner, and
    serves eve's valid profile, whose endpoint is no usable URL (the schema admits any
    printable one). Learning peers from it must not make "sync now" fail."""
    eve = Identity(bytes([85]) * 32)
    vouch = signed(EVIL, seq=1, prev=None, body={"subject": eve.did, "level": 2})
    profile = _profile(eve, endpoint)
    world.evil.serve_heads(heads(vouch, profile))
    world.evil.serve_feed(EVIL.did, page([vouch]))
    world.evil.serve_feed(eve.did, page([profile]))

    await world.sync()  # must not raise
    assert world.held(eve.did) == [rid(profile)]  # a valid record of an in-scope author
    await world.sync()

    assert endpoint not in {p["url"] for p in world.victim.federation.peers()}
    row = world.row()
    assert row["last_error"] is None and row["rejections"] == {}, row
    world.assert_sound()


async def test_a_refused_record_in_a_cut_batch_drops_the_request_asked_ahead(
    world: World,
) -> None:
    """The next batch is asked for while one is ingested, as if all of it holds; when a
    record of the feed the answer was cut in is refused, that request is dropped and the
    feed gets no more batches this round."""
    first, second = chain(EVIL, 2)
    forged = signed(FORGER, author=EVIL.did, seq=1, prev=None)
    world.evil.serve_heads(heads(second))
    cut = {"records": [forged], "next": EVIL.did}
    world.evil.serve("/sync/batch", json.dumps(cut).encode())

    await world.sync()

    row = world.row()
    assert row["rejections"] == {"bad_signature": 1}, row
    assert row["last_error"] is None
    assert world.held(EVIL.did) == []
    world.assert_sound(forged, first, second)
    assert not [path for path in world.evil.asked if path.startswith("/sync/feed/")]
