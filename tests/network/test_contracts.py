"""A gig from brief to feedback on four nodes in one process (issue: briefs, proposals and
short-lived contracts), and what the nodes outside the contract can and cannot see.

    Northwind (organisation)      Fay, Gus, Hal (freelancers, founders of "Rustaceans")

Fay and Gus vouch for each other; Hal vouches for both, and knows Northwind (a general
vouch). Fay, a member, vouches for Northwind in the guild's context, which is what carries
Northwind's briefs to every member's node (SPEC §9.7). Gus's proposal loses; Hal never
proposes. Both hold Northwind's and Fay's sealed records, and can read none of them.
"""

from __future__ import annotations

from typing import Any

import pytest
from rounds import everywhere, settle

from guildnode.errors import NodeError

pytestmark = pytest.mark.anyio

NAMES = {"o": "Northwind Studio", "f": "Fay", "g": "Gus", "h": "Hal"}
SECRETS = {
    "fay_pitch": "Fay-pitch: a streaming parser in 3 weeks, fuzzed",
    "gus_pitch": "Gus-pitch: I ported serde_json once",
    "scope": "Scope-secret: port the tokenizer and the parser, no unsafe",
}


async def cast(make_node: Any) -> tuple[dict[str, Any], dict[str, str], str]:
    """Four peered nodes; the three freelancers found a guild together. Returns the guild."""
    nodes = {key: await make_node(name.split()[0].lower()) for key, name in NAMES.items()}
    nodes["o"].node.set_profile(name=NAMES["o"], organisation=True)
    for key in "fgh":
        nodes[key].node.set_profile(name=NAMES[key], skills=["rust"])
    for left in nodes.values():
        for right in nodes.values():
            if left is not right:
                await left.federation.add_peer(right.url)
    did = {key: served.node.did for key, served in nodes.items()}
    nodes["f"].node.vouch(did["g"], level=2)
    nodes["g"].node.vouch(did["f"], level=2)
    nodes["h"].node.vouch(did["f"], level=2)
    nodes["h"].node.vouch(did["g"], level=2)
    nodes["h"].node.vouch(did["o"], level=2, statement="Worked with their studio before.")
    charter = nodes["f"].node.found_guild(
        "Rustaceans",
        "Rust work, vetted by Rust people.",
        vouches_required=1,
        cofounders=[did["g"], did["h"]],
        cooling_days=0,
    )
    guild = charter.id
    freelancers = {k: nodes[k] for k in "fgh"}
    await settle(nodes, lambda: everywhere(freelancers, lambda n: guild in n.charters()))
    for key in "gh":
        nodes[key].node.apply_guild(guild)
    await settle(
        nodes,
        lambda: everywhere(
            freelancers,
            lambda n: n.guild(guild).members.keys() == {did["f"], did["g"], did["h"]},
        ),
    )
    return nodes, did, guild


def state(served: Any, contract: str) -> str | None:
    found = {c.id: c.state for c in served.node.market.contracts()}
    return found.get(contract)


def files_of(served: Any) -> bytes:
    """Every byte the node keeps on disk: the database, its WAL, keys and tokens."""
    return b"".join(p.read_bytes() for p in sorted(served.data_dir.rglob("*")) if p.is_file())


