"""Disputes over ASGI, on three nodes in one process: the contract page's dispute section
(the form, a refusal beside its field with nothing stored, the dispute and then the
mediator's outcome shown), and the dispute routes of the local API (SPEC §17.6)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import pytest

from guildnode.protocol.credentials import verify_file
from tests.node.test_ui import Clock, form_token, post, settle, sign_in
from tests.node.test_work import refused, sync, work

pytestmark = pytest.mark.anyio


async def gig(make_node: Callable[..., Any], **settings: Any) -> tuple[Any, Any, Any, str, str]:
    """Northwind and Fay with an active contract, and Mia; all three in Fay's guild.
    `settings` go to each node (a `clock`, say)."""
    org, fay, mia = [await make_node(n, **settings) for n in ("org", "fay", "mia")]
    org.node.set_profile(name="Northwind", organisation=True)
    fay.node.set_profile(name="Fay")
    mia.node.set_profile(name="Mia")
    everyone = (org, fay, mia)
    for left in everyone:
        for right in everyone:
            if left is not right:
                await left.federation.add_peer(right.url)
    for served in (org, mia):
        served.node.vouch(fay.node.did, level=2)
    guild = fay.node.found_guild(
        "Makers", "Makers", vouches_required=1, cooling_days=0,
        cofounders=[org.node.did, mia.node.did],
    ).id  # fmt: skip
    await sync(*everyone)
    for served in (org, mia):
        served.node.apply_guild(guild)
    brief = org.node.post_brief(
        guilds=[guild], title="A sign", description="Oak.", acceptance_criteria=["It hangs"],
        budget_min=100, budget_max=900, currency="EUR", expires_days=14,
    )  # fmt: skip
    await sync(*everyone)
    proposal = await work(fay, "propose", brief=brief.id, pitch="Oak", amount=500,
                          currency="EUR", duration_days=5)  # fmt: skip
    await sync(*everyone)
    offer = await work(org, "offer", proposal=proposal.json()["id"], scope="The sign",
                       acceptance_criteria=["It hangs"], days=10,
                       milestones=[{"title": "Sign", "amount": 500, "due_days": 5}])  # fmt: skip
    contract = offer.json()["id"]
    await sync(*everyone)
    assert (await work(fay, "accept", offer=contract)).status_code == 200
    await sync(*everyone)
    return org, fay, mia, guild, contract


async def test_the_contract_page_opens_a_dispute_and_shows_its_outcome(
    make_node: Callable[..., Any],
) -> None:
    org, fay, mia, guild, contract = await gig(make_node)
    await sign_in(fay)
    path = f"/contracts/{contract}"
    page = (await fay.client.get(path)).text
    assert "Open a dispute" in page and f'<option value="{guild}">Makers</option>' in page
    token = await form_token(fay, path)

    held = fay.node.store.count()
    bad = await post(fay, f"{path}/dispute", token, guild=guild, mediators=org.node.did,
                     statement="Scope crept")  # fmt: skip
    assert bad.status_code == 400
    assert "A party to the contract cannot mediate it. (mediator_not_qualified)" in bad.text
    assert 'id="dispute-mediators-error"' in bad.text
    assert fay.node.store.count() == held

    opened = await post(fay, f"{path}/dispute", token, guild=guild, mediators=mia.node.did,
                        statement="Scope crept")  # fmt: skip
    assert opened.status_code == 303, opened.text
    page = (await fay.client.get(path)).text
    assert "You opened a dispute" in page and "No outcome yet." in page

    await sync(org, fay, mia)
    (dispute,) = (await mia.client.get("/api/disputes", headers=mia.owner)).json()["disputes"]
    assert dispute["role"] == "mediator" and dispute["contract"] == contract
    decided = await work(mia, "outcome", dispute=dispute["id"], payment="on_time",
                         finding="The scope <grew> by agreement.")  # fmt: skip
    assert decided.status_code == 200, decided.text
    await sync(org, fay, mia)
    page = (await fay.client.get(path)).text
    assert "payment found on time" in page and "The scope &lt;grew&gt; by agreement." in page
    await settle(org, fay, mia)


async def test_the_dispute_routes_refuse_what_is_not_the_owners(
    make_node: Callable[..., Any],
) -> None:
    org, fay, mia, guild, contract = await gig(make_node)
    unknown = await fay.client.get("/api/disputes/" + "ab" * 32, headers=fay.owner)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    opened = await work(fay, "dispute", contract=contract, guild=guild,
                        mediators=[mia.node.did], statement="Late")  # fmt: skip
    assert opened.status_code == 200, opened.text
    await sync(org, fay, mia)
    # The other party reads it; a second outcome by the mediator is refused, nothing stored.
    shown = await org.client.get(f"/api/disputes/{opened.json()['id']}", headers=org.owner)
    assert shown.json()["statement"] == "Late" and shown.json()["role"] == "party"
    first = await work(mia, "outcome", dispute=opened.json()["id"], finding="Fine")
    assert first.status_code == 200, first.text
    held = mia.node.store.count()
    again = await work(mia, "outcome", dispute=opened.json()["id"], finding="Again")
    assert again.status_code == 400 and again.json()["error"]["code"] == "already_decided"
    assert mia.node.store.count() == held

    # Decided while active: once the contract ends, both parties' receipts cite the outcome.
    steps = ((fay, "submit"), (org, "approve"), (org, "paid"), (fay, "received"))
    for served, action in steps:
        answer = await work(served, action, contract=contract, milestone=0)
        assert answer.status_code == 200, answer.text
        await sync(org, fay, mia)
    assert (await work(fay, "complete", contract=contract)).status_code == 200
    await sync(org, fay, mia)
    shown = await org.client.get(f"/api/contracts/{contract}", headers=org.owner)
    receipts = shown.json()["receipts"]
    assert sorted(r["author"] for r in receipts) == sorted([org.node.did, fay.node.did])
    assert {r["decision"] for r in receipts} == {first.json()["id"]}
    await settle(org, fay, mia)


async def test_a_mediator_removed_by_vote_decides_nothing(
    make_node: Callable[..., Any],
) -> None:
    """SPEC §17.2, §12.5: a mediator qualifies while it is a current member of the guild as
    governance leaves it. Mia's outcome counts until Fay and Northwind vote her out; then it
    counts on no node, and Mia's node refuses her outcomes with `mediator_not_qualified`."""
    org, fay, mia, guild, contract = await gig(make_node)
    opened = await work(fay, "dispute", contract=contract, guild=guild,
                        mediators=[mia.node.did], statement="Late")  # fmt: skip
    assert opened.status_code == 200, opened.text
    dispute = opened.json()["id"]
    await sync(org, fay, mia)
    first = await work(mia, "outcome", dispute=dispute, payment="on_time", finding="Fine")
    assert first.status_code == 200, first.text
    await sync(org, fay, mia)
    for served in (org, fay, mia):
        assert list(served.node.market.evidence.decided()) == [contract]

    motion = await fay.client.post(f"/api/guilds/{guild}/motions", headers=fay.owner,
                                   json={"action": "remove", "member": mia.node.did})  # fmt: skip
    assert motion.status_code == 200, motion.text
    await sync(org, fay, mia)
    vote = await org.client.post(f"/api/motions/{motion.json()['id']}/vote",
                                 headers=org.owner, json={"choice": "yes"})  # fmt: skip
    assert vote.status_code == 200, vote.text
    await sync(org, fay, mia)
    for served in (org, fay, mia):
        assert not served.node.guild(guild).is_member(mia.node.did)
        assert served.node.market.evidence.decided() == {}
        shown = await served.client.get(f"/api/disputes/{dispute}", headers=served.owner)
        (held,) = shown.json()["outcomes"]
        assert held["id"] == first.json()["id"] and not held["counts"]
        assert held["problem"].endswith("(mediator_not_qualified)")

    await refused(mia, 400, "mediator_not_qualified", "outcome", dispute=dispute, finding="Again")
    await refused(fay, 400, "mediator_not_qualified", "dispute", contract=contract,
                  guild=guild, mediators=[mia.node.did], statement="Late")  # fmt: skip
    await settle(org, fay, mia)


