"""SPEC §15 across three nodes in one process: an organisation delegates briefs and offers to
a staff node; the staff node posts a brief for it, a freelancer's proposal reaches the staff
node, whose offer for the organisation the freelancer accepts — and the organisation's node
derives the active contract as its own. Chains are delivered by POST /inbox."""

from __future__ import annotations

from typing import Any

import pytest

from tests.node.test_ui import form_token, sign_in

pytestmark = pytest.mark.anyio


async def call(served: Any, path: str, payload: dict[str, Any]) -> Any:
    response = await served.client.post(path, json=payload, headers=served.owner)
    assert response.status_code == 200, response.text
    return response.json()


async def deliver(source: Any, target: Any, *dids: str) -> None:
    for did in dids:
        records = [held["record"] for held in source.node.records(author=did)]
        results = await target.inbox(records)
        assert {r["status"] for r in results} <= {"accepted", "duplicate"}, results


async def test_a_delegates_offer_makes_the_organisations_contract(make_node) -> None:
    org, staff, fay = await make_node("org"), await make_node("staff"), await make_node("fay")
    o, s, f = org.node.did, staff.node.did, fay.node.did
    await call(org, "/api/delegates/add", {"delegate": s, "scope": ["briefs", "offers"],
                                           "expires_days": 30})  # fmt: skip
    await deliver(org, staff, o)
    brief = await call(staff, "/api/briefs", {
        "guilds": ["ab" * 32], "title": "Drivers", "description": "Review our drivers.",
        "acceptance_criteria": ["A review"], "budget_min": 1000, "budget_max": 5000,
        "currency": "EUR", "organisation": o,
    })  # fmt: skip
    # The staff member's web UI offers to post as the organisation, too.
    await sign_in(staff)
    assert "(as its delegate)" in (await staff.client.get("/briefs")).text
    form = {
        "csrftoken": await form_token(staff, "/briefs"), "for": o, "guild": "ab" * 32,
        "title": "Firmware", "description": "More drivers.", "criteria": "A review",
        "budget_min": "10", "budget_max": "50", "currency": "EUR", "expires_days": "14",
    }  # fmt: skip
    posted = await staff.client.post("/briefs", data=form)
    assert posted.status_code == 303, posted.text
    by_ui = posted.headers["location"].rsplit("/", 1)[-1]
    assert {b.id: b.author for b in staff.node.briefs()}[by_ui] == o
    own = {"brief": brief["id"], "pitch": "Me!", "amount": 1, "currency": "EUR", "duration_days": 1}
    mine = await staff.client.post("/api/work/propose", json=own, headers=staff.owner)
    assert mine.status_code == 400 and mine.json()["error"]["code"] == "own_brief"
    await deliver(org, fay, o)
    await deliver(staff, fay, s)
    await sign_in(fay)  # the freelancer's brief page says who posted it for the organisation
    page = (await fay.client.get(f"/briefs/{brief['id']}")).text
    assert "Posted by" in page and f"/people/{s}" in page and f"/people/{o}" in page
    pitch = {"brief": brief["id"], "pitch": "I can.", "amount": 3000, "currency": "EUR",
             "duration_days": 5}  # fmt: skip
    proposal = await call(fay, "/api/work/propose", pitch)
    parties = {key["to"] for key in proposal["record"]["body"]["keys"]}
    assert parties == {f, o, s}  # the brief's delegate reads the proposal too
    await deliver(fay, staff, f)

    terms = {"proposal": proposal["id"], "scope": "Review.", "acceptance_criteria": ["Done"],
             "milestones": [{"title": "Review", "amount": 3000, "due_days": 5}]}  # fmt: skip
    stranger = await staff.client.post(
        "/api/work/offer", json=terms | {"organisation": f}, headers=staff.owner
    )
    assert stranger.status_code == 400 and stranger.json()["error"]["code"] == "not_delegated"
    offer = await call(staff, "/api/work/offer", terms | {"organisation": o})
    assert {key["to"] for key in offer["record"]["body"]["keys"]} == {f, o, s}
    await deliver(staff, fay, s)
    await deliver(staff, org, s)
    await deliver(fay, org, f)
    [seen] = (await fay.client.get("/api/contracts", headers=fay.owner)).json()["contracts"]
    assert seen["id"] == offer["id"] and seen["state"] == "offered"
    # SPEC §6.10, §15.4: the freelancer's counter reaches the delegate too, who counters back
    # for the organisation; the freelancer accepts that.
    countered = await call(fay, "/api/work/counter", {"offer": offer["id"], "scope": "Less."})
    assert {key["to"] for key in countered["record"]["body"]["keys"]} == {f, o, s}
    await deliver(fay, staff, f)
    back = {"offer": countered["id"], "scope": "Review.", "organisation": o}
    again = await call(staff, "/api/work/counter", back)
    assert {key["to"] for key in again["record"]["body"]["keys"]} == {f, o, s}
    await deliver(staff, fay, s)
    await deliver(staff, org, s)
    accepted = await call(fay, "/api/work/accept", {"offer": again["id"]})
    assert {key["to"] for key in accepted["record"]["body"]["keys"]} == {f, o, s}
    await deliver(fay, org, f)
    await deliver(fay, staff, f)
    # Outside what O delegated (briefs, offers), or not O at all: refused, nothing published.
    head = staff.node.store.head(s).seq
    for action, fields, code in (
        ("approve", {"milestone": 0, "organisation": o}, "outside_scope"),
        ("paid", {"milestone": 0, "organisation": o}, "outside_scope"),
        ("approve", {"milestone": 0, "organisation": f}, "not_delegated"),
        ("complete", {"organisation": o}, "outside_scope"),
        ("cancel", {"reason": "No.", "organisation": o}, "outside_scope"),
    ):
        refused = await staff.client.post(
            f"/api/work/{action}", json={"contract": offer["id"], **fields}, headers=staff.owner
        )
        assert refused.status_code == 400, (action, refused.text)
        assert refused.json()["error"]["code"] == code, (action, refused.text)
    # A grant of another organisation does not make this contract its: not a party.
    other = await make_node("other")
    await call(other, "/api/delegates/add", {"delegate": s, "scope": ["approve"],
                                             "expires_days": 30})  # fmt: skip
    await deliver(other, staff, other.node.did)
    head = staff.node.store.head(s).seq  # (the fixture vouched for `other` to take it in)
    wrong = {"contract": offer["id"], "milestone": 0, "organisation": other.node.did}
    refused = await staff.client.post("/api/work/approve", json=wrong, headers=staff.owner)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_a_party"
    assert staff.node.store.head(s).seq == head
    shown = await org.client.get(f"/api/contracts/{offer['id']}", headers=org.owner)
    assert shown.status_code == 200, shown.text
    contract = shown.json()
    assert contract["state"] == "active"
    assert contract["organisation"] == o and contract["freelancer"] == f
