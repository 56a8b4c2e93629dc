"""Notifications (SPEC §9.11, **Notifications**) on two nodes in one process: each kind
appears on the node of the owner it waits on, through `GET /api/notifications`, and goes
away when that owner acts — or when time ends the chance. A clock the test moves, shared by
both nodes, stands for the days that pass; sync is push and "sync now".

    Northwind (organisation)      Fay (freelancer, founder of the guild "Weavers")
"""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any

import httpx
import pytest

from guildnode import notices
from tests.node.test_disputes import gig
from tests.node.test_work import Clock, sync

pytestmark = pytest.mark.anyio


async def inbox(served: Any) -> list[dict[str, Any]]:
    answer = await served.client.get("/api/notifications", headers=served.owner)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["count"] == len(data["notices"])
    return data["notices"]  # type: ignore[no-any-return]


async def kinds(served: Any) -> list[str]:
    return [n["kind"] for n in await inbox(served)]


async def only(served: Any, kind: str) -> dict[str, Any]:
    """The one notice waiting on `served`, which is of `kind`."""
    found = await inbox(served)
    assert [n["kind"] for n in found] == [kind], found
    notice = found[0]
    assert notice["title"] and notice["action"] and notice["link"].startswith("/")
    return notice


async def work(served: Any, action: str, *others: Any, **fields: Any) -> str:
    answer = await served.client.post(f"/api/work/{action}", json=fields, headers=served.owner)
    assert answer.status_code == 200, answer.text
    await sync(served, *others)
    return str(answer.json()["id"])


async def the_page_shows(served: Any, notice: dict[str, Any]) -> None:
    """The owner's Notifications page lists `notice` with its link, the header's badge
    counts it, and the link's anchor is on the page it leads to."""
    issued = await served.client.post("/api/ui/login-link", headers=served.owner)
    token = httpx.URL(issued.json()["url"]).params["token"]
    assert (await served.client.get("/login", params={"token": token})).status_code == 303
    page = (await served.client.get("/notifications")).text
    assert f'<li data-key="{notice["key"]}"' in page
    assert f'<a href="{html.escape(notice["link"])}">' in page
    assert '<span class="badge" data-notice-count>1</span>' in page
    path, _, anchor = notice["link"].partition("#")
    assert f'id="{anchor}"' in (await served.client.get(path)).text
    served.client.cookies.clear()
    assert (await served.client.get("/notifications")).headers["location"] == "/login"
    refused = await served.client.get("/notifications/stream")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


