"""Identity over time: which keys form one member, and which records of each key have effect
(SPEC §14).

Pure over the `rotate`, `succeed`, `recovery` and `compromise` records that count (served
chains, SPEC §12) and a lookup of a held record's `created`. No clock, no arrival order: the
same records give the same `Identities` on every node. Derivations (trust, guilds, feedback)
read every DID through `member` and drop records `has_effect` says have none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WINDOW = 72 * 3600  # SPEC §14.1: a recovery vote counts within 72 hours of what it undoes
KINDS = ("rotate", "succeed", "recovery", "compromise")
_POSITION = 2**53  # one key's seqs never reach this: (key index, seq) packed in one integer


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """What SPEC §14 reads of one record of the four kinds."""

    id: str
    kind: str
    author: str
    seq: int
    created_at: int
    body: Mapping[str, Any]


CreatedAt = Callable[[str, int], int | None]


@dataclass(frozen=True, slots=True)
class Identities:
    """The resolved keys: successor and predecessor links, and each key's cut (the last seq
    with effect; a key absent from `cuts` has no cut)."""

    successors: Mapping[str, str] = field(default_factory=dict)
    predecessors: Mapping[str, str] = field(default_factory=dict)
    cuts: Mapping[str, int] = field(default_factory=dict)

    def member(self, did: str) -> str:
        """The member's current key: follow successors to the end (SPEC §14.1)."""
        seen = {did}
        while did in self.successors:
            did = self.successors[did]
            if did in seen:  # never, by construction; stay safe on a bad Identities
                break
            seen.add(did)
        return did

    def keys(self, did: str) -> tuple[str, ...]:
        """Every key of `did`'s member, from its root to its current key."""
        root = did
        while root in self.predecessors:
            root = self.predecessors[root]
            if root == did:
                break
        chain = [root]
        while chain[-1] in self.successors and len(chain) <= len(self.successors):
            chain.append(self.successors[chain[-1]])
        return tuple(chain)

    def cut(self, did: str) -> int | None:
        return self.cuts.get(did)

    def has_effect(self, author: str, seq: int) -> bool:
        """SPEC §14.6: a record of key K with seq > c(K) has no effect."""
        cut = self.cuts.get(author)
        return cut is None or seq <= cut

    def position(self, author: str, seq: int) -> int:
        """The record's place within its member: (key's index from the root, seq), as one
        integer that orders the member's records across its keys (SPEC §14.6)."""
        return self.keys(author).index(author) * _POSITION + seq

    def is_trivial(self) -> bool:
        return not self.successors and not self.cuts


@dataclass(frozen=True, slots=True)
class _Vote:
    id: str
    author: str
    created_at: int


