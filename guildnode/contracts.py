"""Contracts: their state, derived from the sealed records of a thread (SPEC §12.3).

Pure: opened records (`Event`s), the held briefs and `now` in; contracts out. Nothing is
stored: a contract is replayed from its records whenever it is needed, so the same records
give the same contract on both parties' nodes, whatever order they arrived in.

A contract is a *thread*: its first offer (the one without `answers`, whose id is the
contract id), the counter-offers reached through `answers`, the `accept`/`decline` of those
offers, and the `milestone`, `payment`, `complete` and `cancel` records naming the contract.
Records are replayed in (created, phase, record id) order — within a second, in the order a
contract runs (`_phase`) — through `TRANSITIONS`, the one table of
the lifecycle; a record whose row is missing or whose guard fails has no effect and is shown
on the timeline with its reason. Time events — the open offer's respond-by passing, a
milestone approved by default 14 days after its submission — happen at their moment, before
any record of the same second, and at `now` at the latest.

Records dated after `now` do not count yet (as in SPEC §12.1). Records that belong to no
thread (an `accept` of an unknown offer, a `milestone` of an unknown contract) are ignored,
and so is a thread whose first offer has no effect: there is no contract to show it in.

`refusal` runs a record the owner is about to publish through the same replay, so what the
node refuses and what would have no effect can never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .briefs import Brief
from .money import ISO_4217, format_money
from .protocol import parse_timestamp

DAY = 86_400
MAX_CONTRACT_DAYS = 180
DEFAULT_RESPOND_DAYS = 7
AUTO_APPROVE_DAYS = 14
PAY_ON_TIME_DAYS = 14

Problem = tuple[str, str]  # (stable code, sentence)

STATES = ("offered", "countered", "declined", "expired", "active", "completed", "cancelled")

# SPEC §12.3: the lifecycle, (state, event) → state; None is "no contract yet". Record events
# are named for what they do (`offer` is a first offer, `counter` one with `answers`, `submit`
# and `approve` are `milestone` actions, `paid` and `received` are `payment` actions); `expire`
# and `auto_approve` are time events. A pair not in the table has no effect.
TRANSITIONS: Mapping[tuple[str | None, str], str] = MappingProxyType(
    {
        (None, "offer"): "offered",
        ("offered", "counter"): "countered",
        ("countered", "counter"): "countered",
        ("offered", "accept"): "active",
        ("countered", "accept"): "active",
        ("offered", "decline"): "declined",
        ("countered", "decline"): "declined",
        ("offered", "expire"): "expired",
        ("countered", "expire"): "expired",
        ("active", "submit"): "active",
        ("active", "approve"): "active",
        ("active", "auto_approve"): "active",
        ("active", "paid"): "active",
        ("completed", "paid"): "completed",
        ("cancelled", "paid"): "cancelled",
        ("active", "received"): "active",
        ("completed", "received"): "completed",
        ("cancelled", "received"): "cancelled",
        ("active", "complete"): "completed",
        ("active", "cancel"): "cancelled",
    }
)

_OFFER_EVENTS = frozenset({"counter", "accept", "decline"})
_CONTRACT_KINDS = frozenset({"milestone", "payment", "complete", "cancel"})


@dataclass(frozen=True, slots=True)
class Event:
    """A sealed record as its party opened it; `body` is the schema-valid inner body."""

    id: str
    kind: str
    author: str
    created_at: int
    expires_at: int | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer of the thread that took effect. `status`: open, countered, accepted,
    declined or expired."""

    id: str
    author: str
    created_at: int
    respond_by: int
    terms: dict[str, Any]
    status: str


