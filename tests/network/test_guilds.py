"""A guild lives on four nodes in one process: founding, consent, admission, leaving,
revocation, and what the local API shows of it (DESIGN "Trust, guilds, contracts",
"Guilds work live").

Nobody runs the guild: each node derives its members from the records it holds. So the test
checks membership on every node, and that means every node must hold the charter, the
applications and the admission vouches. Scope (SPEC §9.7) decides which feeds a node takes,
so the cast is introduced the way people would be (see `build`):

    Fay (founder)  ── vouches ──▶ Gus        Gus (cofounder) ── vouches ──▶ Fay
    Ann ── vouches ──▶ Fay                   Ben ── vouches ──▶ Gus

  - Gus holds Fay's feed, charter included: Fay is his vouchee (hop 1). Fay holds Gus's:
    he vouched for her (rule 4), and she vouched for him.
  - Ann holds Fay's feed (hop 1) and Gus's (hop 2, Fay → Gus); Ben holds Gus's (hop 1) and
    Fay's (hop 2, Gus → Fay). So both see the charter and can apply.
  - Once Gus, Ann and Ben have applied, the guild is one of their guilds and Fay's: founders
    and applicants are in everyone's scope (rule 5), and an `apply` names every member, so
    Fay and Gus take the chain of an applicant who is not yet in their scope (the
    applicant's sync offers it from seq 1).
  - After Ann leaves she is no applicant any more, but Fay and Gus vouched for her in the
    guild's context: she stays their vouchee (hop 1), and a guild vouchee of members for
    Ben (rule 6). So her `leave` reaches every node.
  - Ann, gone from the guild, still holds Fay's feed (hop 1) and, through Fay's vouches,
    Gus's and Ben's (hop 2): she sees Ben admitted and dropped out like everyone else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rounds import everywhere, settle

pytestmark = pytest.mark.anyio

NAMES = {"f": "Fay", "g": "Gus", "a": "Ann", "b": "Ben"}


def holds(node: Any, guild_id: str) -> bool:
    return guild_id in {g.charter.id for g in node.guilds()}


async def build(make_node: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Four peered nodes (a full mesh) whose owners know each other as the module says."""
    nodes = {key: await make_node(name.lower()) for key, name in NAMES.items()}
    for key, served in nodes.items():
        served.node.set_profile(name=NAMES[key])
    for left in nodes.values():
        for right in nodes.values():
            if left is not right:
                await left.federation.add_peer(right.url)
    did = {key: served.node.did for key, served in nodes.items()}
    nodes["f"].node.vouch(did["g"], level=3, statement="We built the co-op site together.")
    nodes["g"].node.vouch(did["f"], level=3)
    nodes["a"].node.vouch(did["f"], level=2)
    nodes["b"].node.vouch(did["g"], level=2)
    return nodes, did


async def found_and_apply(nodes: dict[str, Any], did: dict[str, str]) -> str:
    """Fay founds the guild with Gus; Gus consents; Ann and Ben apply. Returns its id."""
    charter = nodes["f"].node.found_guild(
        "Data Co-op",
        "Data engineering for small organisations.",
        vouches_required=2,
        cofounders=[did["g"]],
        cooling_days=0,
    )
    guild_id = charter.id
    await settle(nodes, lambda: everywhere(nodes, lambda n: holds(n, guild_id)))
    # Before Gus consents the charter is valid, but he is no founder yet.
    assert nodes["f"].node.guild(guild_id).founders == {did["f"]}
    for key in ("g", "a", "b"):
        nodes[key].node.apply_guild(guild_id, note=f"{NAMES[key]} here.")
    await settle(
        nodes,
        lambda: everywhere(
            nodes,
            lambda n: (
                n.guild(guild_id).founders == {did["f"], did["g"]}
                and set(n.guild(guild_id).applicants) == {did["a"], did["b"]}
            ),
        ),
    )
    return guild_id