async def test_a_contract_credential_reads_the_outcome_that_counts(
    make_node: Callable[..., Any],
) -> None:
    """SPEC §18.4, §17.5: Mia finds Northwind paid late and voids its feedback on Fay. Fay's
    contract credential carries the outcome, claims `late` and none of Northwind's voided
    feedback; Northwind's claims `late` too and keeps Fay's feedback. Both verify offline."""
    org, fay, mia, guild, contract = await gig(make_node)
    opened = await work(fay, "dispute", contract=contract, guild=guild,
                        mediators=[mia.node.did], statement="Late")  # fmt: skip
    assert opened.status_code == 200, opened.text
    await sync(org, fay, mia)
    decided = await work(mia, "outcome", dispute=opened.json()["id"], finding="Paid late",
                         payment="late", void_feedback=[org.node.did])  # fmt: skip
    assert decided.status_code == 200, decided.text
    await sync(org, fay, mia)
    steps = ((fay, "submit"), (org, "approve"), (org, "paid"), (fay, "received"))
    for served, action in steps:
        answer = await work(served, action, contract=contract, milestone=0)
        assert answer.status_code == 200, answer.text
        await sync(org, fay, mia)
    assert (await work(fay, "complete", contract=contract)).status_code == 200
    await sync(org, fay, mia)
    for served, rating in ((org, 1), (fay, 3)):
        given = await work(served, "feedback", contract=contract, rating=rating)
        assert given.status_code == 200, given.text
        await sync(org, fay, mia)
    await sync(org, fay, mia)
    assert len(fay.node.market.evidence.counted_feedback()) == 2

    outcome = decided.json()["id"]
    for served, feedback in ((fay, []), (org, [{"rating": 3}])):
        exported = (await served.client.get("/api/credentials", headers=served.owner)).json()
        (work_done,) = [
            c for c in exported["verifiableCredential"]
            if c["type"][1] == "GuildnodeContractCredential"
        ]  # fmt: skip
        claims = work_done["credentialSubject"]
        assert claims["payment"] == "late" and claims["feedback"] == feedback
        assert claims["decision"] == f"urn:guildnode:record:{outcome}"
        kinds = [e["record"]["kind"] for e in work_done["evidence"]]
        assert kinds == ["receipt", "receipt", "outcome", *["commit", "feedback"] * len(feedback)]
        assert verify_file(json.dumps(exported).encode(), served.node.now()).ok
    await settle(org, fay, mia)