async def test_a_gig_from_brief_to_feedback(make_node: Any) -> None:
    nodes, did, guild = await cast(make_node)
    o, f, g, h = (nodes[k] for k in "ofgh")

    # A member vouches for the organisation in the guild's context; its brief reaches all.
    f.node.vouch(did["o"], level=2, context=f"guild:{guild}")
    brief = o.node.post_brief(
        guilds=[guild],
        title="Port a JSON parser to Rust",
        description="Streaming, with tests.",
        acceptance_criteria=["All upstream tests pass", "No unsafe"],
        budget_min=200_000,
        budget_max=500_000,
        currency="EUR",
        skills=["rust"],
        expires_days=14,
    )
    freelancers = {k: nodes[k] for k in "fgh"}
    await settle(
        nodes,
        lambda: everywhere(
            freelancers, lambda n: brief.id in {b.id for b in n.briefs() if b.is_open(n.now())}
        ),
    )

    # Two propose; only the organisation (and each author) can read a proposal.
    fay_proposal = f.node.market.propose(
        brief.id, pitch=SECRETS["fay_pitch"], amount=350_000, currency="EUR", duration_days=21
    )
    g.node.market.propose(
        brief.id, pitch=SECRETS["gus_pitch"], amount=300_000, currency="EUR", duration_days=30
    )
    await settle(nodes, lambda: len(o.node.market.proposals(brief.id)) == 2)
    assert {p.author for p in o.node.market.proposals(brief.id)} == {did["f"], did["g"]}
    assert [p.id for p in h.node.market.proposals()] == []

    # Offer, counter, accept the counter: active on both sides.
    offer = o.node.market.offer(
        fay_proposal.id,
        scope=SECRETS["scope"],
        acceptance_criteria=["All upstream tests pass"],
        milestones=[("Tokenizer", 150_000, 10), ("Parser", 150_000, 20)],
        days=30,
    )
    contract = offer.id
    await settle(nodes, lambda: state(f, contract) == "offered")
    counter = f.node.market.counter(
        offer.id, milestones=[("Tokenizer", 150_000, 10), ("Parser", 200_000, 20)]
    )
    await settle(nodes, lambda: state(o, contract) == "countered")
    o.node.market.accept(counter.id)
    await settle(nodes, lambda: state(f, contract) == "active")
    assert o.node.market.contract(contract).terms["price"] == {"amount": 350_000, "currency": "EUR"}

    # Milestones submitted, approved, paid and received; then completed.
    for index in (0, 1):
        f.node.market.milestone(contract, index, "submitted")
    await settle(
        nodes, lambda: all(m.submitted_at for m in o.node.market.contract(contract).milestones)
    )
    for index in (0, 1):
        o.node.market.milestone(contract, index, "approved")
        o.node.market.payment(contract, index, "paid")
    await settle(nodes, lambda: all(m.paid_at for m in f.node.market.contract(contract).milestones))
    for index in (0, 1):
        f.node.market.payment(contract, index, "received")
    await settle(nodes, lambda: o.node.market.contract(contract).payment == "on_time")
    f.node.market.complete(contract, note="Shipped.")
    # Each side's node publishes its receipt once the contract has ended.
    await settle(
        nodes,
        lambda: everywhere(
            nodes,
            lambda n: (
                {r.author for r in n.market.evidence.receipts(contract)} == {did["o"], did["f"]}
            ),
        ),
    )
    assert state(o, contract) == state(f, contract) == "completed"

    # Hal, outside the contract, before any feedback: Fay and Gus are close in "rust".
    before = h.node.trust_view("rust")
    before_ratio = before.score(did["f"]) / before.score(did["g"])

    # Blind feedback: committed by both, then revealed by both nodes on their own.
    f.node.market.duties.give_feedback(contract, rating=3, dimensions={"payment_promptness": 3})
    assert not f.node.market.evidence.reveals(contract)  # Northwind has not committed yet
    o.node.market.duties.give_feedback(
        contract, rating=3, dimensions={"quality": 3}, statement="Excellent parser work."
    )
    await settle(
        nodes, lambda: everywhere(nodes, lambda n: len(n.market.evidence.counted_feedback()) == 2)
    )

    # A third member now ranks Fay above Gus in the brief's skill, backed by the contract.
    after = h.node.trust_view("rust")
    assert after.rank(did["f"]) < after.rank(did["g"])
    assert after.score(did["f"]) / after.score(did["g"]) > before_ratio * 1.1
    assert any(
        edge.vouch.evidence == contract for path in after.paths(did["f"]) for edge in path.edges
    )
    # …and sees how Northwind pays.
    assert h.node.market.evidence.payment_record(did["o"])["on_time"] == 1
    shown = (await h.client.get(f"/api/trust/{did['o']}", headers=h.owner)).json()
    assert shown["payments"] == {"on_time": 1, "late": 0, "unpaid": 0, "disputed": 0}

    # Privacy: Gus (who lost) and Hal hold the sealed records but cannot read them.
    for outsider in (g, h):
        held = {r["id"] for r in outsider.node.records(author=did["o"], kind="offer")}
        assert contract in held
        assert outsider.node.market.contracts() == []
        disk = files_of(outsider)
        for secret in (SECRETS["fay_pitch"], SECRETS["scope"]):
            assert secret.encode() not in disk
        assert b'"amount":350000' not in disk and b'"amount":150000' not in disk
    assert SECRETS["gus_pitch"].encode() not in files_of(h)
    # The parties read it all.
    assert o.node.market.contract(contract).terms["scope"] == SECRETS["scope"]
    timeline = [e.event for e in f.node.market.contract(contract).timeline if e.effect]
    assert timeline[:3] == ["offer", "counter", "accept"]
    assert timeline[-1] == "complete"


async def test_refusals_store_nothing(make_node: Any) -> None:
    nodes, did, guild = await cast(make_node)
    o, f, g = nodes["o"], nodes["f"], nodes["g"]
    f.node.vouch(did["o"], level=2, context=f"guild:{guild}")
    brief = o.node.post_brief(
        guilds=[guild],
        title="T",
        description="D",
        acceptance_criteria=["C"],
        budget_min=1,
        budget_max=10,
        currency="EUR",
        skills=["rust"],
    )
    await settle(nodes, lambda: brief.id in {b.id for b in f.node.briefs()})
    proposal = f.node.market.propose(brief.id, pitch="p", amount=5, currency="EUR", duration_days=3)
    await settle(nodes, lambda: len(o.node.market.proposals()) == 1)

    def refused(served: Any, code: str, action: Any) -> None:
        count = served.node.store.count()
        with pytest.raises(NodeError) as caught:
            action()
        assert caught.value.code == code, caught.value.detail
        assert served.node.store.count() == count

    refused(
        o,
        "contract_too_long",
        lambda: o.node.market.offer(
            proposal.id, scope="s", acceptance_criteria=["c"], milestones=[("m", 5, 1)], days=181
        ),
    )
    refused(
        o,
        "invalid_currency",
        lambda: o.node.market.offer(
            proposal.id,
            scope="s",
            acceptance_criteria=["c"],
            milestones=[("m", 5, 1)],
            currency="XXY",
        ),
    )
    offer = o.node.market.offer(
        proposal.id, scope="s", acceptance_criteria=["c"], milestones=[("m", 5, 1)]
    )
    await settle(nodes, lambda: state(f, offer.id) == "offered" and state(g, offer.id) is None)
    refused(o, "not_addressed_to_you", lambda: o.node.market.accept(offer.id))
    refused(g, "not_found", lambda: g.node.market.accept(offer.id))  # sealed: Gus can't see it
    f.node.market.accept(offer.id)
    refused(f, "not_open", lambda: f.node.market.accept(offer.id))
    refused(f, "not_ended", lambda: f.node.market.duties.give_feedback(offer.id, rating=3))
    refused(g, "not_found", lambda: g.node.market.complete(offer.id))
    refused(f, "milestones_pending", lambda: f.node.market.complete(offer.id))
    refused(f, "wrong_party", lambda: f.node.market.payment(offer.id, 0, "paid"))
    for served in nodes.values():  # deliver what is queued before the nodes stop
        await served.federation.flush()