async def test_membership_is_the_same_on_every_node_through_admission_leave_and_revoke(
    make_node,
) -> None:
    nodes, did = await build(make_node)
    guild_id = await found_and_apply(nodes, did)
    context = f"guild:{guild_id}"

    def member(key: str) -> Callable[[Any], bool]:
        return lambda node: node.guild(guild_id).is_member(did[key])

    # Every node has the guild in scope, and holds every participant's feed.
    for key, served in nodes.items():
        scope = served.node.scope()
        assert guild_id in scope.guilds, key
        assert {did["f"], did["g"], did["a"], did["b"]} <= scope.core, key

    # One vouch of two is not enough, on any node.
    nodes["f"].node.vouch(did["a"], level=2, context=context)
    await settle(
        nodes,
        lambda: everywhere(nodes, lambda n: n.guild(guild_id).applicants[did["a"]].vouchers),
    )
    for served in nodes.values():
        standing = served.node.guild(guild_id).applicants[did["a"]]
        assert standing.vouchers == (did["f"],) and standing.needed == 2
        assert not member("a")(served.node)

    # The second founder's vouch admits Ann everywhere.
    nodes["g"].node.vouch(did["a"], level=2, context=context)
    await settle(nodes, lambda: everywhere(nodes, member("a")))
    for served in nodes.values():
        guild = served.node.guild(guild_id)
        assert set(guild.members) == {did["f"], did["g"], did["a"]}
        assert set(guild.applicants) == {did["b"]}
    assert nodes["a"].node.guild(guild_id).is_member(nodes["a"].node.did)

    # Ann leaves: no member, and no applicant either, on every node.
    nodes["a"].node.leave_guild(guild_id, reason="Moving abroad.")
    await settle(nodes, lambda: everywhere(nodes, lambda n: not member("a")(n)))
    for key, served in nodes.items():
        guild = served.node.guild(guild_id)
        assert set(guild.members) == {did["f"], did["g"]}, key
        assert did["a"] not in guild.applicants, key
        assert did["a"] in served.node.scope(), key  # her leave still travels (module doc)

    # Ben is admitted by both founders' vouches …
    nodes["f"].node.vouch(did["b"], level=2, context=context)
    gus_vouch = nodes["g"].node.vouch(did["b"], level=3, context=context)
    await settle(nodes, lambda: everywhere(nodes, member("b")))
    for served in nodes.values():
        assert set(served.node.guild(guild_id).members) == {did["f"], did["g"], did["b"]}

    # … and drops out everywhere once Gus revokes his admission vouch.
    nodes["g"].node.revoke(gus_vouch.id, reason="Vouched too soon.")
    await settle(nodes, lambda: everywhere(nodes, lambda n: not member("b")(n)))
    for key, served in nodes.items():
        guild = served.node.guild(guild_id)
        assert set(guild.members) == {did["f"], did["g"]}, key
        assert guild.applicants[did["b"]].vouchers == (did["f"],), key

    # Ann applies again: the founders' vouches still stand, so she is a member again.
    nodes["a"].node.apply_guild(guild_id, note="Back in town.")
    await settle(nodes, lambda: everywhere(nodes, member("a")))
    for key, served in nodes.items():
        assert set(served.node.guild(guild_id).members) == {did["f"], did["g"], did["a"]}, key
        assert served.node.check().ok, key

    # Every node agrees on the heads of the feeds it shares with another.
    for served in nodes.values():
        for author, head in served.node.store.heads().items():
            owner = next(n for n in nodes.values() if n.node.did == author)
            assert head == owner.node.store.heads()[author]