async def test_the_dispute_page_lets_its_mediator_decide_once(
    make_node: Callable[..., Any],
) -> None:
    org, fay, mia, guild, contract = await gig(make_node)
    opened = await work(fay, "dispute", contract=contract, guild=guild,
                        mediators=[mia.node.did], statement="The <scope> crept")  # fmt: skip
    assert opened.status_code == 200, opened.text
    dispute = opened.json()["id"]
    await sync(org, fay, mia)
    path = f"/disputes/{dispute}"
    assert (await mia.client.get(path)).headers["location"] == "/login"

    # A party reads the dispute (linked from the contract page) but has no form to decide it.
    await sign_in(org)
    assert (
        f'<a href="{path}">a dispute</a>' in (await org.client.get(f"/contracts/{contract}")).text
    )
    page = (await org.client.get(path)).text
    assert "The &lt;scope&gt; crept" in page and 'id="decide"' not in page
    token = await form_token(org, f"/contracts/{contract}")  # the session's token
    held = org.node.store.count()
    refused = await post(org, f"{path}/decide", token, finding="Mine")
    assert refused.status_code == 400
    assert "You are not a mediator of that dispute. (not_a_mediator)" in refused.text
    assert org.node.store.count() == held

    # The mediator's page has the form; a refusal comes back beside its field, nothing stored.
    await sign_in(mia)
    page = (await mia.client.get(path)).text
    assert 'id="decide"' in page and f'value="{fay.node.did}"' in page
    token = await form_token(mia, path)
    held = mia.node.store.count()
    forged = await mia.client.post(f"{path}/decide", data={"finding": "Forged"})
    assert forged.status_code == 403  # the UI guard's CSRF check covers the dispute pages
    empty = await post(mia, f"{path}/decide", token, finding="")
    assert empty.status_code == 400 and 'id="decide-finding-error"' in empty.text
    stranger = await post(mia, f"{path}/decide", token, finding="No", void_feedback=mia.node.did)
    assert stranger.status_code == 400
    assert "void_feedback may name only the contract's parties." in html.unescape(stranger.text)
    assert mia.node.store.count() == held

    decided = await mia.client.post(
        f"{path}/decide",
        data={"csrftoken": token, "finding": "Agreed <growth>", "payment": "late",
              "void_feedback": [org.node.did]},
    )  # fmt: skip
    assert decided.status_code == 303, decided.text
    page = (await mia.client.get(path)).text
    assert "Agreed &lt;growth&gt;" in page and "payment found late" in page
    assert 'id="decide"' not in page  # an outcome counts: the form is gone
    (outcome,) = (await mia.client.get(f"/api/disputes/{dispute}", headers=mia.owner)).json()[
        "outcomes"
    ]
    assert outcome["counts"] and outcome["void_feedback"] == [org.node.did]
    held = mia.node.store.count()
    again = await post(mia, f"{path}/decide", token, finding="Again")
    assert again.status_code == 400 and "(already_decided)" in again.text
    assert mia.node.store.count() == held
    unknown = "/disputes/" + "ab" * 32
    assert (await mia.client.get(unknown)).status_code == 404
    missing = await post(mia, f"{unknown}/decide", token, finding="Who?")
    assert missing.status_code == 404 and "(not_found)" in missing.text
    assert mia.node.store.count() == held
    await settle(org, fay, mia)


