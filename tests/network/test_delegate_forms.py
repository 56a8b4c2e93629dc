"""SPEC §15.4, §15.6 in the staff member's web UI, three nodes in one process: the staff node
offers Fay a contract for Northwind from the page of the brief it posted for it; on that
contract (its first offer the staff node's), the contract page shows the forms
Northwind would see — counter, approve, mark paid — only within the grants in force, each
acting for Northwind through `actions.run`; what is withheld (outside the scope, revoked,
expired) shows no form and a line saying why, and the same POST made anyway is refused with
the code and stores nothing, as are the steps no scope delegates (`not_a_party`). Chains are
delivered by POST /inbox."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.network.test_delegates_network import call, deliver
from tests.node.test_ui import csrf_of, sign_in

pytestmark = pytest.mark.anyio

DAY = 86_400


async def page(served: Any, contract: str) -> str:
    response = await served.client.get(f"/contracts/{contract}")
    assert response.status_code == 200, response.text
    return response.text


def forms(html: str) -> set[str]:
    """The actions of the page's contract forms, as "approve 0" for a milestone's."""
    found = set()
    for form in re.finditer(r'<form method="post" action="/contracts/[0-9a-f]+/(\w+)"'
                            r'(?:(?!</form>).)*?</form>', html, re.S):  # fmt: skip
        index = re.search(r'name="milestone" value="(\d+)"', form.group(0))
        found.add(form.group(1) + (f" {index.group(1)}" if index else ""))
    return found


def withheld(html: str) -> list[str]:
    lines = re.findall(r'class="meta withheld">([^<]*)', html)
    return [re.sub(r"\s+", " ", line) for line in lines]


def offer(html: str, proposal: str) -> dict[str, str]:
    """The brief page's offer form, filled in: two milestones, 10 and 20 EUR."""
    return {"csrftoken": csrf_of(html), "proposal": proposal, "scope": "Review.",
            "criteria": "Done", "milestones": "Review | 10 | 5\nFix | 20 | 9", "days": "30",
            "respond_days": "7"}  # fmt: skip


def said(html: str) -> str:
    """The refusal the page shows above its forms: its sentence and code."""
    found = re.search(r'class="error form-error" role="alert">([^<]+)</p>', html)
    assert found, html
    return re.sub(r"\s+", " ", found.group(1))


async def call_get(served: Any, path: str) -> Any:
    response = await served.client.get(path, headers=served.owner)
    assert response.status_code == 200, response.text
    return response.json()


async def act(served: Any, contract: str, action: str, fields: dict[str, str]) -> Any:
    token = csrf_of(await page(served, contract))
    return await served.client.post(
        f"/contracts/{contract}/{action}", data={"csrftoken": token, **fields}
    )


async def refused(served: Any, contract: str, action: str, milestone: int, words: str) -> None:
    """The POST of a form the page does not show: 400, the sentence and code on the page (the
    line the page shows instead of the form), nothing published."""
    head = served.node.store.head(served.node.did).seq
    answer = await act(served, contract, action, {"milestone": str(milestone)})
    assert answer.status_code == 400, answer.text
    assert said(answer.text) == words
    assert served.node.store.head(served.node.did).seq == head
    assert (await served.client.get("/.well-known/guildnode")).status_code == 200