async def test_the_local_api_shows_the_guild_trust_people_and_blocks(make_node) -> None:
    nodes, did = await build(make_node)
    guild_id = await found_and_apply(nodes, did)
    fay = nodes["f"]
    context = f"guild:{guild_id}"

    async def api(method: str, path: str, **kwargs: Any) -> Any:
        response = await fay.client.request(method, path, headers=fay.owner, **kwargs)
        return response.status_code, response.json()

    # Ann has Fay's vouch but needs two; Ben has none yet.
    status, _ = await api("POST", "/api/vouch", json={"subject": did["a"], "level": 2,
                                                      "context": context})  # fmt: skip
    assert status == 200
    status, guild = await api("GET", f"/api/guilds/{guild_id}")
    assert status == 200
    assert guild["id"] == guild_id and guild["name"] == "Data Co-op"
    assert guild["vouches_required"] == 2 and guild["cooling_days"] == 0 and guild["valid"]
    assert guild["you_are_member"] is True
    founders = {(m["did"], m["name"], m["founder"]) for m in guild["members"]}
    assert founders == {(did["f"], "you", True), (did["g"], "Gus", True)}
    applicants = {a["name"]: a for a in guild["applicants"]}
    assert set(applicants) == {"Ann", "Ben"}
    assert (applicants["Ann"]["had"], applicants["Ann"]["needed"]) == (1, 2)
    assert applicants["Ann"]["vouchers"] == [did["f"]]
    assert (applicants["Ben"]["had"], applicants["Ben"]["needed"]) == (0, 2)
    assert applicants["Ann"]["reached"] is True and applicants["Ben"]["reached"] is False

    # Gus's vouch reaches Fay's node by sync; Ann is then a member in Fay's API.
    nodes["g"].node.vouch(did["a"], level=2, context=context)
    await settle(nodes, lambda: fay.node.guild(guild_id).is_member(did["a"]))
    status, guild = await api("GET", f"/api/guilds/{guild_id}")
    order = [(m["since"], m["did"]) for m in guild["members"]]
    assert order == sorted(order)  # by date of membership (within a second here), then DID
    assert {m["did"] for m in guild["members"]} == {did["f"], did["g"], did["a"]}
    assert {m["did"]: m["founder"] for m in guild["members"]}[did["a"]] is False
    assert [a["name"] for a in guild["applicants"]] == ["Ben"]
    status, listing = await api("GET", "/api/guilds")
    assert status == 200 and [g["id"] for g in listing["guilds"]] == [guild_id]

    # Trust in Ann, from Fay: a score, a rank, and the paths in words.
    status, trust = await api("GET", f"/api/trust/{did['a']}")
    assert status == 200
    assert trust["did"] == did["a"] and trust["name"] == "Ann" and trust["blocked"] is False
    assert trust["score"] > 0 and isinstance(trust["rank"], int) and trust["rank"] >= 1
    words = [p["words"] for p in trust["paths"]]
    assert "you → Ann (level 2 in the guild Data Co-op, today)" in words, words
    assert (
        "you → Gus (level 3 general, today) → Ann (level 2 in the guild Data Co-op, today)" in words
    ), words
    assert all(p["strength"] > 0 and p["vouches"] for p in trust["paths"])
    status, in_guild = await api("GET", f"/api/trust/{did['a']}", params={"context": context})
    assert status == 200 and in_guild["context"] == context
    assert in_guild["score"] > trust["score"]  # guild vouches count in full in their context

    # People, ranked: everyone Fay's trust reaches, best first.
    status, people = await api("GET", "/api/people")
    assert status == 200
    ranked = people["people"]
    assert [p["rank"] for p in ranked] == list(range(1, len(ranked) + 1))
    assert [p["score"] for p in ranked] == sorted((p["score"] for p in ranked), reverse=True)
    assert {p["name"] for p in ranked} >= {"Gus", "Ann"}
    assert fay.node.did not in {p["did"] for p in ranked}
    ann = next(p for p in ranked if p["did"] == did["a"])
    assert (ann["rank"], ann["score"]) == (trust["rank"], trust["score"])

    # A block zeroes Ann's trust for Fay alone, publishes nothing, and leaves the guild be.
    records_before = fay.node.store.count()
    status, answer = await api("POST", "/api/block", json={"did": did["a"]})
    assert (status, answer) == (200, {"blocked": did["a"]})
    status, trust = await api("GET", f"/api/trust/{did['a']}")
    assert trust["blocked"] is True and trust["score"] == 0 and trust["rank"] is None
    assert trust["paths"] == []
    status, people = await api("GET", "/api/people")
    assert did["a"] not in {p["did"] for p in people["people"]}
    assert fay.node.store.count() == records_before
    assert fay.node.guild(guild_id).is_member(did["a"])
    assert nodes["g"].node.trust_view().score(did["a"]) > 0  # Gus's view is his own

    # Lifting the block restores the trust; a second unblock finds nothing to lift.
    status, answer = await api("DELETE", f"/api/block/{did['a']}")
    assert (status, answer) == (200, {"unblocked": did["a"]})
    status, trust = await api("GET", f"/api/trust/{did['a']}")
    assert trust["blocked"] is False and trust["score"] > 0
    status, answer = await api("DELETE", f"/api/block/{did['a']}")
    assert status == 404 and answer["error"]["code"] == "not_found"

    # Refusals through the API, with their stable codes.
    status, answer = await api("POST", "/api/block", json={"did": fay.node.did})
    assert status == 400 and answer["error"]["code"] == "self_block"
    status, answer = await api("POST", "/api/guilds", json={"name": "Solo", "purpose": "Alone.",
                                                            "vouches_required": 2})  # fmt: skip
    assert status == 400 and answer["error"]["code"] == "invalid_argument"
    status, answer = await api("POST", f"/api/guilds/{'0' * 64}/apply", json={})
    assert status == 404 and answer["error"]["code"] == "not_found"
    status, answer = await api("GET", f"/api/guilds/{'0' * 64}")
    assert status == 404 and answer["error"]["code"] == "not_found"
    assert fay.node.store.count() == records_before