async def test_what_counts_is_derived_once_per_store_version_and_second(
    make_node: Callable[..., Any],
) -> None:
    """SPEC §17.4 on a busy node: the outcome that counts, and the guild governance it rests
    on, are derived once per store version and second of the clock, and every reader shares
    them — listing the disputes, opening one, the contract page, the owner's trust. A new
    record, or the clock moving on, derives them again (membership is read at `now`, SPEC
    §17.2)."""
    clock = Clock()
    org, fay, mia, guild, contract = await gig(make_node, clock=clock)
    opened = await work(fay, "dispute", contract=contract, guild=guild,
                        mediators=[mia.node.did], statement="Late")  # fmt: skip
    dispute = opened.json()["id"]
    await sync(org, fay, mia)
    decided = await work(mia, "outcome", dispute=dispute, payment="on_time", finding="Fine")
    assert decided.status_code == 200, decided.text
    await sync(org, fay, mia)
    await sign_in(fay)
    evidence = fay.node.market.evidence
    assert evidence.held().charters is fay.node.charters()  # the node's, not derived again
    assert list(evidence.decided()) == [contract]
    once = evidence.derivations
    queries: list[str] = []
    fay.node.store.db.conn.set_trace_callback(queries.append)
    for path in ("/api/disputes", f"/api/disputes/{dispute}", "/api/contracts"):
        assert (await fay.client.get(path, headers=fay.owner)).status_code == 200
    assert (await fay.client.get(f"/contracts/{contract}")).status_code == 200
    fay.node.trust_view()
    fay.node.store.db.conn.set_trace_callback(None)
    assert evidence.derivations == once
    # Nor are the contracts' parties (SPEC §17.1: every offer's references) read again, nor
    # the guild's governance (SPEC §12.5: its motions) that the mediator's membership and
    # the page's notices read.
    assert not [q for q in queries if "x.kind = 'offer'" in q or "x.kind = 'motion'" in q]
    assert fay.node.governance(guild) is fay.node.governance(guild)

    fay.node.vouch(mia.node.did, level=1)  # a record: the store's version moves
    assert list(evidence.decided()) == [contract]
    assert evidence.derivations == once + 1
    clock.now += 1
    assert list(evidence.decided()) == [contract]
    assert evidence.derivations == once + 2
    await settle(org, fay, mia)