async def test_each_notification_appears_and_goes_when_acted_on(make_node: Any) -> None:
    clock = Clock()
    org = await make_node("org", clock=clock)
    fay = await make_node("fay", clock=clock)
    org.node.set_profile(name="Northwind", organisation=True)
    fay.node.set_profile(name="Fay", skills=["rust"])
    await org.federation.add_peer(fay.url)
    await fay.federation.add_peer(org.url)
    org.node.vouch(fay.node.did, level=2)  # Northwind knows Fay: it replicates her feed
    guild = fay.node.found_guild("Weavers", "Looms", vouches_required=1, cooling_days=0).id
    await sync(org, fay)
    assert await kinds(org) == [] and await kinds(fay) == []

    # A guild application: waits on the member, not on the applicant.
    org.node.apply_guild(guild)
    await sync(fay, org)
    notice = await only(fay, "application")
    assert notice["key"] == f"application:{guild}:{org.node.did}"
    assert notice["link"] == f"/guilds/{guild}#applicant-{org.node.did}"
    assert "Northwind" in notice["title"] and "Weavers" in notice["title"]
    await the_page_shows(fay, notice)
    assert await kinds(org) == []
    fay.node.vouch(org.node.did, level=2, context=f"guild:{guild}")  # also carries its briefs
    await sync(fay, org)
    assert await kinds(fay) == []

    # A proposal on the organisation's brief.
    brief = org.node.post_brief(
        guilds=[guild], title="Port a parser", description="In Rust.",
        acceptance_criteria=["Tests pass"], budget_min=1_000, budget_max=9_000,
        currency="EUR", skills=["rust"], expires_days=14,
    ).id  # fmt: skip
    await sync(org, fay)
    proposal = await work(
        fay, "propose", org, brief=brief, pitch="I can", amount=5_000, currency="EUR",
        duration_days=9,
    )  # fmt: skip
    notice = await only(org, "proposal")
    assert notice["key"] == f"proposal:{proposal}"
    assert notice["link"] == f"/briefs/{brief}#proposal-{proposal}"
    assert "Fay" in notice["title"] and "Port a parser" in notice["title"]
    assert await kinds(fay) == []
    await the_page_shows(org, notice)

    # An offer answers the proposal, and waits on the freelancer.
    contract = await work(
        org, "offer", fay, proposal=proposal, scope="The parser",
        acceptance_criteria=["Tests pass"], days=10,
        milestones=[{"title": "All of it", "amount": 5_000, "due_days": 7}],
    )  # fmt: skip
    assert await kinds(org) == []
    notice = await only(fay, "offer")
    assert notice["key"] == f"offer:{contract}"
    assert notice["link"] == f"/contracts/{contract}#answer"
    await the_page_shows(fay, notice)

    # A counter-offer moves it back to the organisation.
    counter = await work(
        fay, "counter", org, offer=contract,
        milestones=[{"title": "All of it", "amount": 6_000, "due_days": 7}],
    )  # fmt: skip
    assert await kinds(fay) == []
    notice = await only(org, "counter")
    assert notice["key"] == f"counter:{counter}"
    assert notice["link"] == f"/contracts/{contract}#answer"
    await work(org, "accept", fay, offer=counter)
    assert await kinds(org) == [] and await kinds(fay) == []

    # A submitted milestone waits on the organisation's approval.
    await work(fay, "submit", org, contract=contract, milestone=0)
    notice = await only(org, "milestone")
    assert notice["key"] == f"milestone:{contract}:0"
    assert notice["link"] == f"/contracts/{contract}#milestone-1"
    await the_page_shows(org, notice)
    await work(org, "approve", fay, contract=contract, milestone=0)
    assert await kinds(org) == []

    # A payment marked paid waits on the freelancer's confirmation.
    await work(org, "paid", fay, contract=contract, milestone=0)
    notice = await only(fay, "payment")
    assert notice["key"] == f"payment:{contract}:0"
    assert notice["link"] == f"/contracts/{contract}#milestone-1"
    await work(fay, "received", org, contract=contract, milestone=0)
    assert await kinds(fay) == []

    # Once it has ended and the freelancer has given feedback, the organisation's window runs.
    await work(fay, "complete", org, contract=contract)
    assert await kinds(org) == []  # nobody has committed yet: nothing closes
    await work(fay, "feedback", org, contract=contract, rating=3)
    notice = await only(org, "feedback")
    assert notice["key"] == f"feedback:{contract}"
    assert notice["link"] == f"/contracts/{contract}#feedback"
    assert "14 days" in notice["title"]
    await the_page_shows(org, notice)
    clock.advance(13)
    assert "1 day" in (await only(org, "feedback"))["title"]
    await work(org, "feedback", fay, contract=contract, rating=3)
    assert await kinds(org) == [] and await kinds(fay) == []


async def test_notifications_go_when_time_ends_the_chance(make_node: Any) -> None:
    """An offer that expires and a feedback window that closes stop waiting on the owner."""
    clock = Clock()
    org = await make_node("org", clock=clock)
    fay = await make_node("fay", clock=clock)
    org.node.set_profile(name="Northwind", organisation=True)
    await org.federation.add_peer(fay.url)
    await fay.federation.add_peer(org.url)
    fay.node.vouch(org.node.did, level=2)
    org.node.vouch(fay.node.did, level=2)
    guild = "ab" * 32
    brief = org.node.post_brief(
        guilds=[guild], title="Two jobs", description="Both small.",
        acceptance_criteria=["Done"], budget_min=1_000, budget_max=9_000,
        currency="EUR", skills=["rust"], expires_days=14,
    ).id  # fmt: skip
    await sync(org, fay)
    first = await work(
        fay, "propose", org, brief=brief, pitch="One", amount=1_000, currency="EUR",
        duration_days=3,
    )  # fmt: skip
    second = await work(
        fay, "propose", org, brief=brief, pitch="Two", amount=1_000, currency="EUR",
        duration_days=3,
    )  # fmt: skip
    assert sorted(await kinds(org)) == ["proposal", "proposal"]
    milestones = [{"title": "It", "amount": 1_000, "due_days": 2}]
    lapsing = await work(
        org, "offer", fay, proposal=first, scope="One", acceptance_criteria=["Done"],
        milestones=milestones, days=5, respond_days=1,
    )  # fmt: skip
    kept = await work(
        org, "offer", fay, proposal=second, scope="Two", acceptance_criteria=["Done"],
        milestones=milestones, days=5, respond_days=7,
    )  # fmt: skip
    assert {n["key"] for n in await inbox(fay)} == {f"offer:{lapsing}", f"offer:{kept}"}

    clock.advance(2)  # the first offer expires unanswered
    assert {n["key"] for n in await inbox(fay)} == {f"offer:{kept}"}

    await work(fay, "accept", org, offer=kept)
    await work(fay, "submit", org, contract=kept, milestone=0)
    await work(org, "approve", fay, contract=kept, milestone=0)
    await work(org, "paid", fay, contract=kept, milestone=0)
    await work(fay, "received", org, contract=kept, milestone=0)
    await work(fay, "complete", org, contract=kept)
    await work(org, "feedback", fay, contract=kept, rating=2)
    assert await kinds(fay) == ["feedback"]
    clock.advance(14)  # Northwind's feedback is revealed without Fay's
    assert await kinds(fay) == []


