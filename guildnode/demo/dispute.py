"""A second, smaller contract that ends in a dispute (SPEC §17): a member hires another
through the guild, cancels after the work was delivered and before approving it, so both
receipts say nothing was due; the freelancer opens a dispute naming a third member as
mediator and shows her the offer and the submission; her outcome — delivered, never paid —
counts on every node, in the client's payment record."""

from __future__ import annotations

from typing import Any

from .gig import Settled, until
from .member import Member
from .network import Network
from .summary import Story

FINDING = "The deployment was delivered and working; it was never paid for."


async def dispute_a_second_contract(
    network: Network,
    story: Story,
    guild_id: str,
    client: Member,
    freelancer: Member,
    mediator: Member,
) -> None:
    """`client` hires `freelancer` and cancels after the delivery; `mediator` decides."""

    async def act(member: Member, action: str, **fields: Any) -> str:
        record_id = await member.act(action, **fields)
        await member.call("POST", "/api/sync")  # pushed at once: the next step is the other's
        return record_id

    brief = await client.call(
        "POST",
        "/api/briefs",
        json={"guilds": [guild_id], "title": "Deploy a client's site", "skills": ["devops"],
              "description": "Put a finished site on a client's server, with backups.",
              "acceptance_criteria": ["Live", "Backed up nightly"], "budget_min": 40_000,
              "budget_max": 60_000, "currency": "EUR", "expires_days": 7},
    )  # fmt: skip
    await client.call("POST", "/api/sync")
    proposal = await act(freelancer, "propose", brief=brief["id"], amount=50_000,
                         currency="EUR", pitch="A day's work.", duration_days=5)  # fmt: skip
    contract = await act(
        client, "offer", proposal=proposal, scope="The site, live and backed up.", days=10,
        acceptance_criteria=["Live", "Backed up nightly"],
        milestones=[{"title": "Deployed", "amount": 50_000, "due_days": 5}],
    )  # fmt: skip
    await act(freelancer, "accept", offer=contract)
    submitted = await act(freelancer, "submit", contract=contract, milestone=0, note="Live.")
    await act(client, "cancel", contract=contract, reason="The client went elsewhere.")
    await network.sync(1)  # both receipts out: the contract ended with nothing due
    dispute = await act(freelancer, "dispute", contract=contract, guild=guild_id,
                        mediators=[mediator.did],
                        statement="Delivered; cancelled unpaid.")  # fmt: skip
    await act(freelancer, "disclose", dispute=dispute, records=[contract, submitted])
    decided = await act(mediator, "outcome", dispute=dispute, finding=FINDING, payment="unpaid")

    async def look(member: Member) -> dict[str, Any]:
        trust = await member.call("GET", f"/api/trust/{client.did}")
        view = await member.find(f"/api/contracts/{contract}")  # the parties' only
        return {
            "state": view and view["state"],
            "unpaid": trust["payments"]["unpaid"],
            "decisions": [{"by": name(d["mediator"]), "payment": d["payment"],
                           "counts": d["counts"]}
                          for d in trust["decisions"] if d["id"] == decided],
        }  # fmt: skip

    def name(did: str) -> str:
        return next((m.short for m in network.members if m.did == did), did[:16])

    def counted(member: Member, seen: dict[str, Any]) -> bool:
        # The guild's members replicate one another's feeds (SPEC §9.7). The organisation,
        # no member, holds none of the client's records, so it is not asked.
        if member is network.organisation:
            return True
        party = member in (client, freelancer)
        outcome = {"by": mediator.short, "payment": "unpaid", "counts": True}
        return bool(
            seen["state"] == ("cancelled" if party else None)
            and seen["unpaid"] == 1
            and seen["decisions"] == [outcome]
        )

    done: Settled = await until(network, [mediator], counted, look)
    story.record(
        f"{freelancer.short} disputed a cancelled contract; {mediator.short}'s outcome counts",
        done.ok,
        f"{client.short} cancelled after the delivery; {mediator.short}, mediating for the "
        f"guild, found it unpaid; all {len(network.freelancers)} members' nodes count 1 unpaid "
        f"contract in {client.short}'s payment record"
        if done.ok
        else done.failed(),
        done.seen,
    )
