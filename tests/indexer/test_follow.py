"""The indexer follows real member nodes: given peers, peers learnt from profiles, every
record verified by the member node's own ingest, public bodies kept and sealed ones not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import Identity, parse_json, parse_timestamp, verify_record
from guildnode.protocol.kinds import SEALED_KINDS

from .world import brief, three_guilds

pytestmark = pytest.mark.anyio

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "protocol" / "vectors" / "records.json").read_bytes()
)
VECTOR_NOW = parse_timestamp(VECTORS["now"])


def held_canonical(dsn: str) -> dict[str, bytes | None]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, canonical FROM records").fetchall()
    return {rid: bytes(c) if c is not None else None for rid, c in rows}


async def test_given_peers_and_peers_learnt_from_profiles_are_followed(
    make_node: Any, make_indexer: Any
) -> None:
    nodes = await three_guilds(make_node)
    served = await make_indexer(peers=(nodes["a"].url, nodes["b"].url))
    await served.round()
    held = held_canonical(served.database)
    # From a: a's records and c's (a replicates c); from b: b's. Exactly the bytes signed.
    for name in ("a", "b", "c"):
        for rid, canonical in nodes[name].node.store.records(author=nodes[name].node.did):
            assert held[rid] == canonical, name
    peers = {p["url"]: p for p in served.indexer.store.peers()}
    assert peers[nodes["a"].url]["source"] == "given"
    # c was learnt from the endpoint of its profile, which a served.
    assert peers[nodes["c"].url]["source"] == "profile"
    assert peers[nodes["c"].url]["did"] == nodes["c"].node.did
    # c publishes again; a has not synced, so only following c directly brings it.
    late = brief(nodes["c"], nodes["c"].guild.id, "Harbour survey", "Survey the old harbour.")
    assert nodes["a"].node.store.get(late.id) is None
    await served.round()
    assert held_canonical(served.database)[late.id] == late.canonical
    # An unchanged peer costs one heads request with If-None-Match, answered 304.
    again = [r for r in await served.indexer.follower.round() if r.url == nodes["b"].url]
    assert again[0].idle and again[0].accepted == 0


async def test_answers_are_well_known_as_an_indexer(make_indexer: Any) -> None:
    served = await make_indexer()
    response = await served.client.get("/.well-known/guildnode")
    assert response.status_code == 200
    info = response.json()
    assert info["role"] == "indexer"
    assert info["did"] == served.indexer.identity.did
    assert info["url"] == served.url
    assert info["protocol"] == 1


def _member(tmp_path: Path, name: str) -> Node:
    datadir = DataDir(tmp_path / name)
    datadir.create()
    return Node(datadir, clock=lambda: float(VECTOR_NOW))


def _judge_cases() -> list[dict[str, Any]]:
    cases = [v for v in VECTORS["invalid"] + VECTORS["accepted"] if "record" in v]
    return [v for v in cases if "expected_id" not in v]


async def test_every_vector_is_judged_as_a_member_node_judges_it(
    make_indexer: Any, tmp_path: Path
) -> None:
    """The invalid and accepted vectors (SPEC §3.5, §7), fed to a member node and to the
    indexer on top of the same held records: the same status and code for every one."""
    served = await make_indexer(clock=lambda: float(VECTOR_NOW))
    ingest = served.indexer.ingest
    compared = set()
    for number, vector in enumerate(_judge_cases()):
        with psycopg.connect(served.database, autocommit=True) as conn:
            conn.execute("TRUNCATE records, heads, forks, briefs, profiles, guilds")
        member = _member(tmp_path, f"member-{number}")
        try:
            assert all(r.status == "accepted" for r in member.ingest(vector["held"]))
            assert all(r.status == "accepted" for r in ingest.batch(vector["held"]))
            if "fork_proof" in vector:
                first, second = (verify_record(r) for r in vector["fork_proof"])
                assert member.keep_fork_proof(first, second)
                assert ingest.keep_fork_proof(first, second)
            [theirs] = member.ingest([vector["record"]])
            [ours] = ingest.batch([vector["record"]])
        finally:
            member.close()
        assert (ours.status, ours.id) == (theirs.status, theirs.id), vector["name"]
        assert (ours.error and ours.error.code) == (theirs.error and theirs.error.code)
        expected = vector.get("error") or vector.get("status")
        assert (ours.error.code if ours.error else ours.status) == expected, vector["name"]
        compared.add(expected)
    assert {"bad_signature", "seq_gap", "wrong_prev", "fork", "chain_frozen"} <= compared


async def test_sealed_records_are_links_of_their_chain_without_their_bodies(
    make_indexer: Any,
) -> None:
    """The valid vectors hold a whole contract story of sealed records: the indexer takes
    every one into its chain, keeps the public bodies, and no sealed body."""
    served = await make_indexer(clock=lambda: float(VECTOR_NOW))
    records = [v["record"] for v in VECTORS["valid"]]
    results = served.indexer.ingest.batch(records)
    assert [r.status for r in results] == ["accepted"] * len(records)
    held = held_canonical(served.database)
    sealed = [v for v in VECTORS["valid"] if v["record"]["kind"] in SEALED_KINDS]
    assert len(sealed) >= 8
    for vector in VECTORS["valid"]:
        kind = vector["record"]["kind"]
        if kind in SEALED_KINDS or kind in (
            "commit",
            "apply",
            "leave",
            "motion",
            "vote",
            "endorsement_v2",
        ):
            assert held[vector["id"]] is None, vector["name"]
        elif kind != "attachment":
            assert held[vector["id"]] == vector["canonical"].encode(), vector["name"]
    # Not a byte of any box or wrapped key anywhere in the database.
    with psycopg.connect(served.database) as conn:
        dump = "\n".join(
            str(row)
            for table in ("records", "heads", "forks", "briefs", "profiles", "guilds", "peers")
            for row in conn.execute(f"SELECT t::text FROM {table} t".encode()).fetchall()
        )
    for vector in sealed:
        body = vector["record"]["body"]
        assert body["box"][:40] not in dump
        for key in body["keys"]:
            assert key["key"][:40] not in dump
    # The chain goes on past them: the head of each sealed author is its last record.
    heads = served.indexer.store.heads()
    for vector in sealed:
        record = parse_json(vector["canonical"].encode())
        assert heads[record["author"]][0] >= record["seq"]


def bad_peer(identity: Any, feeds: dict[str, list[dict[str, Any]]]) -> Any:
    """A node that serves the given feeds as they are, tampered records included."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/.well-known/guildnode")
    def well_known() -> dict[str, Any]:
        return {"did": identity.did, "name": "", "url": "http://bad.test", "protocol": 1}

    @app.get("/sync/heads")
    def heads() -> dict[str, Any]:
        return {
            "feeds": {a: {"seq": rs[-1]["seq"], "id": "0" * 64} for a, rs in feeds.items() if rs}
        }

    @app.get("/sync/feed/{did}")
    def feed(did: str, after: int = 0, limit: int = 100) -> dict[str, Any]:
        return {"records": [r for r in feeds.get(did, []) if r["seq"] > after][:limit]}

    return app


