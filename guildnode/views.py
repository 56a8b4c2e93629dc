"""Plain JSON views of the node's objects, shared by the local API and the CLI."""

from __future__ import annotations

from typing import Any

from .briefs import Brief, open_briefs
from .guilds import Membership
from .node import Node
from .protocol import VerifiedRecord
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
    )}  # fmt: skip


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
    score = view.score(did)
    return {
        "did": did,
        "name": display_name(node, did),
        "context": context,
        "score": score,
        "relative": score / RESTART,  # the owner is 1.0
        "rank": view.rank(did),
        "known": len(view.ranked()),
        "blocked": did in node.store.blocked(),
        "paths": [
            {
                "strength": path.strength,
                "words": path_in_words(node, path),
                "vouches": [edge.vouch.id for edge in path.edges],
            }
            for path in view.paths(did)
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
        "you_are_member": guild.is_member(node.did),
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
        **{k: v for k, v in brief.body.items() if k != "guilds"},
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
