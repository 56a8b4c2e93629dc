"""The owner's contracts, kept one by one: an action costs O(its contract), not O(all).

`Ledger` belongs to one `Market` (`market.ledger`). It opens each sealed record addressed to
the owner once, reads only the references that reached the store since it last looked
(`Store.refs_since`, one query), and keeps each contract as last derived together with the
moment it could next change on its own. A kept contract is derived again only when

- a record of its thread arrives (a record hangs on the offer or contract it names, so
  records arriving before what they name wait there and join the thread when it comes),
- the brief its first offer names arrives,
- `now` reaches its next time event (`Contract.next_due`) or a record of its thread dated
  later, or the clock goes back;

and everything is derived afresh when what every contract reads changes: the keys the owner
holds, a fork proof (records beyond a freeze stop counting), the identity records
(which keys are one member, which records have effect, SPEC §14.6), or the organisations'
grants and revocations to delegates (which records count as an organisation's, SPEC §15.3).
A delegate's record can arrive before the offer that names its organisation, so which
records of a thread are the organisation's is worked out per thread when it is derived
(`as_organisation`), never when a record arrives.

Each contract is derived by the same `contracts.derive`, from the records that can reach its
first offer, so the result is exactly the full derivation's (tests/contracts/test_ledger.py
checks it against random arrival orders).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from . import contracts as rules
from . import derive
from .briefs import Brief
from .contracts import Contract, Event
from .delegation import DELEGATED_KINDS, Delegations, needed_scope
from .delegation import KINDS as DELEGATION_KINDS
from .identities import KINDS as IDENTITY_KINDS
from .identities import Identities
from .protocol import Identity, ProtocolError, parse_json, parse_timestamp
from .protocol.kinds import CONTRACT_KINDS, SEALED_KINDS
from .protocol.sealed import open_sealed, recipients

if TYPE_CHECKING:
    from .node import Node

_ENDS = frozenset({"complete", "cancel"})
# Public kinds whose arrival the ledger must see: what a brief is, and what every contract
# reads (which keys are one member, who speaks for an organisation).
_WATCHED = (*IDENTITY_KINDS, *DELEGATION_KINDS, "brief")
# The sealed kinds a delegate's record can count as an organisation's in (SPEC §15.2).
_DELEGATED = DELEGATED_KINDS.intersection(SEALED_KINDS)


@dataclass(frozen=True, slots=True)
class _Opened:
    """What the owner could read of one sealed record: the event, or why not."""

    event: Event | None
    problem: str | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class _Kept:
    """A contract (None: its first offer has no effect) as derived at `at`, the same for
    every `now` in [`at`, `until`)."""

    contract: Contract | None
    at: int
    until: int | None

    def holds(self, now: int) -> bool:
        return self.at <= now and (self.until is None or now < self.until)


def as_member(event: Event, members: Identities) -> Event:
    """SPEC §14.6: the event's author and an offer's parties as their members' current keys,
    so a contract goes on when a party rotates."""
    body = dict(event.body)
    for party in ("organisation", "freelancer"):
        if party in body:
            body[party] = members.member(body[party])
    parties = tuple(sorted({members.member(did) for did in event.parties}))
    return replace(event, author=members.member(event.author), body=body, parties=parties)


@dataclass(frozen=True, slots=True)
class _Held:
    """An event as read (its parties as members), with its author's key as written and its
    seq: what `as_organisation` needs to ask whether a delegate spoke for an organisation."""

    event: Event
    key: str
    seq: int


def as_organisation(held: Sequence[_Held], grants: Delegations) -> list[Event]:
    """SPEC §15.4: a delegate's offer, approval or payment that counts as an organisation's
    (§15.3) is read with the organisation as its author. A record names its contract, the
    first offer, so `held` may be every event or only one thread's: the result for an event
    is the same."""
    if not grants.grants:
        return [h.event for h in held]
    organisations = {
        h.event.id: h.event.body["organisation"] for h in held if h.event.kind == "offer"
    }
    found = []
    for h in held:
        event = h.event
        scope = needed_scope(event.kind, event.body)
        if event.kind == "offer":
            organisation = event.body["organisation"]
        else:
            organisation = organisations.get(event.body.get("contract", ""))
        if (
            scope is not None
            and organisation is not None
            and event.author != organisation
            and grants.speaks_for(h.key, h.seq, event.created_at, scope, organisation)
        ):
            event = replace(event, author=organisation)
        found.append(event)
    return found


def _offer_sealed_well(author: str, parties: set[str], inner: dict[str, object]) -> bool:
    """SPEC §6.9, §15.4: an offer is sealed to its two parties and at most one more, which
    is its author when the author is neither (a delegate); a counter-offer's third recipient
    must be its contract's delegate, which only its thread can tell (§12.3)."""
    two = {inner["organisation"], inner["freelancer"]}
    extra = parties - two
    if not two <= parties or len(extra) > 1:
        return False
    return author in two or extra == {author}


