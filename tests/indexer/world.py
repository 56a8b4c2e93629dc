"""Member nodes with something to index: profiles, listed and unlisted guilds, briefs."""

from __future__ import annotations

from typing import Any

from guildnode.protocol import VerifiedRecord


def listed_guild(served: Any, name: str, description: str, skills: list[str]) -> VerifiedRecord:
    """A charter of one founder with a listing (SPEC §6.4)."""
    node = served.node
    return node.publish(  # type: ignore[no-any-return]
        "guild",
        {
            "name": name,
            "purpose": f"{name}: freelancers who review each other's work.",
            "founders": [node.did],
            "admission": {"vouches_required": 1, "skills": skills},
            "listing": {
                "description": description,
                "skills": skills,
                "apply": "Ask a member for a vouch in the guild's context, then apply.",
            },
        },
    )


def brief(served: Any, guild: str, title: str, description: str, **terms: Any) -> VerifiedRecord:
    fields: dict[str, Any] = {
        "budget_min": 100_000,
        "budget_max": 200_000,
        "currency": "EUR",
        "skills": ["python"],
    } | terms
    return served.node.post_brief(  # type: ignore[no-any-return]
        guilds=[guild],
        title=title,
        description=description,
        acceptance_criteria=["Delivered and documented"],
        **fields,
    )


async def three_guilds(make_node: Any) -> dict[str, Any]:
    """Three member nodes, each the founder of a guild (c's unlisted) with a brief; each
    profile names its node as endpoint. Only `a` knows `c`: it vouches for c and syncs."""
    nodes = {name: await make_node(name) for name in ("a", "b", "c")}
    for name, served in nodes.items():
        served.node.set_profile(
            name=f"Member {name.upper()}",
            skills=["python", f"skill-{name}"],
            bio=f"Freelancer {name}, backend work.",
            endpoints=[served.url],
        )
    nodes["a"].guild = listed_guild(
        nodes["a"], "Python Cooperative", "Backend developers in Python.", ["python"]
    )
    nodes["b"].guild = listed_guild(
        nodes["b"], "Rust Embedded Guild", "Firmware and drivers in Rust.", ["rust"]
    )
    nodes["c"].guild = nodes["c"].node.found_guild(
        "Secret Society", "An unlisted guild of cartographers.", vouches_required=1
    )
    nodes["a"].brief = brief(
        nodes["a"], nodes["a"].guild.id, "Billing migration", "Move billing to Python 3.12."
    )
    nodes["b"].brief = brief(
        nodes["b"],
        nodes["b"].guild.id,
        "Motor controller firmware",
        "Write a motor controller driver for an STM32 board.",
        currency="USD",
        skills=["rust", "embedded"],
        budget_min=500_000,
        budget_max=900_000,
    )
    nodes["c"].brief = brief(
        nodes["c"], nodes["c"].guild.id, "Map archive", "Digitise a map archive of the harbour."
    )
    await nodes["a"].federation.add_peer(nodes["c"].url)
    nodes["a"].node.vouch(nodes["c"].node.did, level=2)
    await nodes["a"].federation.sync_all()
    assert nodes["a"].node.store.head(nodes["c"].node.did) is not None
    return nodes
