"""Organisation delegates: which of a staff key's records count as the organisation's
(SPEC §15).

Pure over the `delegate` and `undelegate` records held in served chains and the resolved
`Identities` (SPEC §14). No clock, no arrival order: the same records give the same
`Delegations` on every node. A revocation cuts a delegate's chain by `seq` (which a delegate
cannot take back), an expiry by the delegate's `created` (SPEC §15.3 says why).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .identities import Identities
from .protocol.schemas import DELEGATION_SCOPES

KINDS = ("delegate", "undelegate")
SCOPES = DELEGATION_SCOPES
MAX_DELEGATION = 90 * 86_400  # SPEC §15.1: the longest period of one grant


@dataclass(frozen=True, slots=True)
class DelegationRecord:
    """What SPEC §15 reads of one `delegate` or `undelegate` record."""

    id: str
    kind: str
    author: str
    seq: int
    created_at: int
    expires_at: int | None
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Grant:
    """A `delegate` with effect (SPEC §15.1): `organisation` is the author's member."""

    id: str
    organisation: str
    author: str
    delegate: str
    scope: frozenset[str]
    starts: int
    ends: int
    place: int


@dataclass(frozen=True, slots=True)
class Revocation:
    """An `undelegate` with effect (SPEC §15.1)."""

    id: str
    organisation: str
    delegate: str
    from_seq: int
    place: int


@dataclass(frozen=True, slots=True)
class Delegations:
    """The grants and revocations held (SPEC §15.1), sorted by id, and the questions of
    SPEC §15.3 asked of them."""

    grants: tuple[Grant, ...] = ()
    revocations: tuple[Revocation, ...] = ()
    _by_delegate: Mapping[str, tuple[Grant, ...]] = field(default_factory=dict, compare=False)

    def revoked_from(self, grant: Grant) -> int | None:
        """The lowest `from_seq` of the revocations placed after `grant` (SPEC §15.3 rule 4),
        or None when nothing revokes it."""
        cuts = [
            r.from_seq
            for r in self.revocations
            if r.organisation == grant.organisation
            and r.delegate == grant.delegate
            and r.place > grant.place
        ]
        return min(cuts, default=None)

    def in_force(self, grant: Grant, seq: int, created_at: int) -> bool:
        """SPEC §15.3 rules 3–4: the delegate's record at (seq, created_at) is within the
        grant's period and before any revocation of it."""
        cut = self.revoked_from(grant)
        return grant.starts <= created_at < grant.ends and (cut is None or seq < cut)

    def speaks_for(
        self, delegate: str, seq: int, created_at: int, scope: str, organisation: str
    ) -> bool:
        """Whether the record of key `delegate` at (seq, created_at), needing `scope`, counts
        as `organisation`'s (a member's current key) by SPEC §15.3. The caller checks that the
        record itself has effect (SPEC §14.6)."""
        return any(scope in g.scope for g in self._held(delegate, seq, created_at, organisation))

    def _held(self, delegate: str, seq: int, created_at: int, organisation: str) -> list[Grant]:
        return [
            g
            for g in self._by_delegate.get(delegate, ())
            if g.organisation == organisation and self.in_force(g, seq, created_at)
        ]

    def refusal(
        self, delegate: str, seq: int, created_at: int, scope: str, organisation: str
    ) -> tuple[str, str] | None:
        """Why a record of `delegate` at (seq, created_at) needing `scope` would not count as
        `organisation`'s (SPEC §15.6): (code, sentence), or None when it would."""
        if self.speaks_for(delegate, seq, created_at, scope, organisation):
            return None
        if self._held(delegate, seq, created_at, organisation):
            return (
                "outside_scope",
                f"Your delegation from {organisation} does not cover {scope!r}.",
            )
        return (
            "not_delegated",
            f"{organisation} has no delegation to this key in force now.",
        )

    def to(self, delegate: str) -> tuple[Grant, ...]:
        """Every grant to the key `delegate`."""
        return self._by_delegate.get(delegate, ())

    def of(self, organisation: str) -> list[Grant]:
        """Every grant of `organisation`'s member, in its place order."""
        return sorted(
            (g for g in self.grants if g.organisation == organisation), key=lambda g: g.place
        )


# SPEC §15.2: the scope each kind of record needs to count as an organisation's, and the
# `action` it must have (None: any).
_SCOPE_OF: dict[str, tuple[str, str | None]] = {
    "brief": ("briefs", None),
    "offer": ("offers", None),
    "milestone": ("approve", "approved"),
    "payment": ("pay", "paid"),
}
DELEGATED_KINDS = frozenset(_SCOPE_OF)  # the kinds a delegate's record can count in
# SPEC §15.2, §15.6: the owner's work actions (`actions.ACTIONS`) a delegate takes for its
# organisation, and the scope each needs (its record's kind and action above).
ACTION_SCOPES: dict[str, str] = {
    "offer": "offers",
    "counter": "offers",
    "approve": "approve",
    "paid": "pay",
}


def needed_scope(kind: str, body: Mapping[str, Any]) -> str | None:
    """The scope a record of `kind` with (opened) `body` needs to count as an organisation's
    (SPEC §15.2), or None when no scope delegates it."""
    scope, action = _SCOPE_OF.get(kind, (None, None))
    if scope is None or (action is not None and body.get("action") != action):
        return None
    return scope


def grant_problem(record: DelegationRecord, ids: Identities) -> str | None:
    """Why a `delegate` record is not a grant (SPEC §6.8, §15.1), or None."""
    if record.expires_at is None:
        return "a delegation must say when it expires"
    if record.expires_at > record.created_at + MAX_DELEGATION:
        return "a delegation may last at most 90 days"
    if record.body["delegate"] in ids.keys(record.author):
        return "an organisation cannot delegate to its own keys"
    return None


def resolve(records: Iterable[DelegationRecord], ids: Identities) -> Delegations:
    """The grants and revocations among `records` (SPEC §15.1): records of a key after its
    cut (SPEC §14.6) and `delegate`s with a `grant_problem` are left out."""
    grants: list[Grant] = []
    revocations: list[Revocation] = []
    for r in records:
        if r.kind not in KINDS or not ids.has_effect(r.author, r.seq):
            continue
        organisation = ids.member(r.author)
        place = ids.position(r.author, r.seq)
        delegate = str(r.body["delegate"])
        if r.kind == "undelegate":
            revocations.append(
                Revocation(r.id, organisation, delegate, int(r.body["from_seq"]), place)
            )
        elif grant_problem(r, ids) is None and r.expires_at is not None:
            scope = frozenset(str(s) for s in r.body["scope"])
            grants.append(
                Grant(
                    r.id, organisation, r.author, delegate, scope, r.created_at, r.expires_at, place
                )
            )
    grants.sort(key=lambda g: g.id)
    revocations.sort(key=lambda u: u.id)
    by_delegate: dict[str, list[Grant]] = {}
    for g in grants:
        by_delegate.setdefault(g.delegate, []).append(g)
    return Delegations(
        tuple(grants), tuple(revocations), {d: tuple(gs) for d, gs in by_delegate.items()}
    )