@dataclass(frozen=True, slots=True)
class Milestone:
    index: int
    title: str
    amount: int
    currency: str
    due: int
    submitted_at: int | None = None
    approved_at: int | None = None
    approved_by_default: bool = False
    paid_at: int | None = None
    received_at: int | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a contract's timeline: a record (with `record` its id) or a time event
    (`author` None). `event` names the row of `TRANSITIONS` it asked for."""

    at: int
    kind: str
    event: str
    author: str | None
    summary: str
    effect: bool
    problem: Problem | None = None
    record: str | None = None


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

    @property
    def parties(self) -> frozenset[str]:
        return frozenset({self.organisation, self.freelancer})

    def actions(self, did: str, now: int) -> list[str]:
        """What `did` may publish at `now` that would take effect: each is checked by
        `refusal`, so a listed action is never refused."""
        if did not in self.parties:
            return []
        found = [
            name for name, event in self._candidates(did, now) if not refusal(self, event, now)
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


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal on a brief. `status`: open, expired, or no_effect (see `problem`)."""

    id: str
    brief: str
    author: str
    price: dict[str, Any]
    duration_days: int
    available_from: int
    created_at: int
    expires_at: int | None  # the envelope's, else the brief's (when held)
    status: str
    problem: Problem | None = None


# -- deriving --------------------------------------------------------------------------


def derive(
    events: Iterable[Event], *, briefs: Mapping[str, Brief], now: int
) -> dict[str, Contract]:
    """Every contract the events make at `now`, by contract id (see the module docstring).
    Raises nothing for well-formed events: a record that breaks a rule has no effect."""
    ordered = _ordered(events, now)
    found: dict[str, Contract] = {}
    for root, thread in _threads(ordered):
        machine, _ = _replay(thread, root, now=now, briefs=briefs)
        if machine.state is not None:
            found[root.id] = machine.contract(tuple(thread))
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


def proposals(
    events: Iterable[Event], *, now: int, briefs: Mapping[str, Brief] | None = None
) -> list[Proposal]:
    """The proposals among `events`, oldest first, each open, expired (its envelope's
    `expires`, else its brief's, has passed) or without effect (`proposal_problem`)."""
    briefs = briefs or {}
    found = []
    for e in _ordered(events, now):
        if e.kind != "proposal":
            continue
        brief = briefs.get(e.body["brief"])
        expires = e.expires_at
        if expires is None and brief is not None:
            expires = brief.expires_at
        problem = proposal_problem(e, briefs=briefs)
        expired = expires is not None and expires <= now
        status = "no_effect" if problem else "expired" if expired else "open"
        found.append(
            Proposal(
                id=e.id,
                brief=e.body["brief"],
                author=e.author,
                price=e.body["price"],
                duration_days=e.body["duration_days"],
                available_from=parse_timestamp(e.body["available_from"]),
                created_at=e.created_at,
                expires_at=expires,
                status=status,
                problem=problem,
            )
        )
    return found


def proposal_problem(event: Event, *, briefs: Mapping[str, Brief]) -> Problem | None:
    """Why a proposal has no effect (SPEC §12.3): its currency is not ISO 4217, or the brief,
    when held, was not open when the proposal was created."""
    currency = event.body["price"]["currency"]
    if currency not in ISO_4217:
        return ("invalid_currency", f"{currency} is not an ISO 4217 currency.")
    brief = briefs.get(event.body["brief"])
    if brief is not None and not brief.is_open(event.created_at):
        return ("brief_closed", "The brief was closed when the proposal was made.")
    return None


def terms_problem(
    terms: Mapping[str, Any], *, brief: Brief | None = None, first: bool = True
) -> Problem | None:
    """Why an offer's terms give it no effect (SPEC §12.3 "offer" effect rules), or None.
    `brief` (when held) is checked only for a first offer (`first`)."""
    starts, ends = parse_timestamp(terms["starts"]), parse_timestamp(terms["ends"])
    currency = terms["price"]["currency"]
    if terms["organisation"] == terms["freelancer"]:
        return ("invalid_terms", "The organisation and the freelancer must be two parties.")
    if ends <= starts:
        return ("invalid_terms", "A contract must end after it starts.")
    if ends > starts + MAX_CONTRACT_DAYS * DAY:
        return ("contract_too_long", f"A contract may last at most {MAX_CONTRACT_DAYS} days.")
    if currency not in ISO_4217:
        return ("invalid_currency", f"{currency} is not an ISO 4217 currency.")
    if sum(m["amount"] for m in terms["milestones"]) != terms["price"]["amount"]:
        return ("invalid_terms", "The milestone amounts must add up to the price.")
    if any(not starts <= parse_timestamp(m["due"]) <= ends for m in terms["milestones"]):
        return ("invalid_terms", "Every milestone must be due between the start and the end.")
    if first and brief is not None and brief.author != terms["organisation"]:
        return ("invalid_terms", "The brief is not the organisation's.")
    return None


