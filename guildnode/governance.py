"""Guild governance: charter amendments and removals adopted by signed votes (SPEC §12.5).

Pure: charter, applications, vouches, motions and votes (as values) and `now` in; the charter
as amended, who was removed when, each motion's outcome and the membership out. The same
records give the same result on every node, whatever order they arrived in: motions are taken
in canonical order (`created`, then id), and the electorate of each is the membership of
SPEC §12.1 at the motion's `created`, under the charter as amended by the motions adopted by
then. A motion is adopted once more than half of that electorate has voted yes (the motion
is its proposer's yes) within the voting window; each voter's first vote is the one that
counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .guilds import DAY, Application, Charter, Membership, membership
from .trust import Vouch

VOTING_DAYS = 7
VOTING_WINDOW = VOTING_DAYS * DAY
AMENDABLE = ("name", "purpose", "vouches_required", "listing", "unlist")


@dataclass(frozen=True, slots=True)
class Motion:
    """A `motion` record (SPEC §6.20), its author read as its member's current key."""

    id: str
    author: str
    guild: str
    created_at: int
    action: str  # "amend" | "remove"
    changes: Mapping[str, Any] | None = None
    member: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Ballot:
    """A `vote` record (SPEC §6.21); `seq` orders one member's votes across its keys."""

    id: str
    author: str
    guild: str
    motion: str
    seq: int
    created_at: int
    choice: str  # "yes" | "no"


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a motion stands at `now` (SPEC §12.5)."""

    motion: Motion
    status: str  # "open" | "adopted" | "rejected" | "no_effect"
    reason: str | None  # why it has no effect (status "no_effect")
    electorate: tuple[str, ...]
    yes: tuple[str, ...]
    no: tuple[str, ...]
    needed: int
    closes_at: int
    adopted_at: int | None = None


@dataclass
class Governance:
    charter: Charter  # as amended by the motions adopted by `now`
    removed: dict[str, int]  # did → time of its latest removal
    outcomes: list[Outcome]  # in canonical order of the motions
    membership: Membership

    def outcome(self, motion_id: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.motion.id == motion_id), None)


def motion_defect(motion: Motion, charter: Charter) -> str | None:
    """Why `motion` can have no effect on `charter` whoever votes (SPEC §12.5, step 2), or
    None: an amendment changes at least one field, does not both list and unlist, and keeps
    the charter valid (§6.8); a removal names a member and changes nothing."""
    if motion.action == "remove":
        if motion.member is None or motion.changes is not None:
            return "malformed_motion"
        return None
    if motion.action != "amend" or motion.member is not None or not motion.changes:
        return "malformed_motion"
    if "listing" in motion.changes and "unlist" in motion.changes:
        return "malformed_motion"
    if not amend(charter, motion.changes).is_valid():
        return "invalid_charter"
    return None


def amend(charter: Charter, changes: Mapping[str, Any]) -> Charter:
    """`charter` with an amendment's `changes` applied (SPEC §6.20)."""
    fields: dict[str, Any] = {
        key: changes[key] for key in ("name", "purpose", "vouches_required") if key in changes
    }
    if "listing" in changes:
        fields["listing"] = changes["listing"]
    if "unlist" in changes:
        fields["listing"] = None
    return replace(charter, **fields)


def first_ballots(ballots: Iterable[Ballot], now: int) -> dict[tuple[str, str], Ballot]:
    """(motion, author) → the author's first vote on the motion, by chain order, among the
    votes dated at most `now` (SPEC §12.5: a later vote on the same motion has no effect)."""
    first: dict[tuple[str, str], Ballot] = {}
    for ballot in ballots:
        if ballot.created_at > now:
            continue
        key = (ballot.motion, ballot.author)
        held = first.get(key)
        if held is None or (ballot.seq, ballot.id) < (held.seq, held.id):
            first[key] = ballot
    return first


def govern(
    charter: Charter,
    applications: Iterable[Application],
    vouches: Iterable[Vouch],
    motions: Iterable[Motion],
    ballots: Iterable[Ballot],
    *,
    now: int,
    revoked: Iterable[str] = (),
) -> Governance:
    """The guild of `charter` at `now` with its governance applied (SPEC §12.5).

    Inputs may arrive in any order and hold records of other guilds; they are filtered and
    put in canonical order here."""
    applications = [a for a in applications if a.guild == charter.id]
    vouches = [v for v in vouches if v.context == charter.context]
    revoked = set(revoked)
    ordered = sorted(
        (m for m in motions if m.guild == charter.id and m.created_at <= now),
        key=lambda m: (m.created_at, m.id),
    )
    votes = first_ballots((b for b in ballots if b.guild == charter.id), now)
    adopted: list[tuple[int, int, Motion]] = []  # (adopted at, canonical position, motion)
    outcomes: list[Outcome] = []

    def state(until: int) -> tuple[Charter, dict[str, int]]:
        # SPEC §12.5 step 1: the adopted motions in order of adoption, then canonical order.
        current, removed = charter, {}
        for at, _, motion in sorted(adopted, key=lambda item: (item[0], item[1])):
            if at > until:
                continue
            if motion.action == "remove" and motion.member is not None:
                removed[motion.member] = at
            elif motion.changes is not None:
                current = amend(current, motion.changes)
        return current, removed

    for position, motion in enumerate(ordered):
        current, removed = state(motion.created_at)
        closes = motion.created_at + VOTING_WINDOW
        electorate = membership(
            current, applications, vouches, now=motion.created_at, revoked=revoked, removed=removed
        ).members
        voters = tuple(sorted(electorate))
        needed = len(voters) // 2 + 1
        reason = motion_defect(motion, current) if current.is_valid() else "invalid_charter"
        if reason is None and motion.author not in electorate:
            reason = "not_a_member"
        if reason is None and motion.action == "remove" and motion.member not in electorate:
            reason = "not_a_member"
        if reason is not None:
            outcomes.append(Outcome(motion, "no_effect", reason, voters, (), (), needed, closes))
            continue
        cast: dict[str, tuple[str, int]] = {motion.author: ("yes", motion.created_at)}
        for voter in voters:
            ballot = votes.get((motion.id, voter))
            if (
                ballot is not None
                and voter != motion.author
                and motion.created_at <= ballot.created_at < closes
            ):
                cast[voter] = (ballot.choice, ballot.created_at)
        yes = sorted(at for choice, at in cast.values() if choice == "yes")
        said_yes = tuple(sorted(d for d, (c, _) in cast.items() if c == "yes"))
        said_no = tuple(sorted(d for d, (c, _) in cast.items() if c == "no"))
        if len(yes) >= needed:
            at = yes[needed - 1]
            adopted.append((at, position, motion))
            status = "adopted"
        else:
            at = None
            hopeless = len(voters) - len(said_no) < needed
            status = "rejected" if hopeless or now >= closes else "open"
        outcomes.append(
            Outcome(motion, status, None, voters, said_yes, said_no, needed, closes, at)
        )

    final, removed = state(now)
    members = membership(final, applications, vouches, now=now, revoked=revoked, removed=removed)
    return Governance(final, removed, outcomes, members)
