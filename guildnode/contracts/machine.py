"""The replay machine: one thread's records and time events through `TRANSITIONS` (SPEC §12.3).

`_replay` runs records in the given order: before each, the time events due by its second
(the open offer's respond-by passing, a milestone approved by default `AUTO_APPROVE_DAYS`
after its submission), then the record itself; after the last, the time events due by `now`.
A record takes effect when its author may take that step, its (state, event) row is in the
table and the event's guard in `_RULES` passes; the effect then applies and the state moves.
Either way it goes on the timeline, with its reason when it has no effect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..briefs import Brief
from ..money import format_money
from ..protocol import parse_timestamp
from .model import (
    AUTO_APPROVE_DAYS,
    DAY,
    DEFAULT_RESPOND_DAYS,
    TRANSITIONS,
    Entry,
    Event,
    Milestone,
    Offer,
    Problem,
    delegate,
)
from .terms import terms_problem

_OFFER_EVENTS = frozenset({"counter", "accept", "decline"})


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

    def due(self) -> tuple[int, str, int] | None:
        """The next time event of the current state: (moment, event, milestone index)."""
        due: list[tuple[int, str, int]] = []
        if (self.state, "expire") in TRANSITIONS:
            due.append((self.offers[-1].respond_by, "expire", -1))
        if (self.state, "auto_approve") in TRANSITIONS:
            due += [
                (m.submitted_at + AUTO_APPROVE_DAYS * DAY, "auto_approve", m.index)
                for m in self.milestones
                if m.submitted_at is not None and m.approved_at is None
            ]
        return min(due) if due else None

    def advance(self, until: int) -> None:
        """Apply the time events due at or before `until`, earliest first."""
        while True:
            due = self.due()
            if due is None or due[0] > until:
                return
            at, name, index = due
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
    # SPEC §6.9, §15.4: a counter's third recipient, if any, is the contract's delegate.
    extra = delegate(e)
    if extra is not None and extra != delegate(m.root):
        return ("invalid_terms", "A counter-offer is sealed to its contract's recipients only.")
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