def payment_status(milestones: Iterable[Milestone], *, side: str | None = None) -> str:
    """SPEC §12.3: `none_due` when no milestone was approved; `on_time` when every approved
    milestone was paid (the organisation's `paid` and the freelancer's `received`) with the
    `paid` ≤ 14 days after approval; `late` when all were paid but some late; else `unpaid`.

    With `side` "organisation" or "freelancer", the status by that party's own attestations
    alone — its `paid`, or its `received` — as its receipt states it (SPEC §12.4)."""
    approved = [m for m in milestones if m.approved_at is not None]
    if not approved:
        return "none_due"

    def when(m: Milestone) -> int | None:
        if side == "freelancer":
            return m.received_at
        if side == "organisation" or m.received_at is not None:
            return m.paid_at
        return None

    times = [(when(m), m.approved_at or 0) for m in approved]
    if any(at is None for at, _ in times):
        return "unpaid"
    late = any((at or 0) > approval + PAY_ON_TIME_DAYS * DAY for at, approval in times)
    return "late" if late else "on_time"


# -- the replay ------------------------------------------------------------------------


# Within one second, records sort in the order a contract runs (SPEC §12.3), so that steps
# taken in quick succession (submit, approve, pay, complete) keep their meaning.
_PHASES = {"proposal": 0, "accept": 3, "decline": 3, "complete": 8, "cancel": 8}


_TOO_SOON = (
    "too_soon",
    "Another record of this contract is from this same second; "
    "try again in a second so the order is certain.",
)


def _phase(event: Event) -> int:
    body = event.body
    if event.kind == "offer":
        return 2 if "answers" in body else 1
    if event.kind == "milestone":
        return 4 if body["action"] == "submitted" else 5
    if event.kind == "payment":
        return 6 if body["action"] == "paid" else 7
    return _PHASES.get(event.kind, 9)


def _ordered(events: Iterable[Event], now: int) -> list[Event]:
    """Distinct records dated no later than `now`, in (created, phase, record id) order."""
    unique = {e.id: e for e in events if e.created_at <= now}
    return sorted(unique.values(), key=lambda e: (e.created_at, _phase(e), e.id))


def _threads(ordered: list[Event]) -> list[tuple[Event, list[Event]]]:
    """Each first offer with the records of its thread, in order. Only the thread's two
    parties' records belong to it: anyone else's are not even shown."""
    offers = {e.id: e for e in ordered if e.kind == "offer"}
    roots_of: dict[str, Event | None] = {}

    def root_of(offer_id: str) -> Event | None:
        path: list[str] = []
        root: Event | None = None
        while offer_id in offers and offer_id not in roots_of and offer_id not in path:
            path.append(offer_id)
            answers = offers[offer_id].body.get("answers")
            if answers is None:
                root = offers[offer_id]
                break
            offer_id = answers
        else:
            root = roots_of.get(offer_id)
        for seen in path:  # each offer is walked once, however long the chain of counters
            roots_of[seen] = root
        return root

    roots = {e.id: e for e in offers.values() if "answers" not in e.body}
    threads: dict[str, list[Event]] = {}
    for e in ordered:
        if e.kind == "offer":
            root = root_of(e.id)
        elif e.kind in ("accept", "decline"):
            root = root_of(e.body["offer"])
        elif e.kind in _CONTRACT_KINDS:
            root = roots.get(e.body["contract"])
        else:
            root = None
        if root is not None and e.author in (
            root.body["organisation"],
            root.body["freelancer"],
        ):
            threads.setdefault(root.id, []).append(e)
    return [(roots[rid], thread) for rid, thread in threads.items()]