def anchor(event: Event) -> str | None:
    """The record id an event hangs on: the offer it answers, accepts or declines, the
    contract it names; None for a first offer (a thread's root) and a proposal."""
    body = event.body
    if event.kind == "offer":
        return body.get("answers")
    if event.kind in ("accept", "decline"):
        return str(body["offer"])
    if "contract" in body:
        return str(body["contract"])
    return None


class Ledger:
    def __init__(self, node: Node) -> None:
        self.node = node
        self._lock = threading.RLock()
        self._opened: dict[str, _Opened] = {}
        self.generation = 0  # counts the times everything was derived afresh
        self.derivations: Counter[str] = Counter()  # how often each contract was derived
        self._reset(None, Identities(), Delegations())

    def _reset(
        self, world: tuple[object, ...] | None, ids: Identities, grants: Delegations
    ) -> None:
        self._world = world
        self._ids = ids
        self._grants = grants
        self._mark = 0
        self._events: dict[str, _Held] = {}
        self._hanging: dict[str, list[str]] = defaultdict(list)
        self._roots: set[str] = set()
        self._enders: set[str] = set()
        self._by_brief: dict[str, set[str]] = defaultdict(set)
        self._kept: dict[str, _Kept] = {}
        self._actions: dict[tuple[str, str], tuple[_Kept, int, tuple[str, ...]]] = {}
        self._version = -1
        self.generation += 1

    # -- reading ------------------------------------------------------------------------

    def events(self, kinds: Sequence[str] = CONTRACT_KINDS) -> list[Event]:
        """Every sealed record of `kinds` the owner is a party to, could open and that has
        effect, its parties as members (SPEC §14.6), a delegate's as its organisation's
        where it counts so (SPEC §15.4)."""
        with self._lock:
            self._catch_up()
            held = list(self._events.values())
            if _DELEGATED.isdisjoint(kinds):  # no record of these kinds is ever delegated
                return [h.event for h in held if h.event.kind in kinds]
            # Whose a record is reads the offer it names, whatever `kinds` asks for.
            read = as_organisation(held, self._grants)
            return [event for event in read if event.kind in kinds]

    def event(self, record_id: str) -> Event | None:
        """The sealed record `record_id` as `events` reads it."""
        with self._lock:
            self._catch_up()
            held = self._events.get(record_id)
            if held is None:
                return None
            # Whose a delegate's record is reads only the offer its contract names.
            named = self._events.get(str(held.event.body.get("contract", "")))
            return as_organisation([held, *([named] if named else [])], self._grants)[0]

    def delegate_of(self, record_id: str) -> str | None:
        """SPEC §15.4: the delegate of the contract `record_id` belongs to (its first offer's
        third recipient, the delegate that wrote it), or None."""
        with self._lock:
            self._catch_up()
            root = self._root_of(record_id)
            if root is None:
                return None
            return rules.delegate(self._events[root].event)

    def unreadable(self) -> dict[str, str]:
        """Sealed records addressed to the owner that do not open, with the reason."""
        with self._lock:
            self._catch_up()
            return {rid: o.problem for rid, o in self._opened.items() if o.problem}

    def brief(self, brief_id: str) -> Brief | None:
        """The brief `brief_id`, when held with effect (as `Node.briefs` would list it)."""
        with self._lock:
            self._catch_up()
            return derive.brief(self.node.store, brief_id, self._ids, self._grants)

    def contracts(self, now: int) -> dict[str, Contract]:
        """Every contract at `now`, by id; only those whose records or time changed are
        derived again."""
        with self._lock:
            self._catch_up()
            return self._found(self._roots, now)

    def contract(self, contract_id: str, now: int) -> Contract | None:
        with self._lock:
            self._catch_up()
            if contract_id not in self._roots:
                return None
            return self._kept_at(contract_id, now).contract

    def ended(self, now: int) -> dict[str, Contract]:
        """The contracts that ended by `now` (only those with a `complete` or `cancel`)."""
        with self._lock:
            self._catch_up()
            roots = {self._root_of(eid) for eid in self._enders}
            found = self._found((r for r in roots if r is not None), now)
            return {cid: c for cid, c in found.items() if c.ended_at is not None}

    def actions(self, contract: Contract, did: str, now: int) -> list[str]:
        """`contract.actions(did, now)`, worked out once while the contract is kept: what a
        party may do changes only where the contract does, and at the very second it was
        derived at (a record of that second makes a step `too_soon`)."""
        with self._lock:
            kept = self._kept.get(contract.id)
            if kept is None or kept.contract is not contract or not kept.holds(now):
                return contract.actions(did, now)
            cached = self._actions.get((contract.id, did))
            if cached is not None and cached[0] is kept:
                then = cached[1]
                if now == then or (now > kept.at and then > kept.at):
                    return list(cached[2])
            found = contract.actions(did, now)
            self._actions[(contract.id, did)] = (kept, now, tuple(found))
            return found

    def thread_of(self, event: Event, now: int) -> dict[str, Contract]:
        """The contract `event` (held or not) would belong to at `now`, by id, or nothing:
        what `contracts.refusal` needs to judge it."""
        with self._lock:
            self._catch_up()
            named = anchor(event)
            root = None if named is None else self._root_of(named)
            found = None if root is None else self._kept_at(root, now).contract
            return {} if found is None else {found.id: found}

    # -- keeping ------------------------------------------------------------------------

    def _found(self, roots: Iterable[str], now: int) -> dict[str, Contract]:
        found = {}
        for root in roots:
            contract = self._kept_at(root, now).contract
            if contract is not None:
                found[root] = contract
        return found

    def _root_of(self, record_id: str) -> str | None:
        """The first offer that `record_id` reaches through the offers held, if any."""
        seen: set[str] = set()
        event = self._event(record_id)
        while event is not None and event.id not in seen:
            seen.add(event.id)
            named = anchor(event)
            if named is None:
                return event.id if event.kind == "offer" else None
            event = self._event(named)
            if event is not None and event.kind != "offer":
                return None
        return None

    def _event(self, record_id: str) -> Event | None:
        held = self._events.get(record_id)
        return None if held is None or held.event.kind not in CONTRACT_KINDS else held.event

    def _thread(self, root: str) -> list[Event]:
        """Every held record that can reach `root` (a superset of its thread at any `now`),
        a delegate's as its organisation's where it counts so."""
        found = [self._events[root]]
        stack, seen = [root], {root}
        while stack:
            for eid in self._hanging.get(stack.pop(), ()):
                if eid not in seen:
                    seen.add(eid)
                    held = self._events[eid]
                    found.append(held)
                    if held.event.kind == "offer":
                        stack.append(eid)
        return as_organisation(found, self._grants)

    def _kept_at(self, root: str, now: int) -> _Kept:
        kept = self._kept.get(root)
        if kept is not None and kept.holds(now):
            return kept
        thread = self._thread(root)
        brief_id = self._events[root].event.body["brief"]
        brief = derive.brief(self.node.store, brief_id, self._ids, self._grants)
        briefs = {} if brief is None else {brief_id: brief}
        contract = rules.derive(thread, briefs=briefs, now=now).get(root)
        self.derivations[root] += 1
        changes = [e.created_at for e in thread if e.created_at > now]
        if contract is not None and contract.next_due is not None:
            changes.append(contract.next_due)
        kept = _Kept(contract, now, min(changes, default=None))
        self._kept[root] = kept
        return kept

    def _add(self, held: _Held) -> None:
        event = held.event
        self._events[event.id] = held
        if event.kind not in CONTRACT_KINDS:
            return  # a conversation's message: no contract reads it
        named = anchor(event)
        if named is not None:
            self._hanging[named].append(event.id)
        elif event.kind == "offer":
            self._roots.add(event.id)
            self._by_brief[event.body["brief"]].add(event.id)
        if event.kind in _ENDS:
            self._enders.add(event.id)
        root = self._root_of(event.id)
        if root is not None:
            self._kept.pop(root, None)

    def _catch_up(self) -> None:
        """Take in what reached the store since the last look (the caller holds the lock)."""
        node = self.node
        held = node.keyring.held()
        dids = [identity.did for identity in held]
        world = (tuple(dids), tuple((p.author, p.seq) for p in node.store.forks()))
        if world != self._world:
            ids = derive.identities(node.store)
            self._reset(world, ids, derive.delegations(node.store, ids))
        version = node.store.version
        mark, rows = node.store.refs_since(self._mark, SEALED_KINDS, dids, _WATCHED)
        # Which keys are one member can also change with a record that is none of the
        # identity kinds (a vote's window starts at a record's `created`): while any identity
        # record is held, resolve again whenever the store changed. Who speaks for an
        # organisation changes with a grant or revocation, or with the identities.
        arrived = {kind for _, kind, *_ in rows}
        ids = self._ids
        if not arrived.isdisjoint(IDENTITY_KINDS) or (
            not ids.is_trivial() and version != self._version
        ):
            ids = derive.identities(node.store)
        grants = self._grants
        if ids != self._ids or not arrived.isdisjoint(DELEGATION_KINDS):
            grants = derive.delegations(node.store, ids)
        if ids != self._ids or grants != self._grants:
            self._reset(world, ids, grants)
            mark, rows = node.store.refs_since(0, SEALED_KINDS, dids, _WATCHED)
        self._mark, self._version = mark, version
        # SPEC §14.6: a record sealed to several of the owner's keys opens with the newest.
        rank = {did: place for place, did in enumerate(dids)}
        sealed: dict[str, tuple[int, str, int, bytes]] = {}
        for rid, kind, value, author, seq, canonical in rows:
            if kind == "brief":
                for root in self._by_brief.get(rid, ()):
                    self._kept.pop(root, None)
            elif kind in SEALED_KINDS and canonical is not None and rid not in self._events:
                place = rank[value]
                if rid not in sealed or place < sealed[rid][0]:
                    sealed[rid] = (place, author, seq, canonical)
        for rid, (place, author, seq, canonical) in sealed.items():
            opened = self._open(rid, held[place], canonical)
            if opened.event is None or not self._ids.has_effect(author, seq):
                continue
            event = opened.event
            read = event if self._ids.is_trivial() else as_member(event, self._ids)
            self._add(_Held(read, author, seq))

    def _open(self, rid: str, opener: Identity, canonical: bytes) -> _Opened:
        """Open a sealed record once (what it says, or why it does not open, is kept)."""
        found = self._opened.get(rid)
        if found is not None:
            return found
        record = parse_json(canonical)
        try:
            inner = open_sealed(opener, record["author"], record["kind"], record["body"])
        except ProtocolError as exc:
            found = _Opened(None, exc.detail)
        else:
            parties = set(recipients(record["body"]))
            if record["kind"] == "offer" and not _offer_sealed_well(
                record["author"], parties, inner
            ):
                found = _Opened(None, "an offer must be sealed to its two parties")
            else:
                expires = record.get("expires")
                found = _Opened(
                    Event(
                        id=rid,
                        kind=record["kind"],
                        author=record["author"],
                        created_at=parse_timestamp(record["created"]),
                        expires_at=parse_timestamp(expires) if expires else None,
                        body=inner,
                        parties=tuple(sorted(parties)),
                    ),
                    seq=record["seq"],
                )
        self._opened[rid] = found
        return found
