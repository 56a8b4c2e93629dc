"""Plain JSON views of the node's objects, shared by the local API and the CLI."""

from __future__ import annotations

from typing import Any

from .assembly import outcome_view
from .briefs import Brief, open_briefs
from .contracts import STATES, Contract, Milestone, pay_by
from .disputes import Outcome
from .errors import NodeError
from .guilds import Membership
from .mediation import Dispute
from .node import Node
from .protocol import VerifiedRecord, format_timestamp
from .trust import RESTART, Path


def published(record: VerifiedRecord) -> dict[str, Any]:
    """The answer to a publishing call: the new record and its id."""
    return {"id": record.id, "record": record.to_wire()}


def whoami(node: Node) -> dict[str, Any]:
    return {
        "did": node.did,
        "name": node.name,
        "url": node.public_url,
        "records": node.store.count(),
    }


def peer_view(row: dict[str, Any]) -> dict[str, Any]:
    """A peer as the CLI and UI show it."""
    return {key: row[key] for key in (
        "did", "url", "source", "added_at", "last_sync_at", "last_success_at", "last_error",
        "failures", "records_received", "rejections",
    )} | {"allow_private": bool(row["allow_private"])}  # fmt: skip


def display_name(node: Node, did: str) -> str:
    if did == node.did:
        return "you"
    profile = node.profile(did)
    return str(profile["name"]) if profile else did[:20] + "…"