async def test_a_bad_peer_gets_the_same_rejections_from_the_indexer_as_from_a_member(
    make_node: Any, make_indexer: Any, router: Any, author: Any
) -> None:
    good, tampered, gapped = author(31), author(32), author(33)
    good_chain = [good.next().to_wire() for _ in range(3)]
    altered = [tampered.next().to_wire() for _ in range(3)]
    altered[1] = {**altered[1], "body": {**altered[1]["body"], "level": 3}}  # sig no longer holds
    gap = [gapped.next().to_wire() for _ in range(3)]
    del gap[1]  # seq 1, then 3
    feeds = {good.did: good_chain, tampered.did: altered, gapped.did: gap}
    router.add("bad.test", bad_peer(Identity(bytes([77]) * 32), feeds))
    member = await make_node("member")
    member.welcome(good.did, tampered.did, gapped.did)
    await member.federation.add_peer("http://bad.test")
    [theirs] = await member.federation.sync_all()
    served = await make_indexer(peers=("http://bad.test",))
    await served.indexer.add_given_peers()
    ours = await served.indexer.follower.follow("http://bad.test")
    # The altered seq 2 fails its signature, so its seq 3 has a gap; so has the gapped seq 3.
    assert dict(ours.rejected) == dict(theirs.rejected) == {"bad_signature": 1, "seq_gap": 2}
    assert ours.accepted == theirs.accepted == 3 + 1 + 1
    # Nothing of a refused record, nor of what follows it, is kept.
    held = held_canonical(served.database)
    assert [r["seq"] for r in good_chain if verify_record(r).id in held] == [1, 2, 3]
    assert served.indexer.store.head(tampered.did).seq == 1
    assert served.indexer.store.head(gapped.did).seq == 1
    [peer] = served.indexer.store.peers()
    assert peer["rejections"] == {"bad_signature": 1, "seq_gap": 2}
    assert peer["records_received"] == 5
