"""Replication scope: whose feeds this node asks for and accepts (SPEC §9.7).

Pure over a `RefReader` (the store satisfies it) and `now`. The scope is the owner; the
identities within two vouch hops along vouches given (the owner's vouchees and theirs);
those who vouch for the owner (in scope, but they do not widen it); the founders and
applicants of the guilds the owner founded or applied to; whoever a member of such a
guild vouches for in that guild's context (that is how an organisation's briefs reach a
guild); and the owner's contract parties (the public recipients of the sealed records the
owner wrote). Only active vouches count: not revoked by their author, not expired, and never
older than 365 days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .protocol import VerifiedRecord
from .protocol.kinds import SEALED_KINDS
from .store import Ref

MAX_VOUCH_LIFE = 365 * 86_400  # SPEC §6.2: a vouch never counts for longer than this


class RefReader(Protocol):
    def vouch_pairs(
        self,
        now: int,
        *,
        authors: Iterable[str] | None = None,
        subjects: Iterable[str] | None = None,
        contexts: Iterable[str] | None = None,
        max_life: int,
    ) -> set[tuple[str, str]]: ...

    def refs(
        self,
        kind: str,
        *,
        authors: Iterable[str] | None = None,
        values: Iterable[str] | None = None,
        record_ids: Iterable[str] | None = None,
        contexts: Iterable[str] | None = None,
    ) -> list[Ref]: ...


@dataclass(frozen=True, slots=True)
class Scope:
    owner: str
    core: frozenset[str]
    guilds: frozenset[str]
    hop1: frozenset[str] = frozenset()  # the owner's vouchees
    members: frozenset[str] = frozenset()  # founders and applicants of the owner's guilds

    def __contains__(self, did: object) -> bool:
        return did in self.core

    def after_vouches(
        self, vouches: Iterable[VerifiedRecord], reader: RefReader, now: int
    ) -> Scope:
        """The scope once `vouches` (new, unrevoked vouch records) are held, without
        computing it all again: what `compute_scope` would give, as long as nothing but
        vouches arrived."""
        core, hop1 = set(self.core), set(self.hop1)
        contexts = {f"guild:{guild}" for guild in self.guilds}
        for record in vouches:
            subject, author = record.body["subject"], record.author
            life = record.created_at + MAX_VOUCH_LIFE
            if author == subject or now >= min(life, record.expires_at or life):
                continue
            if author == self.owner and subject not in hop1:
                hop1.add(subject)
                core.add(subject)
                found = reader.vouch_pairs(now, authors=[subject], max_life=MAX_VOUCH_LIFE)
                core |= {s for _, s in found}
            if author in hop1 or (
                author in self.members and record.body.get("context") in contexts
            ):
                core.add(subject)
            if subject == self.owner:
                core.add(author)
        return Scope(self.owner, frozenset(core), self.guilds, frozenset(hop1), self.members)


def owner_guilds(reader: RefReader, owner: str) -> frozenset[str]:
    """Guild charters the owner founded, or applied to and has not left since."""
    founded = {ref.record_id for ref in reader.refs("guild", values=[owner])}
    return frozenset(founded | current_applications(reader, [owner]).get(owner, set()))


def current_applications(
    reader: RefReader, authors: Iterable[str] | None = None, guilds: Iterable[str] | None = None
) -> dict[str, set[str]]:
    """author → guilds applied to and not left afterwards (by chain order)."""
    latest: dict[tuple[str, str], tuple[int, bool]] = {}
    for kind in ("apply", "leave"):
        for ref in reader.refs(kind, authors=authors, values=guilds):
            key = (ref.author, ref.value)
            if key not in latest or latest[key][0] < ref.seq:
                latest[key] = (ref.seq, kind == "apply")
    applied: dict[str, set[str]] = {}
    for (author, guild), (_, is_apply) in latest.items():
        if is_apply:
            applied.setdefault(author, set()).add(guild)
    return applied


def compute_scope(reader: RefReader, owner: str, now: int) -> Scope:
    """The owner's replication scope from the records held (SPEC §9.7)."""

    def pairs(**filters: Iterable[str]) -> set[tuple[str, str]]:
        return reader.vouch_pairs(now, max_life=MAX_VOUCH_LIFE, **filters)

    # SPEC §14.8: the owner's earlier (and later) keys act for the owner here too.
    owners = linked_keys(reader, {owner})
    core = set(owners)
    for key in owners:
        core |= contract_parties(reader, key)
    # A vouchee's other keys are the same member: their vouches widen the scope too.
    hop1 = linked_keys(reader, {subject for _, subject in pairs(authors=owners)})
    hop2 = {subject for _, subject in pairs(authors=hop1)} if hop1 else set()
    vouchers = {author for author, _ in pairs(subjects=owners)}
    core |= hop1 | hop2 | vouchers
    guilds = frozenset().union(*(owner_guilds(reader, key) for key in owners))
    if guilds:
        charters = reader.refs("guild", record_ids=guilds)
        founders = {ref.value for ref in charters} | {ref.author for ref in charters}
        applicants = set(current_applications(reader, guilds=guilds))
        members = founders | applicants
        core |= members
        contexts = [f"guild:{guild}" for guild in guilds]
        core |= {subject for _, subject in pairs(authors=members, contexts=contexts)}
        core = delegation_links(reader, linked_keys(reader, core), owners)
        return Scope(owner, frozenset(core), guilds, frozenset(hop1), frozenset(members))
    core = delegation_links(reader, linked_keys(reader, core), owners)
    return Scope(owner, frozenset(core), guilds, frozenset(hop1))