def _ago(node: Node, created_at: int) -> str:
    days = max(0, (node.now() - created_at) // 86_400)
    return "today" if days == 0 else f"{days} day{'s' if days > 1 else ''} ago"


def context_name(node: Node, context: str) -> str:
    """A context as people read it: a guild by its name, a skill as it is."""
    if context.startswith("guild:"):
        charter = node.charters().get(context.removeprefix("guild:"))
        if charter is not None:
            return f"the guild {charter.name}"
    return context


def path_in_words(node: Node, path: Path) -> str:
    """ "you → Alice (level 3 in python, 40 days ago) → Bob (level 2, general, today)"."""
    words = [display_name(node, path.edges[0].vouch.author)]
    for edge in path.edges:
        vouch = edge.vouch
        where = f"in {context_name(node, vouch.context)}" if vouch.context else "general"
        words.append(
            f"{display_name(node, vouch.subject)} (level {vouch.level} {where}, "
            f"{_ago(node, vouch.created_at)}"
            + (", backed by a contract" if vouch.evidence else "")
            + ")"
        )
    return " → ".join(words)


def trust_of(node: Node, did: str, context: str | None) -> dict[str, Any]:
    """An identity's trust from the owner's point of view, with why."""
    node.check_did(did)
    view = node.trust_view(context)
    member = node.member(did)  # SPEC §14.6: an earlier key's trust is its member's
    score = view.score(member)
    return {
        "did": did,
        "member": member,
        "name": display_name(node, did),
        "context": context,
        "score": score,
        "relative": score / RESTART,  # the owner is 1.0
        "rank": view.rank(member),
        "known": len(view.ranked()),
        "blocked": did in node.store.blocked(),
        # How they paid, when they hired: contracts both parties' receipts agree on.
        "payments": node.market.evidence.payment_record(did),
        # Mediators' outcomes that count on their contracts (SPEC §17.4), public.
        "decisions": decisions(node, member),
        "paths": [
            {
                "strength": path.strength,
                "words": path_in_words(node, path),
                "vouches": [edge.vouch.id for edge in path.edges],
            }
            for path in view.paths(member)
        ],
    }


def people(node: Node, context: str | None, limit: int = 100) -> dict[str, Any]:
    view = node.trust_view(context)
    return {
        "context": context,
        "people": [
            {"rank": rank, "did": did, "name": display_name(node, did), "score": score,
             "relative": score / RESTART}
            for rank, (did, score) in enumerate(view.ranked()[:limit], start=1)
        ],
    }  # fmt: skip


def guild_view(node: Node, guild: Membership) -> dict[str, Any]:
    charter = guild.charter
    return {
        "id": charter.id,
        "name": charter.name,
        "purpose": charter.purpose,
        "author": charter.author,
        "founders": list(charter.founders),
        "vouches_required": charter.vouches_required,
        "cooling_days": charter.cooling_days,
        "skills": list(charter.skills),
        "valid": charter.is_valid(),
        "listing": dict(charter.listing) if charter.listing is not None else None,
        "you_are_member": guild.is_member(node.member(node.did)),
        "members": [
            {
                "did": did,
                "name": display_name(node, did),
                "since": since,
                "founder": did in guild.founders,
                "capacity": guild.capacity.get(did, 0),
            }
            for did, since in sorted(guild.members.items(), key=lambda item: (item[1], item[0]))
        ],
        "applicants": [
            {
                "did": did,
                "name": display_name(node, did),
                "vouchers": list(standing.vouchers),
                "had": len(standing.vouchers),
                "needed": standing.needed,
                "reached": standing.reached,
            }
            for did, standing in sorted(guild.applicants.items())
        ],
    }


def motions(node: Node, guild_id: str) -> dict[str, Any]:
    """A guild's motions, newest first, with what the owner may do on each (SPEC §12.5)."""
    governance = node.governance(guild_id)
    voted = node.assembly.voted(guild_id)
    shown = []
    for outcome in reversed(governance.outcomes):
        view = outcome_view(outcome, lambda did: display_name(node, did))
        view["you_may_vote"] = node.assembly.may_vote(outcome, voted)
        shown.append(view)
    return {"guild": guild_id, "name": governance.charter.name, "motions": shown}


def brief_view(node: Node, brief: Brief) -> dict[str, Any]:
    mine = set((node.profile() or {}).get("skills", []))
    return {
        "id": brief.id,
        "author": brief.author,
        "organisation": display_name(node, brief.author),
        "created_at": brief.created_at,
        "expires_at": brief.expires_at,
        "open": brief.is_open(node.now()),
        "problem": brief.problem(),
        "matches_my_skills": sorted(mine & set(brief.skills)),
        "guilds": [
            {"id": g, "name": node.charters()[g].name if g in node.charters() else None}
            for g in brief.guilds
        ],
        # SPEC §15.4: a delegate's brief is the organisation's; who posted it is shown too.
        "delegate": brief.delegate,
        **{k: v for k, v in brief.body.items() if k not in ("guilds", "organisation")},
    }


def briefs(node: Node, guild: str | None, skill: str | None) -> dict[str, Any]:
    found = open_briefs(
        node.briefs(),
        now=node.now(),
        guild=guild,
        skill=skill,
        my_skills=(node.profile() or {}).get("skills", []),
    )
    return {"briefs": [brief_view(node, b) for b in found]}


# -- work: proposals and contracts ------------------------------------------------------


def proposals(node: Node, brief: str | None) -> dict[str, Any]:
    """Proposals the owner sent or received, newest first."""
    briefs = {b.id: b for b in node.briefs()}
    pitches = {e.id: e.body["pitch"] for e in node.market.events() if e.kind == "proposal"}
    found = []
    for p in reversed(node.market.proposals(brief)):
        held = briefs.get(p.brief)
        to = held.author if held else None
        found.append(
            {
                "id": p.id,
                "brief": p.brief,
                "brief_title": held.body["title"] if held else None,
                "author": p.author,
                "from": display_name(node, p.author),
                "to": display_name(node, to) if to else None,
                "price": p.price,
                "duration_days": p.duration_days,
                "available_from": p.available_from,
                "pitch": pitches[p.id],
                "created_at": p.created_at,
                "expires_at": p.expires_at,
                "open": p.status == "open",
                "status": p.status,
                "problem": p.problem[1] if p.problem else None,
            }
        )
    return {"proposals": found}


def _problem(problem: tuple[str, str] | None) -> str | None:
    return f"{problem[1]} ({problem[0]})" if problem else None


def contract_summary(
    node: Node, contract: Contract, briefs: dict[str, Brief] | None = None
) -> dict[str, Any]:
    """A contract in a line's worth of fields; `briefs` (by id) saves reading them again."""
    if briefs is None:
        briefs = {b.id: b for b in node.briefs()}
    brief = briefs.get(contract.brief)
    me = node.did
    committed = contract.ended_at is not None and any(
        c.author == me for c in node.market.evidence.commits(contract.id)
    )
    other = contract.freelancer if me == contract.organisation else contract.organisation
    return {
        "id": contract.id,
        "state": contract.state,
        "brief": contract.brief,
        "title": brief.body["title"] if brief else f"brief {contract.brief[:12]}",
        "organisation": contract.organisation,
        "freelancer": contract.freelancer,
        "role": "organisation" if me == contract.organisation else "freelancer",
        "counterpart": display_name(node, other),
        "counterpart_did": other,
        "price": contract.terms.get("price"),
        "ended_at": contract.ended_at,
        "payment": _payment_words(contract, node.now()),
        "actions": [
            action
            for action in node.market.ledger.actions(contract, me, node.now())
            if action != "feedback" or not committed
        ],
    }


def _payment_words(contract: Contract, now: int) -> str:
    """The contract's payment status, with "due" while an approved milestone may still be
    paid on time (SPEC §12.3 says "unpaid" for it)."""
    if contract.payment == "unpaid" and now <= pay_by(contract.milestones):
        return "due"
    return contract.payment


def _milestone_status(m: Milestone) -> str:
    if m.paid_at is not None and m.received_at is not None:
        return "paid"
    if m.paid_at is not None:
        return "paid, not yet confirmed received"
    if m.approved_at is not None:
        return "approved by default" if m.approved_by_default else "approved"
    return "submitted" if m.submitted_at is not None else "to do"


def contract_view(node: Node, contract: Contract) -> dict[str, Any]:
    """A contract with its terms, milestones, offers, timeline, receipts and feedback."""
    evidence = node.market.evidence
    receipts = evidence.receipts(contract.id)
    reveals = {c.id for c in evidence.counted_feedback() if c.contract == contract.id}
    return {
        **contract_summary(node, contract),
        "terms": contract.terms,
        "milestones": [
            {
                "index": m.index,
                "number": m.index + 1,
                "title": m.title,
                "price": {"amount": m.amount, "currency": m.currency},
                "due": format_timestamp(m.due),
                "status": _milestone_status(m),
            }
            for m in contract.milestones
        ],
        "offers": [
            {
                "id": o.id,
                "from": display_name(node, o.author),
                "created_at": o.created_at,
                "respond_by": o.respond_by,
                "price": o.terms["price"],
                "status": o.status,
            }
            for o in contract.offers
        ],
        "timeline": [
            {
                "at": e.at,
                "kind": e.kind,
                "event": e.event,
                "who": display_name(node, e.author) if e.author else "time",
                "summary": e.summary,
                "effect": e.effect,
                "problem": _problem(e.problem),
                "record": e.record,
            }
            for e in contract.timeline
        ],
        "receipts": [
            {"from": display_name(node, r.author), "author": r.author, **r.body} for r in receipts
        ],
        "commitments": [
            {"from": display_name(node, c.author), "author": c.author, "at": c.created_at}
            for c in evidence.commits(contract.id)
        ],
        "feedback": [
            {
                "from": display_name(node, r.author),
                "author": r.author,
                "at": r.created_at,
                "counts": r.id in reveals,
                **{k: v for k, v in r.body.items() if k != "salt"},
            }
            for r in evidence.reveals(contract.id)
        ],
        "disputes": disputes(node, contract.id)["disputes"],
    }


def contracts(node: Node, state: str | None) -> dict[str, Any]:
    if state is not None and state not in STATES:
        raise NodeError("invalid_argument", f"state must be one of {', '.join(STATES)}.")
    briefs = {b.id: b for b in node.briefs()}
    return {"contracts": [contract_summary(node, c, briefs) for c in node.market.contracts(state)]}


def _outcome(node: Node, outcome: Outcome, problem: tuple[str, str] | None) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "dispute": outcome.dispute,
        "contract": outcome.contract,
        "mediator": outcome.author,
        "from": display_name(node, outcome.author),
        "at": outcome.created_at,
        "finding": outcome.finding,
        "payment": outcome.payment,
        "void_feedback": sorted(outcome.void_feedback),
        "counts": problem is None,
        "problem": _problem(problem),
    }


