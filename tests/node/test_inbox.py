"""POST /inbox through the real route: every rejection reason, record by record.

Each case checks the answer's code and that nothing of the rejected record was stored,
and that the node goes on serving afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from guildnode.protocol import canonical_bytes, encode_sig

pytestmark = pytest.mark.anyio


async def stored_ids(served: Any) -> set[str]:
    """Ids of the records held, less the owner's own (the vouches that set up scope)."""
    return {
        rid
        for rid, canonical in served.node.store.records()
        if json.loads(canonical)["author"] != served.node.did
    }


def resign(author: Any, wire: dict[str, Any]) -> dict[str, Any]:
    """Sign `wire` (less its sig) again with the author's key."""
    unsigned = {k: v for k, v in wire.items() if k != "sig"}
    return {**unsigned, "sig": encode_sig(author.identity.sign(canonical_bytes(unsigned)))}


async def post_raw(served: Any, text: str) -> dict[str, Any]:
    response = await served.post_inbox(text.encode())
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return result  # type: ignore[no-any-return]


async def assert_rejected(served: Any, result: dict[str, Any], code: str) -> None:
    assert result["status"] == "rejected", result
    assert result["error"]["code"] == code, result
    assert result["error"]["detail"]
    assert (await served.client.get("/.well-known/guildnode")).status_code == 200