def resolve(records: Iterable[IdentityRecord], created_at: CreatedAt) -> Identities:
    """Resolve every key named by `records` by SPEC §14.2–§14.5. `created_at(key, seq)` is the
    `created` of that held, served record, or None."""
    by_author: dict[str, list[IdentityRecord]] = defaultdict(list)
    for record in records:
        if record.kind in KINDS:
            by_author[record.author].append(record)
    for chain in by_author.values():
        chain.sort(key=lambda r: (r.seq, r.id))

    # SPEC §14.1: K claims P when K's record at seq 1 is a `succeed` naming P.
    claims: dict[str, tuple[str, str]] = {}
    for author, chain in by_author.items():
        first = chain[0]
        if first.seq == 1 and first.kind == "succeed":
            predecessor = str(first.body["predecessor"])
            if predecessor != author:
                claims[author] = (predecessor, str(first.body["via"]))
    for key in _on_cycles(claims):  # SPEC §14.2
        del claims[key]

    votes: dict[str, dict[tuple[int, str | None], list[_Vote]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for author, chain in by_author.items():
        for r in chain:
            if r.kind == "compromise" and r.body["key"] != author:
                target = (int(r.body["from_seq"]), r.body.get("successor"))
                votes[str(r.body["key"])][target].append(_Vote(r.id, author, r.created_at))

    keys = set(by_author) | set(votes) | {p for p, _ in claims.values()}
    successors: dict[str, str] = {}
    first_cut: dict[str, int] = {}

    def ancestors(key: str) -> list[str]:
        found = []
        while key in claims and successors.get(claims[key][0]) == key:
            key = claims[key][0]
            found.append(key)
        return found

    def recovery_set(key: str, before: int | None) -> Mapping[str, Any] | None:
        """SPEC §14.3 step 1: the last `recovery` of `key` below `before` (None: up to the
        key's cut), else the one in force at the end of its predecessor."""
        while True:
            limit = first_cut.get(key) if before is None else before - 1
            held = [
                r
                for r in by_author.get(key, ())
                if r.kind == "recovery" and (limit is None or r.seq <= limit)
            ]
            if held:
                return held[-1].body
            if key not in claims or successors.get(claims[key][0]) != key:
                return None
            key, before = claims[key][0], None

    for key in sorted(keys, key=lambda k: (_depth(k, claims), k)):
        own = [*ancestors(key), key]
        met: dict[tuple[int, str | None], set[str]] = {}
        for (from_seq, successor), group in sorted(votes.get(key, {}).items(), key=_group_order):
            rules = recovery_set(key, from_seq)
            if rules is None:
                continue
            allowed = set(rules["keys"]) - set(own)
            anchor = created_at(key, from_seq)
            counted = [
                v
                for v in group
                if v.author in allowed and (anchor is None or v.created_at <= anchor + WINDOW)
            ]
            threshold = int(rules["threshold"])
            if threshold <= len(rules["keys"]) and len({v.author for v in counted}) >= threshold:
                met[(from_seq, successor)] = {v.id for v in counted}
        recovery_cut = min((p for p, _ in met), default=None)
        limit = None if recovery_cut is None else recovery_cut - 1
        rotation = next(
            (
                r
                for r in by_author.get(key, ())
                if r.kind == "rotate"
                and (limit is None or r.seq <= limit)
                and claims.get(str(r.body["successor"])) == (key, r.id)
            ),
            None,
        )
        recoveries = sorted((p, s) for p, s in met if s is not None)
        if rotation is not None:  # SPEC §14.3 step 5: every met group starts after it
            successors[key] = str(rotation.body["successor"])
            first_cut[key] = rotation.seq
        elif recoveries:  # step 6: the recovery rotation with the lowest (from_seq, successor)
            recovery = recoveries[0]
            successor = str(recovery[1])
            claim = claims.get(successor)
            if claim is not None and claim[0] == key and claim[1] in met[recovery]:
                successors[key] = successor
            first_cut[key] = recovery[0] - 1
        elif limit is not None:
            first_cut[key] = limit

    predecessors = {after: before for before, after in successors.items()}
    cuts = dict(first_cut)
    # SPEC §14.5: the member's own marks, by the key itself or a later key of its member.
    for author, chain in by_author.items():
        earlier = {author}
        walk = author
        while walk in predecessors:
            walk = predecessors[walk]
            earlier.add(walk)
        for r in chain:
            if r.kind != "compromise" or r.body["key"] not in earlier:
                continue
            author_cut = first_cut.get(author)
            if author_cut is not None and r.seq > author_cut:
                continue
            marked = str(r.body["key"])
            mark = int(r.body["from_seq"]) - 1
            cuts[marked] = min(cuts.get(marked, mark), mark)
    return Identities(successors, predecessors, cuts)


def _group_order(item: tuple[tuple[int, str | None], list[_Vote]]) -> tuple[int, str]:
    (from_seq, successor), _ = item
    return from_seq, successor or ""


def _on_cycles(claims: Mapping[str, tuple[str, str]]) -> set[str]:
    """Keys on a cycle of predecessor claims (SPEC §14.2)."""
    cyclic: set[str] = set()
    done: set[str] = set()
    for start in claims:
        path: list[str] = []
        key = start
        while key in claims and key not in done and key not in path:
            path.append(key)
            key = claims[key][0]
        if key in path:
            cyclic.update(path[path.index(key) :])
        done.update(path)
    return cyclic


def _depth(key: str, claims: Mapping[str, tuple[str, str]]) -> int:
    depth = 0
    while key in claims and depth <= len(claims):
        key = claims[key][0]
        depth += 1
    return depth
