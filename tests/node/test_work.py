"""Work through the local API: what the owner may publish about briefs and contracts, the
clear refusals (stable code, nothing stored, the node keeps serving), and time moving
contracts along — offers expire, milestones approve themselves, feedback reveals after its
window (SPEC §12.3, §12.4). Time is a clock the test moves, never a sleep.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from guildnode.feedback import commitment

pytestmark = pytest.mark.anyio

DAY = 86_400
GUILD = "ab" * 32


class Clock:
    """Real time plus an offset the test can move forward (shared by every node)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, days: float) -> None:
        self.offset += days * DAY


async def sync(*nodes: Any) -> None:
    for _ in range(2):
        for served in nodes:
            await served.federation.flush()
        for served in nodes:
            await served.federation.sync_all()


async def work(served: Any, action: str, **fields: Any) -> Any:
    return await served.client.post(f"/api/work/{action}", json=fields, headers=served.owner)


async def refused(served: Any, status: int, code: str, action: str, **fields: Any) -> None:
    """The action is refused with `code`, nothing is stored, and the node still serves."""
    held = served.node.store.count()
    response = await work(served, action, **fields)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["detail"]
    assert served.node.store.count() == held
    assert (await served.client.get("/.well-known/guildnode")).status_code == 200


async def network(make_node: Any, clock: Clock) -> dict[str, Any]:
    """An organisation, a freelancer who knows it, and a bystander who knows them both."""
    nodes = {k: await make_node(k, clock=clock) for k in ("org", "fay", "sam")}
    nodes["org"].node.set_profile(name="Northwind", organisation=True)
    nodes["fay"].node.set_profile(name="Fay", skills=["rust"])
    nodes["sam"].node.set_profile(name="Sam", skills=["rust"])
    for left in nodes.values():
        for right in nodes.values():
            if left is not right:
                await left.federation.add_peer(right.url)
    for key in ("fay", "sam"):
        nodes[key].node.vouch(nodes["org"].node.did, level=2)
    nodes["sam"].node.vouch(nodes["fay"].node.did, level=2)
    await sync(*nodes.values())
    return nodes


async def brief_and_proposal(nodes: dict[str, Any]) -> tuple[str, str]:
    org, fay = nodes["org"], nodes["fay"]
    brief = org.node.post_brief(
        guilds=[GUILD],
        title="Port a parser",
        description="In Rust.",
        acceptance_criteria=["Tests pass"],
        budget_min=1_000,
        budget_max=9_000,
        currency="EUR",
        skills=["rust"],
        expires_days=14,
    )
    await sync(*nodes.values())
    answer = await work(
        fay, "propose", brief=brief.id, pitch="I can", amount=5_000, currency="EUR", duration_days=9
    )
    assert answer.status_code == 200, answer.text
    await sync(*nodes.values())
    return brief.id, answer.json()["id"]


def offer_fields(proposal: str, **changes: Any) -> dict[str, Any]:
    fields = {
        "proposal": proposal,
        "scope": "The parser",
        "acceptance_criteria": ["Tests pass"],
        "milestones": [{"title": "All of it", "amount": 5_000, "due_days": 7}],
        "days": 10,
    }
    return fields | changes


async def offered(nodes: dict[str, Any], proposal: str, **changes: Any) -> str:
    answer = await work(nodes["org"], "offer", **offer_fields(proposal, **changes))
    assert answer.status_code == 200, answer.text
    await sync(*nodes.values())
    return str(answer.json()["id"])


async def completed(nodes: dict[str, Any], contract: str) -> None:
    org, fay = nodes["org"], nodes["fay"]
    for served, action in ((fay, "submit"), (org, "approve"), (org, "paid"), (fay, "received")):
        answer = await work(served, action, contract=contract, milestone=0)
        assert answer.status_code == 200, answer.text
        await sync(*nodes.values())
    assert (await work(fay, "complete", contract=contract)).status_code == 200
    await sync(*nodes.values())