async def test_valid_records_are_accepted_stored_and_served(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    first, second = alice.next(), alice.next()
    results = await served.inbox([first.to_wire(), second.to_wire()])
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert [r["id"] for r in results] == [first.id, second.id]
    assert all(r["error"] is None for r in results)
    page = (await served.client.get(f"/sync/feed/{alice.did}")).json()
    assert page == {"records": [first.to_wire(), second.to_wire()]}
    fetched = await served.client.get(f"/records/{second.id}")
    assert fetched.content == second.canonical


async def test_a_duplicate_is_idempotent(make_node, author) -> None:
    served = await make_node()
    record = author(1).next()
    await served.inbox([record.to_wire()])
    [again] = await served.inbox([record.to_wire()])
    assert again == {"id": record.id, "status": "duplicate", "error": None}
    assert await stored_ids(served) == {record.id}


async def test_a_valid_record_of_an_unknown_kind_is_accepted_and_served(make_node, author) -> None:
    served = await make_node()
    record = author(1).next("endorsement_v2", {"anything": ["goes", 1, None], "x": {"y": True}})
    [result] = await served.inbox([record.to_wire()])
    assert result["status"] == "accepted"
    assert (await served.client.get(f"/records/{record.id}")).json() == record.to_wire()


def _tamper_body(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    wire["body"] = {**wire["body"], "level": 3}
    return wire


def _bad_signature(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    other = a.next("vouch", {"subject": wire["body"]["subject"], "level": 1})
    a.records.pop()
    wire["sig"] = other.sig
    return wire


def _malformed_author(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    return {**wire, "author": wire["author"].replace("z6Mk", "z6LS")}


def _missing_field(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    del wire["created"]
    return wire


def _extra_field(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    return resign(a, {**wire, "id": "0" * 64})


def _invalid_body(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    wire["body"] = {**wire["body"], "level": 4}
    return resign(a, wire)


def _too_large(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    wire["kind"] = "note"
    wire["body"] = {"text": "x" * 16_400}
    return resign(a, wire)


def _bad_version(a: Any) -> dict[str, Any]:
    wire = a.next().to_wire()
    a.records.pop()
    return resign(a, {**wire, "v": 2})


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (_bad_signature, "bad_signature"),
        (_tamper_body, "bad_signature"),
        (_malformed_author, "invalid_did"),
        (_missing_field, "missing_field"),
        (_extra_field, "unexpected_field"),
        (_invalid_body, "invalid_body"),
        (_too_large, "record_too_large"),
        (_bad_version, "unsupported_version"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__.strip("_"),
)
async def test_record_defects_are_rejected_and_nothing_is_stored(
    make_node, author, make, code
) -> None:
    served = await make_node()
    wire = make(author(1))
    [result] = await served.inbox([wire])
    await assert_rejected(served, result, code)
    assert await stored_ids(served) == set()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"records":[{"v":1,"v":1}]}', "duplicate_key"),
        ('{"records":[{"level":2.0}]}', "float_not_allowed"),
        ('{"records":[{"level":1e3}]}', "float_not_allowed"),
        ('{"records":[{"n":-0.0}]}', "float_not_allowed"),
        ('{"records":[{"n":9007199254740992}]}', "integer_out_of_range"),
        ('{"records":[{"caf\\u00e9":1}]}', "non_ascii_key"),
        ('{"records":["not a record"]}', "malformed_json"),
    ],
)
async def test_json_level_defects_reject_only_their_record(make_node, text, code) -> None:
    served = await make_node()
    result = await post_raw(served, text)
    assert result["id"] is None
    await assert_rejected(served, result, code)
    assert await stored_ids(served) == set()


async def test_a_float_inside_a_signed_record_rejects_that_record_only(make_node, author) -> None:
    served = await make_node()
    alice, bob = author(1), author(2)
    good = bob.next().to_wire()
    bad = json.dumps(alice.next().to_wire()).replace('"level": 2', '"level": 2.0')
    body = '{"records":[' + bad + "," + json.dumps(good) + "]}"
    served.welcome(alice.did, bob.did)
    response = await served.post_inbox(body.encode())
    first, second = response.json()["results"]
    await assert_rejected(served, first, "float_not_allowed")
    assert second["status"] == "accepted"
    assert await stored_ids(served) == {bob.records[0].id}


async def test_a_duplicate_key_inside_a_signed_record_rejects_it(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    served.welcome(alice.did)
    wire = json.dumps(alice.next().to_wire())
    result = await post_raw(served, '{"records":[' + wire[:-1] + ', "seq": 1}]}')
    await assert_rejected(served, result, "duplicate_key")
    assert await stored_ids(served) == set()


async def test_seq_gap_is_rejected(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    alice.next()
    second = alice.next()
    [result] = await served.inbox([second.to_wire()])
    await assert_rejected(served, result, "seq_gap")
    assert await stored_ids(served) == set()


async def test_a_record_after_a_rejected_one_is_a_gap(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    first = alice.next().to_wire()
    first["body"] = {**first["body"], "level": 1}  # breaks the signature
    second = alice.next().to_wire()
    results = await served.inbox([first, second])
    assert [r["error"]["code"] for r in results] == ["bad_signature", "seq_gap"]
    assert await stored_ids(served) == set()


async def test_wrong_prev_is_rejected(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    first = alice.next()
    await served.inbox([first.to_wire()])
    wrong = alice.next(seq=2, prev="ab" * 32)
    [result] = await served.inbox([wrong.to_wire()])
    await assert_rejected(served, result, "wrong_prev")
    assert await stored_ids(served) == {first.id}


async def test_created_before_prev_is_rejected(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    first = alice.next(created_at=1_790_000_100)
    early = alice.next(seq=2, prev=first.id, created_at=1_790_000_099)
    [ok, result] = await served.inbox([first.to_wire(), early.to_wire()])
    assert ok["status"] == "accepted"
    await assert_rejected(served, result, "created_before_prev")
    assert await stored_ids(served) == {first.id}


async def test_created_more_than_five_minutes_ahead_is_rejected(make_node, author) -> None:
    served = await make_node()
    now = served.node.now()
    alice, bob = author(1), author(2)
    [result] = await served.inbox([alice.next(created_at=now + 301 + 5).to_wire()])
    await assert_rejected(served, result, "created_in_future")
    [near] = await served.inbox([bob.next(created_at=now + 240).to_wire()])
    assert near["status"] == "accepted"
    assert await stored_ids(served) == {bob.records[0].id}


async def test_a_fork_is_kept_as_evidence_and_freezes_the_chain(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    chain = [alice.next() for _ in range(3)]
    await served.inbox([r.to_wire() for r in chain])
    feed_before = (await served.client.get(f"/sync/feed/{alice.did}")).json()["records"]
    assert feed_before == [r.to_wire() for r in chain]

    rival = alice.next(
        "vouch", {"subject": chain[0].body["subject"], "level": 3}, seq=3, prev=chain[1].id
    )
    [result] = await served.inbox([rival.to_wire()])
    await assert_rejected(served, result, "fork")
    assert result["id"] == rival.id

    proof = (await served.client.get(f"/sync/forks/{alice.did}")).json()
    assert proof == {
        "author": alice.did,
        "seq": 3,
        "records": [chain[2].to_wire(), rival.to_wire()],
    }
    # The rival never enters the chain; the chain is frozen before the forked seq everywhere.
    feed_after = (await served.client.get(f"/sync/feed/{alice.did}")).json()["records"]
    assert feed_after == [r.to_wire() for r in chain[:2]]
    heads = (await served.client.get("/sync/heads")).json()["feeds"]
    assert heads[alice.did] == {"seq": 2, "id": chain[1].id, "forked": True}
    assert (await served.client.get(f"/records/{rival.id}")).status_code == 404
    later = alice.next(seq=4, prev=chain[2].id)
    [frozen] = await served.inbox([later.to_wire()])
    await assert_rejected(served, frozen, "chain_frozen")
    assert served.node.check().ok


async def test_batch_with_a_bad_record_keeps_the_good_ones(make_node, author) -> None:
    served = await make_node()
    alice, bob = author(1), author(2)
    good_a, good_b = alice.next(), bob.next()
    broken = bob.next().to_wire()
    broken["seq"] = "2"
    results = await served.inbox([good_a.to_wire(), broken, good_b.to_wire()])
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["error"]["code"] == "invalid_field"
    assert await stored_ids(served) == {good_a.id, good_b.id}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[", 400, "malformed_request"),
        (b"[]", 400, "malformed_request"),
        (b'{"records": {}}', 400, "malformed_request"),
        (b'{"records": [], "more": 1}', 400, "malformed_request"),
        (b'{"records": [], "records": []}', 400, "malformed_request"),
        (b'{"records": [' + b",".join([b"{}"] * 201) + b"]}", 400, "too_many_records"),
        (b'{"records": ["' + b"x" * 1_048_600 + b'"]}', 413, "body_too_large"),
    ],
    ids=["not-json", "array", "records-not-array", "extra-key", "duplicate-key", "201", "1MiB"],
)
async def test_malformed_requests_are_refused_whole(make_node, body, status, code) -> None:
    served = await make_node()
    response = await served.post_inbox(body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["detail"]
    assert served.node.store.count() == 0
    assert (await served.client.get("/sync/heads")).status_code == 200
