"""The story up to the gig: nodes peered, freelancers vouching for one another, a guild
founded and filled, the organisation vouched for, and its brief posted to the guild — each
step checked on the nodes that should see it. With the brief on every member's board, the
gig follows (`gig_steps`), then what it leaves (`afterwards`): the guild amending its
purpose by vote, and the freelancer's credentials, verified offline; and last a second
contract that ends in a dispute (`dispute`)."""

from __future__ import annotations

from .afterwards import amend_the_purpose, carry_the_credentials
from .dispute import dispute_a_second_contract
from .gig import Gig
from .gig_steps import play_gig
from .member import Member
from .network import Network
from .summary import Story


async def vouch(voucher: Member, subject: Member, level: int, context: str, statement: str) -> None:
    body = {"subject": subject.did, "level": level, "context": context, "statement": statement}
    await voucher.call("POST", "/api/vouch", json=body)


async def play(network: Network, story: Story) -> None:
    """The story, step by step, each checked where it should show."""
    org = network.organisation
    people = network.freelancers
    ada, bram, chiara, dev = people[0], people[1], people[2], people[3]
    newcomers = people[2:]

    for member in network.members:
        await member.call(
            "POST",
            "/api/profile",
            json={"name": member.name, "organisation": member.organisation, "skills": member.skills,
                  "endpoints": [member.url]},
        )  # fmt: skip
    for member in network.members:
        for other in network.members:
            if other is not member:
                await member.call("POST", "/api/peers", json={"url": other.url})
    story.record(
        "nodes started and peered",
        True,
        f"{len(network.members)} nodes on 127.0.0.1, each peered with every other",
    )

    pairs = [(people[i], people[(i + 1) % len(people)]) for i in range(len(people))]
    for a, b in pairs:
        skill = next((s for s in a.skills if s in b.skills), b.skills[0])
        await vouch(a, b, 2, skill, f"Worked with {b.short} on {skill}.")
        await vouch(b, a, 2, skill, f"{a.short} delivers.")
    await network.sync()
    received = (await chiara.call("GET", f"/api/trust/{bram.did}"))["rank"]
    story.record(
        "freelancers vouched for one another",
        received is not None,
        f"{2 * len(pairs)} vouches; Chiara's node ranks Bram #{received}",
    )

    charter = await ada.call(
        "POST",
        "/api/guilds",
        json={"name": "Riverside Makers Guild", "purpose": "Designers and developers who ship.",
              "vouches_required": 2, "cofounders": [bram.did], "skills": ["design", "python"],
              "cooling_days": 0},
    )  # fmt: skip
    guild_id = charter["id"]
    await network.sync()
    await bram.call("POST", f"/api/guilds/{guild_id}/apply", json={"note": "Co-founding."})
    story.record("Ada and Bram founded a guild", True, f"Riverside Makers Guild ({guild_id[:12]}…)")

    # The founders vouch for each newcomer in the guild's context first: a vouch for her puts
    # its author in her node's scope (SPEC §9.7), so her node holds the charter she applies
    # to however far the founders are from her in the ring of vouches.
    for newcomer in newcomers:
        for founder in (ada, bram):
            await vouch(founder, newcomer, 2, f"guild:{guild_id}", "Welcome.")
    await network.sync()
    for newcomer in newcomers:
        await newcomer.call("POST", f"/api/guilds/{guild_id}/apply", json={"note": "Hello!"})
    await network.sync()
    views = {}
    for member in people:
        view = await member.call("GET", f"/api/guilds/{guild_id}")
        views[member.short] = {m["did"] for m in view["members"]}
    expected = {m.did for m in people}
    names = {m.did: m.short for m in network.members}
    everywhere = all(seen == expected for seen in views.values())
    story.record(
        "others applied and were admitted",
        everywhere,
        f"{len(expected)} members, the same on all {len(people)} freelancers' nodes"
        if everywhere
        else f"membership differs: {', '.join(f'{k} sees {len(v)}' for k, v in views.items())}",
        {k: {"members": sorted(names.get(did, did) for did in v)} for k, v in views.items()},
    )

    await vouch(dev, org, 2, f"guild:{guild_id}", "Northwind pays on time.")
    # Chiara knows the studio from before: a general vouch, so her trust reaches it (and,
    # once it has hired someone and said how it went, whoever it vouches for).
    await chiara.call(
        "POST",
        "/api/vouch",
        json={"subject": org.did, "level": 2, "statement": "Worked with their studio before."},
    )
    await network.sync()
    org_trust = await ada.call(
        "GET", f"/api/trust/{org.did}", params={"context": f"guild:{guild_id}"}
    )
    known = await chiara.call("GET", f"/api/trust/{org.did}")
    story.record(
        "a member vouched for Northwind Studio",
        org_trust["score"] > 0 and known["rank"] is not None,
        f"Ada's node: {org_trust['paths'][0]['words'] if org_trust['paths'] else 'no path'}; "
        f"{chiara.short}, who worked with them before, ranks them #{known['rank']}",
    )

    brief = await org.call(
        "POST",
        "/api/briefs",
        json={
            "guilds": [guild_id],
            "title": "A data dashboard for our studio",
            "description": "Turn our project data into a dashboard the whole studio can read.",
            "acceptance_criteria": ["Runs on our server", "Updates daily", "Documented"],
            "budget_min": 300_000,
            "budget_max": 450_000,
            "currency": "EUR",
            "skills": ["python", "data"],
            "deadline_days": 45,
            "expires_days": 14,
        },
    )
    await network.sync()
    seen = []
    for member in people:
        listed = await member.call("GET", "/api/briefs", params={"guild": guild_id})
        if any(b["id"] == brief["id"] for b in listed["briefs"]):
            seen.append(member.short)
    top = (await ada.call("GET", "/api/briefs"))["briefs"]
    story.record(
        "Northwind Studio posted a brief to the guild",
        len(seen) == len(people),
        f"seen by {len(seen)} of {len(people)} members; first on Ada's board, matching "
        f"{', '.join(top[0]['matches_my_skills']) if top else 'nothing'}",
        {m.short: {"brief": m.short in seen} for m in people},
    )
    if len(seen) == len(people):  # without the brief, there is no gig to play
        gig = Gig(network, brief["id"], ada, dev, chiara)
        await play_gig(network, story, gig)
        # Ada's motion and just enough yeses for a majority; Dev votes no.
        voters = [p for p in people if p not in (ada, dev)][: len(people) // 2]
        await amend_the_purpose(gig, story, guild_id, yes=voters, no=[dev])
        await carry_the_credentials(gig, story)
        await dispute_a_second_contract(network, story, guild_id, bram, dev, mediator=chiara)