def decisions(node: Node, did: str) -> list[dict[str, Any]]:
    """The outcomes that count on the contracts `did` is party to, oldest first: what any
    node derives from public records (SPEC §17.4)."""
    evidence = node.market.evidence
    parties = evidence.parties()
    found = [o for o in evidence.decided().values() if did in parties.get(o.contract, ())]
    return [_outcome(node, o, None) for o in sorted(found, key=lambda o: (o.created_at, o.id))]


def dispute_summary(node: Node, dispute: Dispute) -> dict[str, Any]:
    """A dispute in a line's worth of fields, with the outcome that counts, if any."""
    body = dispute.event.body
    counting = [_outcome(node, o, p) for o, p in dispute.outcomes if p is None]
    return {
        "id": dispute.event.id,
        "contract": dispute.contract,
        "guild": body["guild"],
        "opened_by": dispute.event.author,
        "from": display_name(node, dispute.event.author),
        "at": dispute.event.created_at,
        "role": dispute.role,
        "mediators": [{"did": did, "name": display_name(node, did)} for did in body["mediators"]],
        "outcome": counting[0] if counting else None,
    }


def dispute_view(node: Node, dispute: Dispute) -> dict[str, Any]:
    """A dispute with its statement, its disclosures (each record opened with its key, for
    a mediator) and every outcome on its contract, with whether it counts (SPEC §17)."""
    return {
        **dispute_summary(node, dispute),
        "statement": dispute.event.body["statement"],
        "disclosures": [
            {
                "id": event.id,
                "from": display_name(node, event.author),
                "at": event.created_at,
                "records": [
                    {
                        "record": d.record,
                        "kind": d.kind,
                        "author": d.author,
                        "opens": d.body is not None,
                        "of_contract": d.body is not None and d.problem is None,
                        "body": d.body,
                        "problem": d.problem,
                    }
                    for d in records
                ],
            }
            for event, records in dispute.disclosures
        ],
        "outcomes": [_outcome(node, o, p) for o, p in dispute.outcomes],
    }


def disputes(node: Node, contract: str | None = None) -> dict[str, Any]:
    """The disputes the owner can open, as a party or a mediator (on one contract if asked)."""
    return {
        "disputes": [
            dispute_summary(node, d)
            for d in node.market.mediation.disputes()
            if contract is None or d.contract == contract
        ]
    }
