"""A contract goes on when a party rotates its key (SPEC §14.6): records sealed to the old key
still open with it, the new key's steps count as the party's, and both parties derive the
same state. Four nodes in one process, the cast of test_contracts."""

from __future__ import annotations

from typing import Any

import pytest
from rounds import everywhere, settle
from test_contracts import cast, state

from guildnode import keeping

pytestmark = pytest.mark.anyio


async def test_a_freelancer_rotates_mid_contract_and_the_contract_goes_on(make_node: Any) -> None:
    nodes, did, guild = await cast(make_node)
    o, f = nodes["o"], nodes["f"]
    f.node.vouch(did["o"], level=2, context=f"guild:{guild}")
    brief = o.node.post_brief(
        guilds=[guild],
        title="Port a JSON parser to Rust",
        description="Streaming, with tests.",
        acceptance_criteria=["All upstream tests pass"],
        budget_min=100_000,
        budget_max=300_000,
        currency="EUR",
        expires_days=14,
    )
    await settle(nodes, lambda: brief.id in {b.id for b in f.node.briefs()})
    proposal = f.node.market.propose(
        brief.id, pitch="A streaming parser.", amount=200_000, currency="EUR", duration_days=21
    )
    await settle(nodes, lambda: len(o.node.market.proposals(brief.id)) == 1)
    offer = o.node.market.offer(
        proposal.id,
        scope="Port the tokenizer and the parser.",
        acceptance_criteria=["All upstream tests pass"],
        milestones=[("Tokenizer", 100_000, 10), ("Parser", 100_000, 20)],
        days=30,
    )
    contract = offer.id
    await settle(nodes, lambda: state(f, contract) == "offered")
    f.node.market.accept(offer.id)
    await settle(nodes, lambda: state(o, contract) == "active")

    old = f.node.did
    rotated = keeping.rotate(f.node, reason="New laptop.")
    new = rotated["new"]
    await settle(nodes, lambda: everywhere(nodes, lambda n: n.member(old) == new))
    assert state(f, contract) == "active"  # still opens: sealed to the old key, kept
    assert f.node.market.contract(contract).freelancer == new

    f.node.market.milestone(contract, 0, "submitted")  # signed by the new key
    await settle(nodes, lambda: o.node.market.contract(contract).milestones[0].submitted_at)
    o.node.market.milestone(contract, 0, "approved")  # sealed to the new key
    await settle(nodes, lambda: f.node.market.contract(contract).milestones[0].approved_at)
    views = [n.node.market.contract(contract) for n in (o, f)]
    assert views[0].state == views[1].state == "active"
    assert views[0].freelancer == views[1].freelancer == new
    assert [m.approved_at is not None for m in views[0].milestones] == [True, False]
    assert [m.approved_at is not None for m in views[1].milestones] == [True, False]

    # It ends after the rotation: the receipts (naming the new key) pair with the offer's
    # public parties read as members, and the feedback counts on a node outside the contract.
    f.node.market.milestone(contract, 1, "submitted")
    await settle(nodes, lambda: o.node.market.contract(contract).milestones[1].submitted_at)
    o.node.market.milestone(contract, 1, "approved")
    for index in (0, 1):
        o.node.market.payment(contract, index, "paid")
    await settle(nodes, lambda: all(m.paid_at for m in f.node.market.contract(contract).milestones))
    for index in (0, 1):
        f.node.market.payment(contract, index, "received")
    await settle(nodes, lambda: o.node.market.contract(contract).payment == "on_time")
    f.node.market.complete(contract)
    h = nodes["h"]
    await settle(
        nodes, lambda: everywhere(nodes, lambda n: contract in n.market.evidence.completed())
    )
    assert h.node.market.evidence.completed()[contract] == {did["o"], new}
    f.node.market.duties.give_feedback(contract, rating=3)
    o.node.market.duties.give_feedback(contract, rating=3)
    await settle(
        nodes, lambda: everywhere(nodes, lambda n: len(n.market.evidence.counted_feedback()) == 2)
    )
    assert h.node.market.evidence.payment_record(did["o"])["on_time"] == 1
