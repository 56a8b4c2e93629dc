"""A contract as both parties see it: derived by replay, and what it refuses (SPEC §12.3).

`derive` replays every thread of the records up to `now` and keeps those whose first offer
took effect. `refusal` runs a record the owner is about to publish through the same replay, so
what the node refuses and what would have no effect can never disagree; `Contract.actions`
lists what `refusal` lets a party publish.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..briefs import Brief
from .machine import _Machine, _replay
from .model import _CONTRACT_KINDS, TRANSITIONS, Entry, Event, Milestone, Offer, Problem
from .order import _ordered, _phase, _threads
from .proposal import proposal_problem
from .terms import payment_status

_TOO_SOON = (
    "too_soon",
    "Another record of this contract is from this same second; "
    "try again in a second so the order is certain.",
)


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    brief: str
    organisation: str
    freelancer: str
    proposal: str | None
    state: str
    offers: tuple[Offer, ...]
    terms: dict[str, Any]  # the accepted offer's when active or later, else the open one's
    milestones: tuple[Milestone, ...]
    ended_at: int | None
    payment: str  # none_due | on_time | late | unpaid (SPEC §12.3)
    timeline: tuple[Entry, ...]
    events: tuple[Event, ...]  # the thread's records, in order
    # The moment of the next time event (an offer expiring, a milestone approved by default),
    # or None: until then, or a record dated later, the contract stays as derived.
    next_due: int | None = None

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.organisation, self.freelancer})

    def actions(self, did: str, now: int) -> list[str]:
        """What `did` may publish at `now` that would take effect: each is checked by
        `refusal`, so a listed action is never refused."""
        if did not in self.parties:
            return []
        # Time only closes doors (an offer expires) or opens one the table already has a row
        # for (a default approval, then `complete`), so a candidate without a row from the
        # derived state is never valid now: skip its replay.
        found = [
            name
            for name, event in self._candidates(did, now)
            if (self.state, name.split()[0]) in TRANSITIONS and not refusal(self, event, now)
        ]
        if self.ended_at is not None and self.ended_at <= now:
            found.append("feedback")
        return found

    def _candidates(self, did: str, now: int) -> list[tuple[str, Event]]:
        def event(kind: str, body: dict[str, Any]) -> Event:
            return Event("", kind, did, now, None, body)

        latest = self.offers[-1]
        out = [
            ("accept", event("accept", {"offer": latest.id})),
            ("decline", event("decline", {"offer": latest.id})),
            ("counter", event("offer", {**latest.terms, "answers": latest.id})),
        ]
        for m in self.milestones:
            i, ref = m.index, {"contract": self.id, "index": m.index}
            money = {"amount": m.amount, "currency": m.currency}
            out += [
                (f"submit {i}", event("milestone", {**ref, "action": "submitted"})),
                (f"approve {i}", event("milestone", {**ref, "action": "approved"})),
                (f"paid {i}", event("payment", {**ref, "amount": money, "action": "paid"})),
                (f"received {i}", event("payment", {**ref, "amount": money, "action": "received"})),
            ]
        out.append(("complete", event("complete", {"contract": self.id})))
        out.append(("cancel", event("cancel", {"contract": self.id, "reason": "cancelled"})))
        return out


def derive(
    events: Iterable[Event], *, briefs: Mapping[str, Brief], now: int
) -> dict[str, Contract]:
    """Every contract the events make at `now`, by contract id (see the package docstring).
    Raises nothing for well-formed events: a record that breaks a rule has no effect."""
    ordered = _ordered(events, now)
    found: dict[str, Contract] = {}
    for root, thread in _threads(ordered):
        machine, _ = _replay(thread, root, now=now, briefs=briefs)
        if machine.state is not None:
            found[root.id] = _contract(machine, tuple(thread))
    return found


def refusal(
    contracts: Mapping[str, Contract] | Contract,
    event: Event,
    now: int,
    *,
    briefs: Mapping[str, Brief] | None = None,
) -> Problem | None:
    """Why `event`, published at `now` (its `created_at` is replaced by `now`), would have no
    effect on the given contracts, or None when it would take effect. `briefs` is read only
    by a first offer (the organisation must be the brief's author, when held) and a proposal.

    Codes are those of the replay, plus `unknown_offer` / `unknown_contract` when the record
    names none of the given contracts, and `too_soon` when a record of the contract has the
    same second as `now` and the effect would depend on how the record ids sort."""
    event = dataclasses.replace(event, created_at=now)
    held = {contracts.id: contracts} if isinstance(contracts, Contract) else contracts
    briefs = briefs or {}
    if event.kind == "proposal":
        return proposal_problem(event, briefs=briefs)
    if event.kind == "offer" and "answers" not in event.body:
        return _replay([event], event, now=now, briefs=briefs)[1][0]
    contract = _contract_of(held, event)
    if contract is None:
        if event.kind in _CONTRACT_KINDS:
            return ("unknown_contract", "No contract with that id is known here.")
        return ("unknown_offer", "That offer is not known here.")
    # The existing contract's first offer passed the brief check when it was derived; the
    # replay without briefs gives it the same effect, as no other guard reads a brief.
    root = next(e for e in contract.events if e.id == contract.id)
    past = [e for e in contract.events if e.created_at <= now]
    slot = (now, _phase(event))
    if any(e.created_at == now and _phase(e) > slot[1] for e in past):
        # A step that runs later in a contract (say, a cancel) is held from this second:
        # published now, this record would sort before it. Wait for the next second.
        return _TOO_SOON
    first = sum(1 for e in past if (e.created_at, _phase(e)) < slot)
    last = sum(1 for e in past if (e.created_at, _phase(e)) <= slot)
    # Where the record lands among held records of its own second and phase depends on its
    # id, unknown until signed: it must take effect wherever it lands. The last place (after
    # them all) gives the plain answer; any other failing place means "wait a second".
    for position in range(last, first - 1, -1):
        placed = [*past[:position], event, *past[position:]]
        problem = _replay(placed, root, now=now, briefs={})[1][position]
        if problem is not None:
            if position == last:
                return problem
            return _TOO_SOON
    return None


def _contract_of(held: Mapping[str, Contract], event: Event) -> Contract | None:
    if event.kind in _CONTRACT_KINDS:
        return held.get(event.body["contract"])
    named = event.body["answers" if event.kind == "offer" else "offer"]
    for contract in held.values():
        if any(e.id == named and e.kind == "offer" for e in contract.events):
            return contract
    return None


def _contract(machine: _Machine, events: tuple[Event, ...]) -> Contract:
    """The contract a replay of its thread (`events`) made."""
    body = machine.root.body
    return Contract(
        id=machine.root.id,
        brief=body["brief"],
        organisation=machine.organisation,
        freelancer=machine.freelancer,
        proposal=body.get("proposal"),
        state=machine.state or "",
        offers=tuple(machine.offers),
        terms=machine.offers[-1].terms,
        milestones=tuple(machine.milestones),
        ended_at=machine.ended_at,
        payment=payment_status(machine.milestones),
        timeline=tuple(machine.timeline),
        events=events,
        next_due=due[0] if (due := machine.due()) is not None else None,
    )
