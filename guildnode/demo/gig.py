"""What the gig's steps share — who plays which part, the brief, the contract and every
sealed record so far — and how each step is checked: what one node holds and can read of
the gig (`observe`), delivered and looked at on every node until each sees what it should
(`settle`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .member import Member
from .network import Network

SCOPE = "A daily-updated dashboard of studio projects, on Northwind's own server."
PITCHES = (
    "I built Northwind's data pipeline; the dashboard sits on it.",
    "A Grafana setup, deployed and monitored.",
)
ROUNDS = 4  # "sync now" rounds a step may take to reach every node; each check says if it did


@dataclass
class Gig:
    """What the gig's steps share: who plays which part, and what has been published."""

    network: Network
    brief: str
    freelancer: Member  # she wins the contract
    rival: Member  # his proposal loses
    viewer: Member  # a third member, outside the contract: her trust shows the outcome
    contract: str = ""
    sealed: list[str] = field(default_factory=list)  # ids of every sealed record so far
    # What only the parties may read: no node holds it in the clear in any sealed record.
    secrets: list[str] = field(default_factory=lambda: [SCOPE, *PITCHES])

    @property
    def organisation(self) -> Member:
        return self.network.organisation

    @property
    def parties(self) -> list[Member]:
        return [self.organisation, self.freelancer]

    def is_party(self, member: Member) -> bool:
        return member in self.parties

    def name(self, did: str) -> str:
        return next((m.short for m in self.network.members if m.did == did), did[:16])

    async def act(self, member: Member, action: str, sealed: bool = True, **fields: Any) -> str:
        record_id = await member.act(action, **fields)
        if sealed:
            self.sealed.append(record_id)
        return record_id


async def observe(gig: Gig, member: Member) -> dict[str, Any]:
    """What one node holds and can read of the gig, through its owner's local API."""
    held = {r["id"]: r["record"] for r in (await member.call("GET", "/api/records"))["records"]}
    public = [
        r
        for r in held.values()
        if r["kind"] in ("receipt", "commit", "feedback")
        and r["body"].get("contract") == gig.contract
    ]
    proposals = await member.call("GET", "/api/proposals", params={"brief": gig.brief})
    org = gig.organisation
    payments = (await member.call("GET", f"/api/trust/{org.did}"))["payments"]
    seen: dict[str, Any] = {
        "proposals": sorted(gig.name(p["author"]) for p in proposals["proposals"]),
        "sealed_held": sum(1 for rid in gig.sealed if rid in held),
        "sealed_published": len(gig.sealed),
        # Sealed bodies: neither the scope nor a pitch is in any record's bytes, on any node.
        "secrets_in_clear": any(
            secret in json.dumps(held[rid], ensure_ascii=False)
            for rid in gig.sealed
            if rid in held
            for secret in gig.secrets
        ),
        "state": None,
        "receipts": {gig.name(r["author"]): r["body"]["payment"]
                     for r in public if r["kind"] == "receipt"},
        "commitments": sorted(gig.name(r["author"]) for r in public if r["kind"] == "commit"),
        "feedback": {gig.name(r["author"]): r["body"]["rating"]
                     for r in public if r["kind"] == "feedback"},
        "organisation_payments": payments,
    }  # fmt: skip
    view = await member.find(f"/api/contracts/{gig.contract}") if gig.contract else None
    if view is not None:
        seen |= {
            "state": view["state"],
            "price": view["price"]["amount"],
            "scope_readable": view["terms"].get("scope") == SCOPE,
            "milestone": view["milestones"][0]["status"],
            "payment": view["payment"],
            "feedback_counts": sorted(
                gig.name(f["author"]) for f in view["feedback"] if f["counts"]
            ),
        }
    return seen


Look = Callable[[Member], Awaitable[dict[str, Any]]]  # what one node shows of a step
Should = Callable[[Member, dict[str, Any]], bool]  # whether it is what that node should show


async def settle(
    gig: Gig,
    actors: list[Member],
    should: Should,
    look: Look | None = None,
) -> Settled:
    """`until` every node sees what it should of the gig (what `look` reads there; by
    default what it holds of the gig)."""
    return await until(gig.network, actors, should, look or (lambda m: observe(gig, m)))


async def until(
    network: Network,
    actors: list[Member],
    should: Should,
    look: Look,
) -> Settled:
    """Deliver the actors' new records — their "sync now" pushes what is queued to every
    peer, then pulls — and look at every node; where one has not seen what it should yet,
    run "sync now" everywhere and look again, at most ROUNDS times."""
    for actor in actors:
        await actor.call("POST", "/api/sync")
    for attempt in range(ROUNDS + 1):
        if attempt:
            await network.sync(1)
        seen = {m.short: await look(m) for m in network.members}
        missing = [m.short for m in network.members if not should(m, seen[m.short])]
        if not missing:
            break
    return Settled(seen, missing)


@dataclass(frozen=True)
class Settled:
    """A step's outcome: what each node saw, and the nodes that did not see what they should."""

    seen: dict[str, dict[str, Any]]
    missing: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing

    def failed(self) -> str:
        keep = ("proposals", "state", "sealed_held", "sealed_published", "milestone", "payment",
                "receipts", "commitments", "feedback", "feedback_counts", "threads", "answers",
                "charter", "motion", "unpaid", "decisions")  # fmt: skip
        return "not as expected on " + "; ".join(
            f"{name}: "
            + ", ".join(f"{k}={self.seen[name][k]}" for k in keep if k in self.seen[name])
            for name in self.missing
        )


def outsider(seen: dict[str, Any]) -> bool:
    """Outside the contract: holds every sealed record, reads none, has no contract."""
    return (
        seen["state"] is None
        and seen["sealed_held"] == seen["sealed_published"]
        and not seen["secrets_in_clear"]
    )


def contract_step(gig: Gig, state: str, **party: Any) -> Should:
    """The parties see the contract in `state` (and the `party` fields); outsiders hold its
    sealed records and see no contract."""

    def should(member: Member, seen: dict[str, Any]) -> bool:
        if not gig.is_party(member):
            return outsider(seen)
        return (
            seen["state"] == state
            and seen["scope_readable"]
            and not seen["secrets_in_clear"]
            and all(seen.get(key) == value for key, value in party.items())
        )

    return should
