"""SPEC §15 through the real routes: an organisation's grants and revocations go through the
local API (`/api/delegates/…`), refused with a stable code when they would have no effect and
storing nothing then; a staff node posts a brief for an organisation only within a grant; and
delegation records of any content reach a node by POST /inbox (validity is not effect)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from guildnode.protocol import canonical_bytes, encode_sig

pytestmark = pytest.mark.anyio

DAY = 86_400
BRIEF = {
    "guilds": ["ab" * 32],
    "title": "Firmware review",
    "description": "Review our sensor drivers.",
    "acceptance_criteria": ["A written review"],
    "budget_min": 100_000,
    "budget_max": 200_000,
    "currency": "EUR",
}


def held(served: Any) -> set[str]:
    return {rid for rid, _ in served.node.store.records()}


async def call(served: Any, method: str, path: str, payload: Any = None) -> Any:
    return await served.client.request(method, path, json=payload, headers=served.owner)


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["detail"], error


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"scope": ["briefs", "sign"]}, "invalid_scope"),
        ({"scope": []}, "invalid_scope"),
        ({"expires_days": 0}, "invalid_expiry"),
        ({"expires_days": -3}, "invalid_expiry"),  # in the past
        ({"expires_days": 91}, "invalid_expiry"),  # longer than 90 days
        ({"delegate": "did:key:zNotAKey"}, "invalid_did"),
        ({"expires_days": "30"}, "invalid_argument"),
    ],
)
async def test_bad_delegations_are_refused_with_a_code(make_node, author, fields, code) -> None:
    org = await make_node("org")
    before = held(org)
    payload = {"delegate": author(40).did, "scope": ["briefs"], "expires_days": 30} | fields
    refused(await call(org, "POST", "/api/delegates/add", payload), 400, code)
    assert held(org) == before
    assert (await call(org, "GET", "/api/delegates")).json()["delegates"] == []


async def test_delegating_to_oneself_and_revoking_a_non_delegate_are_refused(
    make_node, author
) -> None:
    org = await make_node("org")
    before = held(org)
    payload = {"delegate": org.node.did, "scope": ["pay"], "expires_days": 30}
    refused(await call(org, "POST", "/api/delegates/add", payload), 400, "self_delegation")
    stranger = {"delegate": author(41).did}
    refused(await call(org, "POST", "/api/delegates/revoke", stranger), 400, "not_delegate")
    refused(await call(org, "POST", "/api/delegates/promote", stranger), 404, "not_found")
    assert held(org) == before
    assert (await org.client.get("/.well-known/guildnode")).status_code == 200


async def test_add_list_and_revoke_a_delegate(make_node, author) -> None:
    org = await make_node("org")
    staff = author(42)
    payload = {"delegate": staff.did, "scope": ["offers", "briefs"], "expires_days": 30}
    added = await call(org, "POST", "/api/delegates/add", payload)
    assert added.status_code == 200, added.text
    assert added.json()["record"]["kind"] == "delegate"
    assert added.json()["record"]["body"]["scope"] == ["offers", "briefs"]
    [grant] = (await call(org, "GET", "/api/delegates")).json()["delegates"]
    assert grant["delegate"] == staff.did and grant["status"] == "active"
    assert grant["scope"] == ["briefs", "offers"]
    revoked = await call(org, "POST", "/api/delegates/revoke", {"delegate": staff.did})
    assert revoked.status_code == 200, revoked.text
    # The org's node holds none of the staff key's chain: it revokes from its seq 1.
    assert revoked.json()["record"]["body"] == {"delegate": staff.did, "from_seq": 1}
    [grant] = (await call(org, "GET", "/api/delegates")).json()["delegates"]
    assert grant["status"] == "revoked" and grant["revoked_from_seq"] == 1
    again = await call(org, "POST", "/api/delegates/revoke", {"delegate": staff.did})
    refused(again, 400, "not_delegate")


async def test_a_staff_node_posts_for_an_organisation_only_within_its_grant(
    make_node, author
) -> None:
    staff = await make_node("staff")
    org = author(43)
    now = int(time.time())
    body = {"delegate": staff.node.did, "scope": ["offers"]}
    grant = org.next("delegate", body, created_at=now - 60, expires_at=now + 30 * DAY)
    [result] = await staff.inbox([grant.to_wire()], welcome=False)  # names the owner: a guest
    assert result["status"] == "accepted"
    before = held(staff)
    payload = BRIEF | {"organisation": org.did}
    refused(await call(staff, "POST", "/api/briefs", payload), 400, "outside_scope")
    other = BRIEF | {"organisation": author(44).did}
    refused(await call(staff, "POST", "/api/briefs", other), 400, "not_delegated")
    assert held(staff) == before
    state = (await call(staff, "GET", "/api/delegates")).json()
    assert [g["organisation"] for g in state["acting_for"]] == [org.did]

    body = {"delegate": staff.node.did, "scope": ["briefs"]}
    wider = org.next("delegate", body, created_at=now - 30, expires_at=now + DAY)
    assert [r["status"] for r in await staff.inbox([wider.to_wire()])] == ["accepted"]
    posted = await call(staff, "POST", "/api/briefs", payload)
    assert posted.status_code == 200, posted.text
    assert posted.json()["record"]["body"]["organisation"] == org.did
    shown = (await call(staff, "GET", f"/api/briefs/{posted.json()['id']}")).json()
    assert shown["author"] == org.did and shown["delegate"] == staff.node.did

    cut = org.next("undelegate", {"delegate": staff.node.did, "from_seq": 2}, created_at=now)
    assert [r["status"] for r in await staff.inbox([cut.to_wire()])] == ["accepted"]
    refused(await call(staff, "POST", "/api/briefs", payload), 400, "not_delegated")
    assert posted.json()["id"] in {b.id for b in staff.node.briefs()}  # seq 1 still counts


async def test_a_staff_node_refuses_to_post_for_an_organisation_once_its_grant_expired(
    make_node, author
) -> None:
    """SPEC §15.3, §15.6: a grant's period ends at its `expires`; after it, the staff node
    refuses to publish for the organisation (`not_delegated`) and stores nothing."""
    staff = await make_node("staff")
    org = author(45)
    now = int(time.time())
    body = {"delegate": staff.node.did, "scope": ["briefs"]}
    lapsed = org.next("delegate", body, created_at=now - 3 * DAY, expires_at=now - DAY)
    [result] = await staff.inbox([lapsed.to_wire()], welcome=False)
    assert result["status"] == "accepted"  # valid, just without effect now (§6.8)
    before = held(staff)
    payload = BRIEF | {"organisation": org.did}
    refused(await call(staff, "POST", "/api/briefs", payload), 400, "not_delegated")
    assert held(staff) == before
    [grant] = (await call(staff, "GET", "/api/delegates")).json()["acting_for"]
    assert grant["status"] == "expired"


async def test_delegations_without_effect_are_accepted_at_the_inbox(make_node, author) -> None:
    served = await make_node()
    org = author(45)
    served.node.vouch(org.did, level=2)
    records = [
        org.next("delegate", {"delegate": org.did, "scope": ["pay"]}),  # to itself, no expiry
        org.next(
            "delegate",
            {"delegate": author(46).did, "scope": ["briefs"]},
            expires_at=org.clock + 200 * DAY,
        ),
        org.next("undelegate", {"delegate": author(47).did, "from_seq": 9}),
    ]
    results = await served.inbox([r.to_wire() for r in records])
    assert [r["status"] for r in results] == ["accepted"] * 3
    assert served.node.delegations().grants == ()
    draft = org.next("delegate", {"delegate": author(46).did, "scope": ["pay"]}, seq=4,
                     prev=records[-1].id).to_wire()  # fmt: skip
    unsigned = {k: v for k, v in draft.items() if k != "sig"}
    unsigned["body"] = {**unsigned["body"], "scope": ["sign"]}
    bad = {**unsigned, "sig": encode_sig(org.identity.sign(canonical_bytes(unsigned)))}
    before = held(served)
    [result] = await served.inbox([bad])
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid_body"
    assert held(served) == before


def _offer(org: str, freelancer: str, now: int) -> dict[str, Any]:
    from guildnode.protocol import format_timestamp

    return {
        "brief": "cd" * 32,
        "organisation": org,
        "freelancer": freelancer,
        "scope": "Review the drivers.",
        "acceptance_criteria": ["A review"],
        "price": {"amount": 1000, "currency": "EUR"},
        "milestones": [{"title": "Review", "amount": 1000, "due": format_timestamp(now + DAY)}],
        "starts": format_timestamp(now),
        "ends": format_timestamp(now + 2 * DAY),
    }


@pytest.mark.parametrize("scope", [["offers"], ["briefs", "pay"]])
async def test_a_delegates_offer_counts_as_the_organisations_only_in_scope(
    make_node, author, scope
) -> None:
    from guildnode.protocol.sealed import seal

    clock = [float(int(time.time()))]
    org = await make_node("org", clock=lambda: clock[0])
    staff, freelancer = author(52), author(53)
    grant = {"delegate": staff.did, "scope": scope, "expires_days": 30}
    assert (await call(org, "POST", "/api/delegates/add", grant)).status_code == 200
    now = int(clock[0]) + 10  # within the grant's period
    clock[0] += 60  # and both records in the node's past
    inner = _offer(org.node.did, freelancer.did, now)
    body = seal(staff.identity, "offer", inner, [org.node.did, freelancer.did])
    offer = staff.next("offer", body, created_at=now, expires_at=now + DAY)
    accept = freelancer.next(
        "accept", seal(freelancer.identity, "accept", {"offer": offer.id}, [org.node.did]),
        created_at=now + 1,
    )  # fmt: skip
    results = await org.inbox([offer.to_wire(), accept.to_wire()], welcome=False)
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert org.node.market.unreadable() == {}  # sealed to org, freelancer and the delegate
    contracts = (await call(org, "GET", "/api/contracts")).json()["contracts"]
    if "offers" in scope:
        [contract] = contracts
        assert contract["id"] == offer.id and contract["state"] == "active"
        shown = (await call(org, "GET", f"/api/contracts/{offer.id}")).json()
        assert shown["organisation"] == org.node.did
        assert offer.id in org.node.market.evidence.parties()
        assert org.node.market.evidence.parties()[offer.id] == {org.node.did, freelancer.did}
    else:  # out of scope: the offer is the staff key's own, and it is not the organisation
        assert contracts == []
        assert offer.id not in org.node.market.evidence.parties()