def _name(event: Event, root: Event) -> str:
    """The event of `TRANSITIONS` a record asks for."""
    body = event.body
    if event.kind == "offer":
        return "offer" if event.id == root.id and "answers" not in body else "counter"
    if event.kind == "milestone":
        return "submit" if body["action"] == "submitted" else "approve"
    if event.kind == "payment":
        return body["action"]  # type: ignore[no-any-return]
    return event.kind


def _replay(
    events: list[Event], root: Event, *, now: int, briefs: Mapping[str, Brief]
) -> tuple[_Machine, list[Problem | None]]:
    """Run `events` (in the given order) through the table; each event's problem or None."""
    machine = _Machine(root, briefs)
    outcomes = []
    for event in events:
        machine.advance(event.created_at)
        outcomes.append(machine.handle(event))
    machine.advance(now)
    return machine, outcomes


class _Machine:
    """One thread's state during a replay (mutable, private)."""

    def __init__(self, root: Event, briefs: Mapping[str, Brief]) -> None:
        self.root = root
        self.briefs = briefs
        self.organisation: str = root.body["organisation"]
        self.freelancer: str = root.body["freelancer"]
        self.state: str | None = None
        self.offers: list[Offer] = []
        self.milestones: list[Milestone] = []
        self.timeline: list[Entry] = []
        self.ended_at: int | None = None

    def advance(self, until: int) -> None:
        """Apply the time events due at or before `until`, earliest first."""
        while True:
            due: list[tuple[int, str, int]] = []
            if (self.state, "expire") in TRANSITIONS:
                due.append((self.offers[-1].respond_by, "expire", -1))
            if (self.state, "auto_approve") in TRANSITIONS:
                due += [
                    (m.submitted_at + AUTO_APPROVE_DAYS * DAY, "auto_approve", m.index)
                    for m in self.milestones
                    if m.submitted_at is not None and m.approved_at is None
                ]
            if not due or min(due)[0] > until:
                return
            at, name, index = min(due)
            if name == "expire":
                self._set_status("expired")
                summary = "The offer expired unanswered."
            else:
                self._update(index, approved_at=at, approved_by_default=True)
                summary = (
                    f"Milestone {index + 1} approved by default, "
                    f"{AUTO_APPROVE_DAYS} days after its submission."
                )
            self.state = TRANSITIONS[(self.state, name)]
            self.timeline.append(Entry(at, name, name, None, summary, True))

    def handle(self, event: Event) -> Problem | None:
        name = _name(event, self.root)
        check, apply = _RULES[name]
        problem = self._party(event, name) or self._row(event, name) or check(self, event)
        if problem is None:
            target = TRANSITIONS[(self.state, name)]
            apply(self, event)
            self.state = target
        self.timeline.append(
            Entry(
                event.created_at,
                event.kind,
                name,
                event.author,
                _summary(name, event),
                problem is None,
                problem,
                event.id,
            )
        )
        return problem

    def _party(self, event: Event, name: str) -> Problem | None:
        if event.author not in (self.organisation, self.freelancer):
            return ("not_a_party", "Only the organisation and the freelancer take part.")
        if name == "offer" and event.author != self.organisation:
            return ("not_organisation", "Only the organisation opens a contract with an offer.")
        return None

    def _row(self, event: Event, name: str) -> Problem | None:
        if name in _OFFER_EVENTS:
            named = event.body["answers" if name == "counter" else "offer"]
            if not self.offers or named != self.offers[-1].id:
                return ("not_open", "That offer is not the open offer of the contract.")
        if (self.state, name) in TRANSITIONS:
            return None
        if name in _OFFER_EVENTS:
            if self.state == "expired":
                return ("offer_expired", "The offer expired before this answer.")
            return ("not_open", f"The offer is no longer open: the contract is {self.state}.")
        return ("not_active", f"The contract is {self.state or 'not offered yet'}, not active.")

    def other(self, did: str) -> str:
        return self.freelancer if did == self.organisation else self.organisation

    def milestone(self, event: Event) -> Milestone | None:
        index = event.body["index"]
        return self.milestones[index] if 0 <= index < len(self.milestones) else None

    def _update(self, index: int, **changes: Any) -> None:
        self.milestones[index] = dataclasses.replace(self.milestones[index], **changes)

    def _set_status(self, status: str) -> None:
        self.offers[-1] = dataclasses.replace(self.offers[-1], status=status)

    def add_offer(self, event: Event) -> None:
        if self.offers:
            self._set_status("countered")
        terms = event.body
        respond_by = event.expires_at
        if respond_by is None:
            respond_by = event.created_at + DEFAULT_RESPOND_DAYS * DAY
        self.offers.append(
            Offer(event.id, event.author, event.created_at, respond_by, terms, "open")
        )
        currency = terms["price"]["currency"]
        self.milestones = [
            Milestone(i, m["title"], m["amount"], currency, parse_timestamp(m["due"]))
            for i, m in enumerate(terms["milestones"])
        ]

    def contract(self, events: tuple[Event, ...]) -> Contract:
        body = self.root.body
        return Contract(
            id=self.root.id,
            brief=body["brief"],
            organisation=self.organisation,
            freelancer=self.freelancer,
            proposal=body.get("proposal"),
            state=self.state or "",
            offers=tuple(self.offers),
            terms=self.offers[-1].terms,
            milestones=tuple(self.milestones),
            ended_at=self.ended_at,
            payment=payment_status(self.milestones),
            timeline=tuple(self.timeline),
            events=events,
        )