async def test_a_staff_member_acts_for_the_organisation_only_within_its_grants(
    make_node,
) -> None:
    clock = [float(int(time.time()))]
    org, staff, fay = [await make_node(n, clock=lambda: clock[0]) for n in ("org", "staff", "fay")]
    o, s, f = org.node.did, staff.node.did, fay.node.did
    await call(org, "/api/profile", {"name": "Northwind", "organisation": True})
    await call(org, "/api/delegates/add", {"delegate": s, "scope": ["briefs", "offers", "approve"],
                                           "expires_days": 30})  # fmt: skip
    await later(clock, org, staff, o)
    brief = await call(staff, "/api/briefs", {
        "guilds": ["ab" * 32], "title": "Drivers", "description": "Review our drivers.",
        "acceptance_criteria": ["A review"], "budget_min": 1000, "budget_max": 5000,
        "currency": "EUR", "organisation": o,
    })  # fmt: skip
    await later(clock, org, fay, o)
    await later(clock, staff, fay, s)
    pitch = {"brief": brief["id"], "pitch": "I can.", "amount": 3000, "currency": "EUR",
             "duration_days": 9}  # fmt: skip
    proposal = await call(fay, "/api/work/propose", pitch)
    await later(clock, fay, staff, f)
    # The staff member offers on the brief it posted, for Northwind, from the brief's page.
    await sign_in(staff)
    board = await staff.client.get(f"/briefs/{brief['id']}")
    assert "You posted this brief for" in board.text and "Send the offer" in board.text
    offered = await staff.client.post(
        f"/briefs/{brief['id']}/offer", data=offer(board.text, proposal["id"])
    )
    assert offered.status_code == 303, offered.text
    contract = offered.headers["location"].rsplit("/", 1)[-1]
    assert staff.node.market.contract(contract).organisation == o
    await later(clock, staff, fay, s)
    shown = await page(staff, contract)
    assert "You act for" in shown and "as its delegate" in shown and f"/people/{o}" in shown
    assert forms(shown) == set()  # the offer is Northwind's own: the freelancer answers it

    # Fay counters; the staff page shows Northwind's counter form, and it counters for it.
    countered = await call(fay, "/api/work/counter", {"offer": contract, "scope": "Less."})
    await later(clock, fay, staff, f)
    assert forms(await page(staff, contract)) == {"counter"}
    back = await act(staff, contract, "counter", {
        "offer": countered["id"], "scope": "Review, as offered.",
        "milestones": "Review | 10 | 5\nFix | 20 | 9", "days": "30", "respond_days": "7",
    })  # fmt: skip
    assert back.status_code == 303, back.text
    [answer] = [e for e in staff.node.market.events() if e.author == o and e.kind == "offer"
                and e.body.get("answers") == countered["id"]]  # fmt: skip
    assert answer.body["scope"] == "Review, as offered."
    await later(clock, staff, fay, s)
    await call(fay, "/api/work/accept", {"offer": answer.id})
    for index in (1, 2):
        clock[0] += 1
        await call(fay, "/api/work/submit", {"contract": contract, "milestone": index - 1})
    await later(clock, fay, staff, f)

    # Both approvals are in scope; paying is not: no form, a line why, and a forced POST refused.
    outside = (
        "Your delegation from Northwind does not cover marking payments. Only Northwind can do "
        "this now. (outside_scope)"
    )
    shown = await page(staff, contract)
    assert forms(shown) == {"approve 0", "approve 1"}
    assert withheld(shown) == [outside] * 2  # one line a milestone
    approved = await act(staff, contract, "approve", {"milestone": "0", "note": "Good."})
    assert approved.status_code == 303, approved.text
    clock[0] += 1
    shown = await page(staff, contract)
    assert "You approved milestone 1 for Northwind." in shown
    assert forms(shown) == {"approve 1"}
    assert withheld(shown) == [outside] * 2
    await refused(staff, contract, "paid", 0, outside)
    await later(clock, staff, org, s)
    await later(clock, fay, org, f)
    seen = (await org.client.get(f"/api/contracts/{contract}", headers=org.owner)).json()
    assert [m["status"] for m in seen["milestones"]] == ["approved", "submitted"]

    # Revoked: no form for milestone 2, the reason instead, and a forced approval refused.
    await call(org, "/api/delegates/revoke", {"delegate": s})
    await later(clock, org, staff, o)
    shown = await page(staff, contract)
    assert forms(shown) == set()
    revoked = "Northwind revoked your delegation. Only Northwind can do this now. (not_delegated)"
    assert withheld(shown) == [revoked] * 2  # paying milestone 1; approving, paying milestone 2
    await refused(staff, contract, "approve", 1, revoked)
    # …and no offer form on the brief either: the same line, and the same refusal.
    board = await staff.client.get(f"/briefs/{brief['id']}")
    assert (
        withheld(board.text) == [f"No offers from here: {revoked}"]
        and "Send the offer" not in board.text
    )
    head = staff.node.store.head(s).seq
    again = await staff.client.post(
        f"/briefs/{brief['id']}/offer", data=offer(board.text, proposal["id"])
    )
    assert again.status_code == 400 and said(again.text) == revoked
    assert staff.node.store.head(s).seq == head

    # A new grant restores the form; once it expires, it is gone again and the POST refused.
    await call(org, "/api/delegates/add", {"delegate": s, "scope": ["approve", "pay"],
                                           "expires_days": 1})  # fmt: skip
    await later(clock, org, staff, o)
    assert forms(await page(staff, contract)) == {"paid 0", "approve 1", "paid 1"}
    ends = (await call_get(staff, "/api/delegates"))["acting_for"][-1]["expires"]
    clock[0] += 2 * DAY
    await sign_in(staff)  # the session, too, has ended
    shown = await page(staff, contract)
    assert forms(shown) == set()
    expired = (
        f"Your delegation from Northwind expired on {ends[:10]}. Only Northwind can do this "
        "now. (not_delegated)"
    )
    assert withheld(shown) == [expired] * 2
    await refused(staff, contract, "approve", 1, expired)
    await refused(staff, contract, "paid", 0, expired)
    # Steps no scope delegates are the staff key's own, and it is no party to the contract.
    head = staff.node.store.head(s).seq
    own = (("complete", {}), ("cancel", {"reason": "No."}), ("received", {"milestone": "0"}))
    for action, fields in own:
        answer = await act(staff, contract, action, fields)
        assert answer.status_code == 400, action
        assert said(answer.text).endswith("You are not a party to that contract. (not_a_party)")
    assert staff.node.store.head(s).seq == head
    for each in (org, staff, fay):
        await each.federation.flush()


async def later(clock: list[float], source: Any, target: Any, did: str) -> None:
    """Deliver `did`'s chain, then let a second pass: a step of the same second as the last
    record of its contract would be `too_soon` (SPEC §12.3)."""
    await deliver(source, target, did)
    clock[0] += 1
