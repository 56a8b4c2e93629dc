"""The gig, a question to feedback: a question answered to all, proposals, an offer (and the
inbox it fills), a counter, acceptance, messages on the contract, a milestone, payment,
completion, blind feedback and the trust it leaves. Each step is settled on every
node: the parties read their contract, the others hold its sealed records and read nothing."""

from __future__ import annotations

from typing import Any

from .gig import PITCHES, SCOPE, Gig, Settled, contract_step, outsider, settle
from .member import Member
from .network import Network
from .summary import Story
from .talk import ask_about_the_brief, talk_on_the_contract, the_inbox

SKILL = "python"  # the brief's first skill: where trust from the gig shows


def _milestones(amount: int) -> list[dict[str, Any]]:
    """The gig's one milestone at `amount`: the offer's price, then the counter's."""
    return [{"title": "Dashboard, deployed and documented", "amount": amount, "due_days": 30}]


def _money(amount: int) -> str:
    return f"€{amount / 100:,.0f}"


async def play_gig(network: Network, story: Story, gig: Gig) -> None:
    """A question, proposals, an offer, a counter, acceptance, messages, a milestone, payment,
    completion, blind feedback and the trust it leaves — each step checked on every node."""
    org, ada, dev, viewer = gig.organisation, gig.freelancer, gig.rival, gig.viewer
    parts = {"organisation": org, "freelancer": ada, "rival": dev, "viewer": viewer}
    story.cast = {part: member.short for part, member in parts.items()}
    others = len(network.members) - 2

    def report(title: str, done: Settled, detail: str) -> None:
        story.record(title, done.ok, detail if done.ok else done.failed(), done.seen)

    def sealed(what: str) -> str:
        return f"{what} for {org.short} and {ada.short}; the other {others} hold it sealed"

    await ask_about_the_brief(gig, story)

    proposal = await gig.act(ada, "propose", brief=gig.brief, amount=380_000, currency="EUR",
                             pitch=PITCHES[0], duration_days=30)  # fmt: skip
    await gig.act(dev, "propose", brief=gig.brief, amount=320_000, currency="EUR",
                  pitch=PITCHES[1], duration_days=40)  # fmt: skip
    readers = {org.short: sorted([ada.short, dev.short]), ada.short: [ada.short],
               dev.short: [dev.short]}  # fmt: skip

    def proposed(member: Member, seen: dict[str, Any]) -> bool:
        return seen["proposals"] == readers.get(member.short, []) and outsider(seen)

    report(
        f"{ada.short} and {dev.short} proposed on the brief",
        await settle(gig, [ada, dev], proposed),
        f"{org.short} reads both pitches, each author their own; the other "
        f"{others - 1} hold them sealed",
    )

    gig.contract = await gig.act(
        org, "offer", proposal=proposal, scope=SCOPE, days=45,
        acceptance_criteria=["Runs on our server", "Updates daily", "Documented"],
        milestones=_milestones(350_000),
    )  # fmt: skip
    report(
        f"{org.name} offered {ada.short} a contract",
        await settle(gig, [org], contract_step(gig, "offered", price=350_000)),
        sealed(f"offered at {_money(350_000)}"),
    )
    await the_inbox(gig, story, ada, "offer", "the offer")

    counter = await gig.act(ada, "counter", offer=gig.contract, milestones=_milestones(380_000))
    report(
        f"{ada.short} countered at her proposed price",
        await settle(gig, [ada], contract_step(gig, "countered", price=380_000)),
        sealed(f"countered at {_money(380_000)}"),
    )

    await gig.act(org, "accept", offer=counter)
    report(
        f"{org.name} accepted the counter-offer",
        await settle(gig, [org], contract_step(gig, "active", price=380_000)),
        sealed(f"active at {_money(380_000)}"),
    )
    await talk_on_the_contract(gig, story)

    await gig.act(ada, "submit", contract=gig.contract, milestone=0, note="Live, with docs.")
    await ada.call("POST", "/api/sync")
    await gig.act(org, "approve", contract=gig.contract, milestone=0, note="Lovely work.")
    report(
        "a milestone submitted and approved",
        await settle(gig, [org], contract_step(gig, "active", milestone="approved")),
        sealed("milestone 1 approved"),
    )

    await gig.act(org, "paid", contract=gig.contract, milestone=0)
    await org.call("POST", "/api/sync")
    await gig.act(ada, "received", contract=gig.contract, milestone=0)
    paid = contract_step(gig, "active", milestone="paid", payment="on_time")
    report(
        "payment attested: paid and received",
        await settle(gig, [ada], paid),
        sealed("paid on time"),
    )

    await gig.act(ada, "complete", contract=gig.contract, note="Shipped.")
    receipts = {org.short: "on_time", ada.short: "on_time"}
    ended = contract_step(gig, "completed")

    def completed(member: Member, seen: dict[str, Any]) -> bool:
        on_time = seen["organisation_payments"]["on_time"] == 1
        return ended(member, seen) and seen["receipts"] == receipts and on_time

    # Each party's node publishes its receipt by itself once the contract has ended.
    report(
        "the contract completed; both receipts public",
        await settle(gig, [ada, org], completed),
        f"completed for {org.short} and {ada.short}; all {len(network.members)} nodes hold "
        f"both receipts and count {org.short}'s payment on time",
    )

    before = await viewer.call("GET", f"/api/trust/{ada.did}", params={"context": SKILL})
    # A client is trusted as a client, not in the brief's skills: her vouch is general.
    await gig.act(ada, "feedback", sealed=False, contract=gig.contract, rating=3,
                  scope_clarity=3, payment_promptness=3, skills=[],
                  statement="A clear brief, and paid the day I delivered.")  # fmt: skip

    def committed(member: Member, seen: dict[str, Any]) -> bool:
        return bool(seen["commitments"] == [ada.short] and not seen["feedback"])

    report(
        f"{ada.short} committed blind feedback",
        await settle(gig, [ada], committed),
        f"all {len(network.members)} nodes hold her commitment; no one can read it yet",
    )

    await gig.act(org, "feedback", sealed=False, contract=gig.contract, rating=3, quality=3,
                  communication=3, timeliness=3,
                  statement="A dashboard the whole studio reads. Early, too.")  # fmt: skip
    ratings = {org.short: 3, ada.short: 3}

    def revealed(member: Member, seen: dict[str, Any]) -> bool:
        counts = not gig.is_party(member) or seen.get("feedback_counts") == sorted(ratings)
        both = seen["commitments"] == sorted(ratings) and seen["feedback"] == ratings
        return both and counts

    # Northwind's node reveals as it commits (it holds Ada's commitment). Ada's node reveals
    # by itself when Northwind's commitment arrives, pushed by Northwind's "sync now"; her
    # "sync now" then pushes her reveal.
    report(
        f"{org.short} committed too; both nodes revealed by themselves",
        await settle(gig, [org, ada], revealed),
        f"all {len(network.members)} nodes hold both reveals, rated 3 of 3 each way",
    )

    after = await viewer.call("GET", f"/api/trust/{ada.did}", params={"context": SKILL})
    backed = [p["words"] for p in after["paths"] if "backed by a contract" in p["words"]]
    # In the default cast she climbs from unranked; with more freelancers she may already
    # rank where she ends up, so the check is on trust, and on rank only that it did not fall.
    kept = after["rank"] is not None and (before["rank"] is None or after["rank"] <= before["rank"])
    story.record(
        f"trust updated: {viewer.short}'s node trusts {ada.short} more in {SKILL}",
        kept and after["score"] > before["score"] and bool(backed),
        f"{_rank(before)} → {_rank(after)}; " + (backed[0] if backed else "no path cites it"),
        {viewer.short: {"before": _trust(before), "after": _trust(after), "paths": backed}},
    )


def _trust(view: dict[str, Any]) -> dict[str, Any]:
    return {"rank": view["rank"], "relative": view["relative"], "known": view["known"]}


def _rank(view: dict[str, Any]) -> str:
    if view["rank"] is None:
        return "unranked"
    return f"#{view['rank']} of {view['known']} (relative trust {view['relative']:.3f})"