# -- guards (checks) and effects, one pair per event of the table -----------------------

_Check = Callable[[_Machine, Event], Problem | None]
_Apply = Callable[[_Machine, Event], None]


def _check_offer(m: _Machine, e: Event) -> Problem | None:
    # SPEC §12.3: a first offer is the organisation's (checked with the party), terms valid.
    return terms_problem(e.body, brief=m.briefs.get(e.body["brief"]))


def _check_answer(m: _Machine, e: Event) -> Problem | None:
    # SPEC §12.3: only the open offer's other party answers it, and before its respond-by.
    open_offer = m.offers[-1]
    if e.author != m.other(open_offer.author):
        return ("not_addressed_to_you", "Only the other party can answer this offer.")
    if e.kind != "decline" and e.created_at >= open_offer.respond_by:  # (the time event
        # `expire` comes first, so this only restates the guard of SPEC §12.3)
        return ("offer_expired", "The offer expired before this answer.")
    return None


def _check_counter(m: _Machine, e: Event) -> Problem | None:
    problem = _check_answer(m, e)
    if problem is not None:
        return problem
    same = ("organisation", "freelancer", "brief")
    if any(e.body[key] != m.root.body[key] for key in same):
        return ("invalid_terms", "A counter-offer keeps the parties and the brief.")
    return terms_problem(e.body, first=False)


def _check_milestone(m: _Machine, e: Event, role: str) -> tuple[Problem | None, Milestone | None]:
    if e.author != (m.organisation if role == "organisation" else m.freelancer):
        return ("wrong_party", f"Only the {role} may do that."), None
    milestone = m.milestone(e)
    if milestone is None:
        return ("unknown_milestone", f"The contract has no milestone {e.body['index'] + 1}."), None
    return None, milestone


def _check_submit(m: _Machine, e: Event) -> Problem | None:
    problem, milestone = _check_milestone(m, e, "freelancer")
    if milestone is not None and milestone.submitted_at is not None:
        return ("already_submitted", f"Milestone {milestone.index + 1} was already submitted.")
    return problem


