"""The owner's part in guild governance: proposing motions and voting on them (SPEC §12.5).

`Assembly` sits beside `Node` (it is `node.assembly`). It publishes a `motion` or a `vote`
only when the same derivation that every node runs (`governance.govern`) says it would take
effect, so what the node refuses and what would have no effect elsewhere never disagree
(SPEC §6.8). Every refusal is a `NodeError` with a stable code, and nothing is published.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import derive
from .errors import NodeError
from .governance import VOTING_WINDOW, Governance, Motion, Outcome, first_ballots, motion_defect
from .protocol import ProtocolError, VerifiedRecord
from .protocol.kinds import validate_body

if TYPE_CHECKING:
    from .node import Node

_PROPOSE_REFUSALS = {
    "malformed_motion": (
        "malformed_motion",
        "An amendment changes at least one of name, purpose, vouches_required and listing "
        "(and does not both list and unlist); a removal names one member.",
    ),
    "invalid_charter": (
        "invalid_amendment",
        "The amended charter would have no effect: vouches_required must stay at most "
        "the number of founders (SPEC §6.8).",
    ),
}


class Assembly:
    """Motions and votes in the owner's name (`node.assembly`)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def propose(
        self,
        guild_id: str,
        *,
        action: str,
        changes: dict[str, Any] | None = None,
        member: str | None = None,
        reason: str | None = None,
    ) -> VerifiedRecord:
        """Publish a motion to amend the charter of `guild_id` or remove `member`; it is the
        owner's yes vote. Refuses a motion that would have no effect (SPEC §12.5)."""
        charter = self.node.charter(guild_id)
        body: dict[str, Any] = {"guild": guild_id, "action": action}
        if changes is not None:
            body["changes"] = changes
        if member is not None:
            self.node.check_did(member)
            body["member"] = member
        if reason:
            body["reason"] = reason
        try:
            validate_body("motion", body)
        except ProtocolError as exc:
            raise NodeError("invalid_argument", exc.detail) from None
        owner = self.node.member(self.node.did)
        now = self.node.now()
        candidate = Motion(
            "", owner, guild_id, now, action, changes, member and self.node.member(member)
        )
        governance = self.node.governance(guild_id)
        defect = motion_defect(candidate, governance.charter)
        if defect is not None:
            raise NodeError(*_PROPOSE_REFUSALS[defect])
        if not governance.membership.is_member(owner):
            raise NodeError("not_a_member", f"Only members of {charter.name} may propose motions.")
        if candidate.member is not None and not governance.membership.is_member(candidate.member):
            raise NodeError("not_a_member", f"{member} is not a member of {charter.name}.")
        return self.node.publish("motion", body)

    def vote(self, motion_id: str, choice: str) -> VerifiedRecord:
        """Publish the owner's vote on `motion_id`. Refuses a vote that would have no effect:
        by someone outside the motion's electorate, a second vote, or on a motion that is no
        longer open (SPEC §12.5)."""
        if choice not in ("yes", "no"):
            raise NodeError("invalid_argument", "A vote is yes or no.")
        governance, outcome = self.motion(motion_id)
        owner = self.node.member(self.node.did)
        if owner not in outcome.electorate:
            raise NodeError(
                "not_a_member",
                "Only those who were members when the motion was proposed may vote on it.",
            )
        if owner == outcome.motion.author or motion_id in self.voted(outcome.motion.guild):
            raise NodeError("already_voted", "You have already voted on this motion.")
        if outcome.status == "no_effect":
            raise NodeError(
                "motion_without_effect", f"This motion has no effect ({outcome.reason})."
            )
        if outcome.status != "open" or self.node.now() >= outcome.closes_at:
            raise NodeError("motion_closed", f"This motion is closed ({outcome.status}).")
        body = {"guild": governance.charter.id, "motion": motion_id, "choice": choice}
        return self.node.publish("vote", body)

    def may_vote(self, outcome: Outcome, voted: set[str]) -> bool:
        """Whether the owner may still vote on the motion of `outcome` (SPEC §12.5): it is
        open, the owner is of its electorate and neither proposed it nor has voted (`voted`,
        as `voted` gives it for the motion's guild)."""
        owner = self.node.member(self.node.did)
        return (
            outcome.status == "open"
            and owner in outcome.electorate
            and owner != outcome.motion.author
            and outcome.motion.id not in voted
        )

    def voted(self, guild_id: str) -> set[str]:
        """Ids of the motions of `guild_id` the owner has voted on (by any of its keys)."""
        owner = self.node.member(self.node.did)
        ballots = derive.ballots(self.node.store, guild_id, self.node.identities())
        return {
            motion for motion, voter in first_ballots(ballots, self.node.now()) if voter == owner
        }

    def motion(self, motion_id: str) -> tuple[Governance, Outcome]:
        """The governance of the motion's guild, and the motion's outcome; `404 not_found`
        when no such motion is held, or its guild's charter is not."""
        refs = self.node.store.refs("motion", record_ids=[motion_id])
        for ref in refs:
            if ref.role == "guild" and ref.value in self.node.charters():
                governance = self.node.governance(ref.value)
                outcome = governance.outcome(motion_id)
                if outcome is not None:
                    return governance, outcome
        raise NodeError("not_found", f"No motion {motion_id} of a guild held here.", 404)


def summary(motion: Motion, name: Callable[[str], str]) -> str:
    """What a motion would do, in a few words."""
    if motion.action == "remove":
        return f"Remove {name(motion.member)}" if motion.member else "Remove nobody"
    changes = motion.changes or {}
    parts = []
    if "name" in changes:
        parts.append(f"rename the guild {changes['name']!r}")
    if "purpose" in changes:
        parts.append("change its purpose")
    if "vouches_required" in changes:
        parts.append(f"admit with {changes['vouches_required']} vouches")
    if "listing" in changes:
        parts.append("list it")
    if "unlist" in changes:
        parts.append("unlist it")
    text = ", ".join(parts) or "change nothing"
    return text[0].upper() + text[1:]


def outcome_view(outcome: Outcome, name: Callable[[str], str]) -> dict[str, Any]:
    """A motion's outcome as the API, CLI and UI show it."""
    motion = outcome.motion
    return {
        "summary": summary(motion, name),
        "id": motion.id,
        "guild": motion.guild,
        "author": motion.author,
        "author_name": name(motion.author),
        "created_at": motion.created_at,
        "action": motion.action,
        "changes": dict(motion.changes) if motion.changes is not None else None,
        "member": motion.member,
        "member_name": name(motion.member) if motion.member else None,
        "reason": motion.reason,
        "status": outcome.status,
        "without_effect": outcome.reason,
        "electorate": list(outcome.electorate),
        "yes": list(outcome.yes),
        "no": list(outcome.no),
        "needed": outcome.needed,
        "closes_at": outcome.closes_at,
        "adopted_at": outcome.adopted_at,
        "window_seconds": VOTING_WINDOW,
    }