async def post(served: Any, path: str, *others: Any, **fields: Any) -> dict[str, Any]:
    answer = await served.client.post(path, json=fields, headers=served.owner)
    assert answer.status_code == 200, answer.text
    await sync(served, *others)
    return answer.json()  # type: ignore[no-any-return]


async def next_notices(stream: Any) -> dict[str, Any]:
    """The next `notices` event of a live stream, skipping heartbeats; within 5 seconds,
    far less than a heartbeat (15 s), so only a wake can have sent it."""
    while True:
        chunk = await asyncio.wait_for(anext(stream), 5)
        if chunk.startswith("event: notices"):
            return json.loads(chunk.strip().split("\n")[1].removeprefix("data: "))  # type: ignore[no-any-return]


async def test_messages_disputes_and_motions_wait_on_the_owner_until_acted_on(
    make_node: Any,
) -> None:
    """Unread messages, a dispute to mediate or answer, a motion to vote on (SPEC §9.11)."""
    clock = Clock()
    org, fay, mia, guild, contract = await gig(make_node, clock=clock)
    everyone = (org, fay, mia)
    for served in everyone:
        assert await kinds(served) == []

    # A message from the other party waits until its thread is read: opening its page reads it.
    thread = (await post(fay, "/api/thread/ask", org, on=contract, text="Oak or ash?"))["id"]
    notice = await only(org, "message")
    assert notice["key"] == f"message:{thread}"
    assert notice["link"] == f"/messages/{thread}#reply"
    assert "Fay" in notice["title"] and "1 new message" in notice["title"]
    assert await kinds(fay) == []  # her own message waits on no one but Northwind
    await the_page_shows(org, notice)  # … which opens the thread: read
    assert await kinds(org) == []

    # Read through the API (local read state only, no record): the live stream wakes.
    await post(org, "/api/thread/reply", fay, thread=thread, text="Oak.")
    await post(org, "/api/thread/reply", fay, thread=thread, text="Oiled.")
    notice = await only(fay, "message")
    assert notice["key"] == f"message:{thread}" and "2 new messages" in notice["title"]
    stream = fay.app.state.live.events(lambda: notices.inbox(fay.node), lambda: 0)
    assert await anext(stream) == "retry: 3000\n\n"
    assert (await next_notices(stream))["count"] == 1
    held = fay.node.store.count()
    await post(fay, "/api/thread/read", thread=thread)
    assert await next_notices(stream) == {"count": 0, "notices": []}
    assert fay.node.store.count() == held
    await stream.aclose()

    # A dispute waits on its mediator until an outcome counts, and on the party it was
    # opened against until it discloses its records (or an outcome counts).
    dispute = await work(fay, "dispute", org, mia, contract=contract, guild=guild,
                         mediators=[mia.node.did], statement="The scope crept")  # fmt: skip
    assert await kinds(fay) == []
    notice = await only(mia, "dispute")
    assert notice["key"] == f"dispute:{dispute}"
    assert notice["link"] == f"/disputes/{dispute}#decide"
    assert "Fay" in notice["title"]
    await the_page_shows(mia, notice)
    notice = await only(org, "dispute")
    assert notice["key"] == f"dispute:{dispute}"
    assert notice["link"] == f"/contracts/{contract}#disputes"
    await the_page_shows(org, notice)
    await work(org, "disclose", fay, mia, dispute=dispute, records=[contract])
    assert await kinds(org) == []
    assert await kinds(mia) == ["dispute"]
    await work(mia, "outcome", org, fay, dispute=dispute, finding="Agreed", payment="on_time")
    for served in everyone:
        assert await kinds(served) == []

    # An open motion waits on each member who may still vote; not on its proposer.
    renamed = {"name": "Makers and Menders"}
    proposed = await post(fay, f"/api/guilds/{guild}/motions", org, mia, action="amend",
                          changes=renamed)  # fmt: skip
    motion = proposed["id"]
    assert await kinds(fay) == []
    for served in (org, mia):
        notice = await only(served, "motion")
        assert notice["key"] == f"motion:{motion}"
        assert notice["link"] == f"/guilds/{guild}#motion-{motion}"
        assert "Fay" in notice["title"] and "Makers and Menders" in notice["title"]
    await the_page_shows(org, notice)
    await post(org, f"/api/motions/{motion}/vote", fay, mia, choice="no")
    assert await kinds(org) == []
    assert await kinds(mia) == ["motion"]
    clock.advance(8)  # the voting window (7 days) closes: Mia's chance has passed
    for served in everyone:
        assert await kinds(served) == []