def _check_approve(m: _Machine, e: Event) -> Problem | None:
    problem, milestone = _check_milestone(m, e, "organisation")
    if milestone is not None and milestone.submitted_at is None:
        return ("not_submitted", f"Milestone {milestone.index + 1} has not been submitted.")
    if milestone is not None and milestone.approved_at is not None:
        return ("already_approved", f"Milestone {milestone.index + 1} was already approved.")
    return problem


def _check_paid(m: _Machine, e: Event) -> Problem | None:
    problem, milestone = _check_milestone(m, e, "organisation")
    if milestone is None:
        return problem
    if e.body["amount"] != {"amount": milestone.amount, "currency": milestone.currency}:
        return (
            "amount_mismatch",
            f"Milestone {milestone.index + 1} is {milestone.amount} {milestone.currency}.",
        )
    if milestone.paid_at is not None:
        return ("already_paid", f"Milestone {milestone.index + 1} was already paid.")
    return None


def _check_received(m: _Machine, e: Event) -> Problem | None:
    problem, milestone = _check_milestone(m, e, "freelancer")
    if milestone is not None and milestone.received_at is not None:
        return ("already_received", f"Payment of milestone {milestone.index + 1} was received.")
    return problem


def _check_complete(m: _Machine, e: Event) -> Problem | None:
    pending = [ms.index + 1 for ms in m.milestones if ms.approved_at is None]
    if pending:
        listed = ", ".join(map(str, pending))
        return ("milestones_pending", f"Milestones not yet approved: {listed}.")
    return None


def _no_check(m: _Machine, e: Event) -> Problem | None:
    return None


def _end(m: _Machine, e: Event) -> None:
    m.ended_at = e.created_at


def _mark(field: str) -> _Apply:
    def apply(m: _Machine, e: Event) -> None:
        m._update(e.body["index"], **{field: e.created_at})

    return apply


_RULES: Mapping[str, tuple[_Check, _Apply]] = MappingProxyType(
    {
        "offer": (_check_offer, _Machine.add_offer),
        "counter": (_check_counter, _Machine.add_offer),
        "accept": (_check_answer, lambda m, e: m._set_status("accepted")),
        "decline": (_check_answer, lambda m, e: m._set_status("declined")),
        "submit": (_check_submit, _mark("submitted_at")),
        "approve": (_check_approve, _mark("approved_at")),
        "paid": (_check_paid, _mark("paid_at")),
        "received": (_check_received, _mark("received_at")),
        "complete": (_check_complete, _end),
        "cancel": (_no_check, _end),
    }
)


def _contract_of(held: Mapping[str, Contract], event: Event) -> Contract | None:
    if event.kind in _CONTRACT_KINDS:
        return held.get(event.body["contract"])
    named = event.body["answers" if event.kind == "offer" else "offer"]
    for contract in held.values():
        if any(e.id == named and e.kind == "offer" for e in contract.events):
            return contract
    return None


_DONE = {"accept": "Accepted", "decline": "Declined", "submit": "Submitted", "approve": "Approved"}


def _summary(name: str, e: Event) -> str:
    """One line of the timeline, as people read it (amounts in major units)."""
    body = e.body
    if name in ("offer", "counter"):
        price = body["price"]
        return (
            f"{'Offer' if name == 'offer' else 'Counter-offer'}: "
            f"{format_money(price['amount'], price['currency'])} in "
            f"{len(body['milestones'])} milestone(s), "
            f"{body['starts'][:10]} to {body['ends'][:10]}."
        )
    if name in ("accept", "decline"):
        reason = f" ({body['reason']})" if body.get("reason") else ""
        return f"{_DONE[name]} the offer{reason}."
    if name in ("submit", "approve"):
        return f"{_DONE[name]} milestone {body['index'] + 1}."
    if name == "paid":
        paid = format_money(body["amount"]["amount"], body["amount"]["currency"])
        return f"Paid {paid} for milestone {body['index'] + 1}."
    if name == "received":
        return f"Received the payment for milestone {body['index'] + 1}."
    if name == "complete":
        return "Marked the contract complete."
    return f"Cancelled the contract: {body['reason']}"