def delegation_links(reader: RefReader, core: set[str], owners: set[str]) -> set[str]:
    """SPEC §9.7 rule 8, §15.5: `core` with the delegates its keys name, and the keys that
    delegate to the owner. Neither widens the scope further."""
    named = {r.value for r in reader.refs("delegate", authors=core) if r.role == "delegate"}
    delegators = {r.author for r in reader.refs("delegate", values=owners)}
    return core | named | delegators


LINK_ROUNDS = 8  # SPEC §14.8: how far one scope computation follows links between keys


def linked_keys(reader: RefReader, dids: set[str]) -> set[str]:
    """`dids` with the keys linked to them (SPEC §14.8 rule 7): the predecessor a key's
    `succeed` names, the successors of its `rotate`s, its recovery keys (their votes are in
    their chains) and the successors their votes on it name. What a stranger writes never
    widens the scope."""
    found = set(dids)
    frontier = set(dids)
    for _ in range(LINK_ROUNDS):
        if not frontier:
            break
        new: set[str] = set()
        # Only links a key of the member made count: a stranger's rotate or succeed naming a
        # key here never brings the stranger in.
        for kind in ("succeed", "rotate"):
            new |= {r.value for r in reader.refs(kind, authors=frontier) if r.role != "via"}
        recoverers = {r.value for r in reader.refs("recovery", authors=frontier)}
        new |= recoverers
        if recoverers:
            votes = reader.refs("compromise", authors=recoverers)
            on_ours = {r.record_id for r in votes if r.role == "key" and r.value in found}
            new |= {r.value for r in votes if r.role == "successor" and r.record_id in on_ours}
        frontier = new - found
        found |= frontier
    return found


def contract_parties(reader: RefReader, owner: str) -> set[str]:
    """Whom the owner sealed records to (SPEC §9.7). Only the owner's own records widen the
    scope: a stranger who seals a record to the owner stays a guest, within the quotas,
    until the owner answers."""
    parties: set[str] = set()
    for kind in SEALED_KINDS:
        parties |= {ref.value for ref in reader.refs(kind, authors=[owner])}
    return parties


def names_owner(record: VerifiedRecord, scope: Scope) -> bool:
    """SPEC §9.7: the owner is the record's subject or one of its public recipients or
    parties, or it applies to one of the owner's guilds (an `apply` names every member)."""
    kind, body = record.kind, record.body
    if kind in ("vouch", "commit", "feedback"):
        return bool(body.get("subject") == scope.owner)
    if kind == "apply":
        return body.get("guild") in scope.guilds
    if kind in SEALED_KINDS:
        return any(key.get("to") == scope.owner for key in body.get("keys", ()))
    if kind == "receipt":
        return scope.owner in (body.get("organisation"), body.get("freelancer"))
    # SPEC §15.5: a delegation to the owner reaches the owner.
    if kind in ("delegate", "undelegate"):
        return bool(body.get("delegate") == scope.owner)
    # SPEC §14.8: votes on the owner's key reach the owner (as a guest's, within the quotas).
    if kind == "compromise":
        return scope.owner in (body.get("key"), body.get("successor"))
    return False