async def test_refusals_name_the_problem_and_store_nothing(make_node: Any) -> None:
    clock = Clock()
    nodes = await network(make_node, clock)
    org, fay, sam = nodes["org"], nodes["fay"], nodes["sam"]
    brief, proposal = await brief_and_proposal(nodes)

    # A brief may live at most 30 days.
    held = org.node.store.count()
    response = await org.client.post(
        "/api/briefs",
        headers=org.owner,
        json={
            "guilds": [GUILD],
            "title": "T",
            "description": "D",
            "acceptance_criteria": ["C"],
            "budget_min": 1,
            "budget_max": 2,
            "currency": "EUR",
            "expires_days": 31,
        },
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_argument"
    assert org.node.store.count() == held

    # Amounts are integers of minor units; currencies are ISO 4217.
    base = {"brief": brief, "pitch": "p", "currency": "EUR", "duration_days": 3}
    for amount in (100.5, "100", -1, None):
        await refused(fay, 400, "invalid_argument", "propose", **base, amount=amount)
    await refused(fay, 400, "invalid_currency", "propose", **base | {"currency": "ABC"}, amount=1)
    await refused(fay, 400, "invalid_argument", "propose", **base, amount=1, tip=5)
    await refused(org, 404, "not_found", "no_such_action")
    bad_milestones = [{"title": "m", "amount": 12.5, "due_days": 1}]
    await refused(
        org, 400, "invalid_argument", "offer", **offer_fields(proposal, milestones=bad_milestones)
    )
    await refused(org, 400, "invalid_currency", "offer", **offer_fields(proposal, currency="EURO"))
    # A contract lasts at most 180 days.
    await refused(org, 400, "contract_too_long", "offer", **offer_fields(proposal, days=181))

    # Accepting an expired offer.
    first = await offered(nodes, proposal, respond_days=2)
    clock.advance(3)
    await refused(fay, 400, "offer_expired", "accept", offer=first)
    assert fay.node.market.contract(first).state == "expired"

    # An offer addressed to someone else: the organisation cannot accept its own, and a
    # bystander cannot even read it (it is sealed to the two parties).
    second = await offered(nodes, proposal)
    await refused(org, 400, "not_addressed_to_you", "accept", offer=second)
    assert second in {r["id"] for r in sam.node.records(kind="offer")}
    await refused(sam, 404, "not_found", "accept", offer=second)

    # One already accepted.
    assert (await work(fay, "accept", offer=second)).status_code == 200
    await sync(*nodes.values())
    await refused(fay, 400, "not_open", "accept", offer=second)
    await refused(org, 400, "not_open", "decline", offer=second)

    # Completing or paying a contract you are not party to; completing too early.
    await refused(sam, 404, "not_found", "complete", contract=second)
    await refused(sam, 404, "not_found", "paid", contract=second, milestone=0)
    await refused(fay, 400, "wrong_party", "paid", contract=second, milestone=0)
    await refused(fay, 400, "milestones_pending", "complete", contract=second)
    await refused(org, 400, "unknown_milestone", "approve", contract=second, milestone=3)

    # Feedback before the contract ends, then twice.
    await refused(fay, 400, "not_ended", "feedback", contract=second, rating=3)
    await completed(nodes, second)
    assert (await work(fay, "feedback", contract=second, rating=3)).status_code == 200
    await refused(fay, 400, "already_committed", "feedback", contract=second, rating=2)
    await refused(org, 400, "invalid_argument", "feedback", contract=second, rating=4)
    await sync(*nodes.values())


async def test_time_expires_offers_approves_milestones_and_reveals_feedback(
    make_node: Any,
) -> None:
    clock = Clock()
    nodes = await network(make_node, clock)
    org, fay, sam = nodes["org"], nodes["fay"], nodes["sam"]
    brief, proposal = await brief_and_proposal(nodes)

    # An offer unanswered by its respond-by date expires.
    lapsed = await offered(nodes, proposal, respond_days=1)
    assert org.node.market.contract(lapsed).state == "offered"
    clock.advance(1.01)
    assert org.node.market.contract(lapsed).state == "expired"
    assert fay.node.market.contract(lapsed).actions(fay.node.did, fay.node.now()) == []

    # A submitted milestone nobody answers is approved after 14 days.
    contract = await offered(nodes, proposal)
    assert (await work(fay, "accept", offer=contract)).status_code == 200
    assert (await work(fay, "submit", contract=contract, milestone=0)).status_code == 200
    await sync(*nodes.values())
    clock.advance(13.9)
    assert org.node.market.contract(contract).milestones[0].approved_at is None
    clock.advance(0.2)
    milestone = org.node.market.contract(contract).milestones[0]
    assert milestone.approved_by_default and milestone.approved_at is not None
    timeline = [e.event for e in fay.node.market.contract(contract).timeline]
    assert "auto_approve" in timeline

    # The brief closed after its 14 days.
    assert brief not in {b.id for b in fay.node.briefs() if b.is_open(fay.node.now())}

    # Paid late (more than 14 days after the approval), completed; only Fay gives feedback.
    clock.advance(15)
    for served, action in ((org, "paid"), (fay, "received")):
        assert (await work(served, action, contract=contract, milestone=0)).status_code == 200
        await sync(*nodes.values())
    assert (await work(org, "complete", contract=contract)).status_code == 200
    await sync(*nodes.values())
    assert org.node.market.contract(contract).payment == "late"
    assert (await work(fay, "feedback", contract=contract, rating=3)).status_code == 200
    await sync(*nodes.values())
    assert fay.node.market.evidence.reveals(contract) == []  # blind: Northwind has not committed
    clock.advance(13.9)
    await sync(*nodes.values())
    assert fay.node.market.evidence.reveals(contract) == []
    clock.advance(0.2)
    await sync(*nodes.values())  # "sync now" settles what time made due
    revealed = fay.node.market.evidence.reveals(contract)
    assert len(revealed) == 1 and revealed[0].author == fay.node.did
    for served in (org, sam):
        assert [c.author for c in served.node.market.evidence.counted_feedback()] == [fay.node.did]
    # Both receipts say Northwind paid late; anyone holding them can see it.
    assert sam.node.market.evidence.payment_record(org.node.did)["late"] == 1


async def test_a_reveal_that_does_not_match_its_commitment_has_no_effect(
    make_node: Any,
) -> None:
    clock = Clock()
    nodes = await network(make_node, clock)
    org, fay, sam = nodes["org"], nodes["fay"], nodes["sam"]
    _, proposal = await brief_and_proposal(nodes)
    contract = await offered(nodes, proposal)
    assert (await work(fay, "accept", offer=contract)).status_code == 200
    await completed(nodes, contract)
    # Northwind commits; then its draft is altered on disk before it could be revealed.
    assert (await work(org, "feedback", contract=contract, rating=1)).status_code == 200
    ((commit_id, draft),) = org.node.store.drafts().items()
    org.node.store.save_draft(commit_id, draft | {"rating": 3})
    # Fay's node cheats: it commits to one body and reveals another.
    honest = {"contract": contract, "subject": org.node.did, "rating": 1, "salt": "A" * 22}
    fay.node.publish(
        "commit", {"contract": contract, "subject": org.node.did, "commitment": commitment(honest)}
    )
    fay.node.publish("feedback", honest | {"rating": 3})  # not what was committed
    before = sam.node.trust_view("rust").score(org.node.did)
    await sync(*nodes.values())
    # Fay's reveal is valid, stored and passed on — with no effect anywhere.
    for served in nodes.values():
        assert [r.author for r in served.node.market.evidence.reveals(contract)] == [fay.node.did]
        assert served.node.market.evidence.counted_feedback() == []
    assert sam.node.trust_view("rust").score(org.node.did) == pytest.approx(before, rel=1e-4)
    # Both have committed, but Northwind's node does not reveal a draft that no longer
    # matches its commitment, now or after the window.
    clock.advance(15)
    await sync(*nodes.values())
    assert org.node.market.evidence.reveals(contract)[0].author == fay.node.did
    assert len(org.node.market.evidence.reveals(contract)) == 1
    assert commit_id in org.node.store.drafts()
    # Receipts name the outcome and the payment, never an amount.
    assert all(
        "amount" not in json.dumps(r.body) for r in org.node.market.evidence.receipts(contract)
    )
