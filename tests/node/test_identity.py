"""SPEC §14 through the real routes: rotation, recovery and compromise records reach a node by
POST /inbox, are judged for well-formedness only, and decide effect at derivation; the
owner's own rotation, recovery set and marks go through the local API, refused with stable
codes when they would have no effect."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guildnode.identities import WINDOW
from guildnode.protocol import canonical_bytes, encode_sig

pytestmark = pytest.mark.anyio


def held(served: Any) -> set[str]:
    return {rid for rid, _ in served.node.store.records()}


def forged(signer: Any, wire: dict[str, Any]) -> dict[str, Any]:
    unsigned = {k: v for k, v in wire.items() if k != "sig"}
    return {**unsigned, "sig": encode_sig(signer.identity.sign(canonical_bytes(unsigned)))}


async def test_a_rotation_through_the_inbox_carries_trust_over(make_node, author) -> None:
    served = await make_node()
    old, new, friend = author(11), author(12), author(13)
    served.node.vouch(old.did, level=3)
    before = old.next("vouch", {"subject": friend.did, "level": 3})
    rotation = old.next("rotate", {"successor": new.did})
    late = old.next("vouch", {"subject": author(14).did, "level": 3})  # after the rotation
    claim = new.next("succeed", {"predecessor": old.did, "via": rotation.id})
    results = await served.inbox([r.to_wire() for r in (before, rotation, late, claim)])
    assert [r["status"] for r in results] == ["accepted"] * 4
    node = served.node
    assert node.member(old.did) == new.did
    view = node.trust_view()
    assert view.score(new.did) > 0  # the owner's vouch for the old key is the member's
    assert view.score(friend.did) > 0  # the old key's vouch before the rotation counts
    assert view.score(author(14).did) == 0  # the one after it has no effect
    data = (await served.client.get(f"/api/identity/{old.did}", headers=served.owner)).json()
    assert data["member"] == new.did
    assert [k["did"] for k in data["keys"]] == [old.did, new.did]
    assert data["keys"][0]["cut"] == rotation.seq


async def test_a_forged_rotation_is_refused_and_nothing_is_stored(make_node, author) -> None:
    served = await make_node()
    old, thief = author(21), author(22)
    first = old.next()
    await served.inbox([first.to_wire()])
    before = held(served)
    draft = old.next("rotate", {"successor": thief.did}).to_wire()
    [result] = await served.inbox([forged(thief, draft)])  # signed by the successor
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "bad_signature" and result["error"]["detail"]
    assert held(served) == before
    assert served.node.member(old.did) == old.did
    assert (await served.client.get("/.well-known/guildnode")).status_code == 200


async def test_a_rotation_to_an_already_used_key_has_no_effect(make_node, author) -> None:
    served = await make_node()
    old, used, friend = author(31), author(32), author(33)
    served.node.vouch(old.did, level=3)
    earlier = used.next("vouch", {"subject": friend.did, "level": 1})
    rotation = old.next("rotate", {"successor": used.did})
    claim = used.next("succeed", {"predecessor": old.did, "via": rotation.id})  # its seq 2
    after = old.next("vouch", {"subject": friend.did, "level": 3})
    records = [earlier, rotation, claim, after]
    results = await served.inbox([r.to_wire() for r in records])
    assert [r["status"] for r in results] == ["accepted"] * 4  # nothing lost
    assert {r.id for r in records} <= held(served)
    assert served.node.member(old.did) == old.did
    assert served.node.member(used.did) == used.did
    assert served.node.trust_view().score(friend.did) > 0  # the old key goes on counting


async def test_a_rotation_loop_has_no_effect_past_its_first_link(make_node, author) -> None:
    served = await make_node()
    a, b = author(41), author(42)
    there = a.next("rotate", {"successor": b.did})
    claim = b.next("succeed", {"predecessor": a.did, "via": there.id})
    back = b.next("rotate", {"successor": a.did})
    reclaim = a.next("succeed", {"predecessor": b.did, "via": back.id})  # a's seq 2
    results = await served.inbox([r.to_wire() for r in (there, claim, back, reclaim)])
    assert [r["status"] for r in results] == ["accepted"] * 4
    ids = served.node.identities()
    assert ids.member(a.did) == ids.member(b.did) == b.did
    assert ids.cut(b.did) is None
    assert ids.keys(a.did) == (a.did, b.did)


async def recovery_story(served: Any, author: Any, voters: int, delay: int) -> tuple[Any, Any, Any]:
    """The old key names three friends (2 of 3); a thief rotates it; `voters` friends vote
    `delay` seconds later to recover it to `rescue`, whose succeed cites a vote."""
    old, thief, rescue = author(51), author(52), author(53)
    friends = [author(54 + n) for n in range(3)]
    recovery = old.next(
        "recovery", {"keys": [f.did for f in friends], "threshold": 2}, created_at=1_790_000_000
    )
    stolen = old.next("rotate", {"successor": thief.did}, created_at=1_790_100_000)
    taken = thief.next("succeed", {"predecessor": old.did, "via": stolen.id})
    votes = [
        f.next(
            "compromise",
            {"key": old.did, "from_seq": 2, "successor": rescue.did},
            created_at=stolen.created_at + delay,
        )
        for f in friends[:voters]
    ]
    records = [recovery, stolen, taken, *votes]
    if votes:
        records.append(rescue.next("succeed", {"predecessor": old.did, "via": votes[0].id}))
    results = await served.inbox([r.to_wire() for r in records])
    assert [r["status"] for r in results] == ["accepted"] * len(records)
    assert {r.id for r in records} <= held(served)
    return old, thief, rescue


async def test_a_recovery_below_its_threshold_has_no_effect(make_node, author) -> None:
    served = await make_node()
    old, thief, rescue = await recovery_story(served, author, voters=1, delay=3600)
    assert served.node.member(old.did) == thief.did
    assert served.node.member(rescue.did) == rescue.did


async def test_a_recovery_in_time_undoes_the_thiefs_rotation(make_node, author) -> None:
    served = await make_node()
    old, thief, rescue = await recovery_story(served, author, voters=2, delay=WINDOW)
    assert served.node.member(old.did) == rescue.did
    assert served.node.member(thief.did) == thief.did
    assert served.node.identities().cut(old.did) == 1


async def test_a_recovery_after_the_window_does_not(make_node, author) -> None:
    served = await make_node()
    old, thief, _ = await recovery_story(served, author, voters=3, delay=WINDOW + 1)
    assert served.node.member(old.did) == thief.did


# -- the owner's own identity, through the local API ------------------------------------------


async def post(served: Any, action: str, fields: dict[str, Any]) -> Any:
    return await served.client.post(f"/api/identity/{action}", json=fields, headers=served.owner)


async def test_the_owner_rotates_and_stays_one_member(make_node, author) -> None:
    served = await make_node()
    node = served.node
    node.set_profile(name="Ada", skills=["python"])
    friend = author(61)
    node.vouch(friend.did, level=3)
    guild = node.found_guild("Rotators", "Keys change.", vouches_required=1, cooling_days=0)
    old = node.did
    response = await post(served, "rotate", {"reason": "New laptop."})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["old"] == old and data["new"] == node.did != old
    assert data["succeed"]["record"]["seq"] == 1
    assert data["succeed"]["record"]["body"] == {"predecessor": old, "via": data["rotate"]["id"]}
    me = (await served.client.get("/api/me", headers=served.owner)).json()
    assert me["did"] == node.did
    assert me["name"] == "Ada"  # the profile carried over to the new key's chain
    state = (await served.client.get("/api/identity", headers=served.owner)).json()
    assert [k["did"] for k in state["keys"]] == [old, node.did]
    assert state["signing_key_is_current"] is True
    assert node.trust_view().score(friend.did) > 0  # the old key's vouch is the member's
    assert node.guild(guild.id).is_member(node.did)  # a founder under the old key
    assert json.loads((served.data_dir / "previous-keys.json").read_text())[0]["did"] == old
    assert (served.data_dir / "previous-keys.json").stat().st_mode & 0o777 == 0o600
    again = await post(served, "rotate", {})
    assert again.status_code == 200  # the new key may rotate in its turn
    assert len(node.identities().keys(old)) == 3


@pytest.mark.parametrize(
    ("action", "fields", "status", "code"),
    [
        ("recovery", {"keys": [], "threshold": 1}, 400, "invalid_recovery"),
        ("recovery", {"keys": ["SELF"], "threshold": 1}, 400, "invalid_recovery"),
        ("recovery", {"keys": ["FRIEND"], "threshold": 2}, 400, "invalid_recovery"),
        ("recovery", {"keys": ["FRIEND"], "threshold": "2"}, 400, "invalid_argument"),
        ("compromise", {"key": "FRIEND", "from_seq": 1, "successor": "SELF"}, 400,
         "not_recovery_key"),
        ("compromise", {"key": "SELF", "from_seq": 1, "successor": "FRIEND"}, 400,
         "invalid_argument"),
        ("succeed", {"predecessor": "FRIEND", "via": "0" * 64}, 400, "key_already_used"),
        ("recover", {"seed": "A" * 43, "key": "FRIEND", "from_seq": 1}, 400, "key_already_used"),
        ("launch", {}, 404, "not_found"),
    ],
)  # fmt: skip
async def test_what_would_have_no_effect_is_refused_at_publish_time(
    make_node, author, action: str, fields: dict[str, Any], status: int, code: str
) -> None:
    served = await make_node()
    node = served.node
    node.vouch(author(71).did, level=1)  # the owner's key is used
    names = {"SELF": node.did, "FRIEND": author(72).did}
    fields = {k: ([names.get(x, x) for x in v] if isinstance(v, list) else names.get(v, v))
              for k, v in fields.items()}  # fmt: skip
    before = held(served)
    response = await post(served, action, fields)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["detail"]
    assert held(served) == before


async def test_a_paper_key_recovers_on_a_fresh_node(make_node) -> None:
    first = await make_node("first")
    paper = (await post(first, "recovery", {"paper": True})).json()["paper_key"]
    old = first.node.did
    head = first.node.store.head(old)
    assert head is not None
    chain = [json.loads(c) for _, c in first.node.store.records(author=old)]
    fresh = await make_node("fresh")
    fields = {"seed": paper["seed"], "key": old, "from_seq": head.seq + 1}
    response = await post(fresh, "recover", fields)
    assert response.status_code == 200, response.text
    assert response.json()["checked"] is False  # nothing of the old chain held yet
    # The succeed brought the old key into scope: its chain is taken now (SPEC §14.8).
    results = await fresh.inbox(chain, welcome=False)
    assert [r["status"] for r in results] == ["accepted"] * len(chain)
    assert fresh.node.member(old) == fresh.node.did
    again = await post(fresh, "recover", fields)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "key_already_used"


def test_a_rotation_cut_short_after_the_key_changed_is_finished_at_start(tmp_path) -> None:
    from guildnode.datadir import DataDir
    from guildnode.node import Node
    from guildnode.protocol import Identity

    datadir = DataDir(tmp_path / "node")
    old = datadir.create()
    node = Node(datadir)
    new = Identity.generate()
    rotation = node.publish("rotate", {"successor": new.did})
    datadir.replace_identity(new)  # the crash comes before the new key's succeed
    node.close()
    node = Node(datadir)
    try:
        assert node.did == new.did
        assert node.member(old.did) == new.did
        first = json.loads(node.store.canonical_at(new.did, 1) or b"{}")
        assert first["body"] == {"predecessor": old.did, "via": rotation.id}
    finally:
        node.close()
    node = Node(datadir)  # and only once
    try:
        head = node.store.head(new.did)
        assert head is not None and head.seq == 1
    finally:
        node.close()


async def test_the_identity_page_rotates_names_a_paper_key_and_marks(make_node) -> None:
    import re

    from test_ui import form_token, sign_in

    served = await make_node("ui")
    await sign_in(served)
    old = served.node.did
    page = await served.client.get("/identity")
    assert page.status_code == 200 and old in page.text
    token = await form_token(served, "/identity")
    made = await served.client.post(
        "/identity/recovery", data={"keys": "", "threshold": "1", "paper": "on", "csrftoken": token}
    )
    assert made.status_code == 200
    seed = re.search(r'<p class="mono wrap">([A-Za-z0-9_=-]{43,44})</p>', made.text)
    assert seed is not None  # shown on this answer only
    assert seed.group(1) not in (await served.client.get("/identity")).text
    bad = await served.client.post(
        "/identity/recovery", data={"keys": old, "threshold": "1", "csrftoken": token}
    )
    assert bad.status_code == 400 and "invalid_recovery" in bad.text
    rotated = await served.client.post(
        "/identity/rotate", data={"reason": "New laptop.", "csrftoken": token}
    )
    assert rotated.status_code == 303
    assert served.node.did != old and served.node.member(old) == served.node.did
    marked = await served.client.post(
        "/identity/compromise", data={"key": old, "from_seq": "1", "csrftoken": token}
    )
    assert marked.status_code == 303
    assert served.node.identities().cut(old) == 0
    shown = (await served.client.get("/identity")).text
    assert "records after 0 have no effect" in shown
    person = (await served.client.get(f"/people/{old}")).text
    assert "An earlier key" in person


async def test_what_a_stranger_writes_about_the_owner_never_widens_the_scope(
    make_node, author
) -> None:
    served = await make_node()
    stranger = author(81)
    owner = served.node.did
    claim = stranger.next("rotate", {"successor": owner})
    [refused] = await served.inbox([claim.to_wire()], welcome=False)
    assert refused["status"] == "rejected" and refused["error"]["code"] == "out_of_scope"
    stranger.records.clear()
    vote = stranger.next("compromise", {"key": owner, "from_seq": 1, "successor": stranger.did})
    [guest] = await served.inbox([vote.to_wire()], welcome=False)
    assert guest["status"] == "accepted"  # it names the owner: a guest's record, in quota
    assert stranger.did not in served.node.scope()
    assert served.node.member(owner) == owner  # and it has no effect
    assert served.node.identities().cut(owner) is None
