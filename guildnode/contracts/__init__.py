"""Contracts: their state, derived from the sealed records of a thread (SPEC §12.3).

Pure: opened records (`Event`s), the held briefs and `now` in; contracts out. Nothing is
stored: a contract is replayed from its records whenever it is needed, so the same records
give the same contract on both parties' nodes, whatever order they arrived in.

A contract is a *thread*: its first offer (the one without `answers`, whose id is the
contract id), the counter-offers reached through `answers`, the `accept`/`decline` of those
offers, and the `milestone`, `payment`, `complete` and `cancel` records naming the contract.
Records are replayed in (created, phase, record id) order — within a second, in the order a
contract runs (`order._phase`) — through `TRANSITIONS`, the one table of
the lifecycle; a record whose row is missing or whose guard fails has no effect and is shown
on the timeline with its reason. Time events — the open offer's respond-by passing, a
milestone approved by default 14 days after its submission — happen at their moment, before
any record of the same second, and at `now` at the latest.

Records dated after `now` do not count yet (as in SPEC §12.1). Records that belong to no
thread (an `accept` of an unknown offer, a `milestone` of an unknown contract) are ignored,
and so is a thread whose first offer has no effect: there is no contract to show it in.

`refusal` runs a record the owner is about to publish through the same replay, so what the
node refuses and what would have no effect can never disagree.

The modules: `model` (constants, values, `TRANSITIONS`), `terms` (an offer's terms, payment
status), `order` (ordering and threads), `machine` (the replay and its guards and effects),
`contract` (`Contract`, `derive`, `refusal`) and `proposal` (`Proposal`, `proposals`).
"""

from .contract import Contract, derive, refusal
from .model import (
    AUTO_APPROVE_DAYS,
    DAY,
    DEFAULT_RESPOND_DAYS,
    MAX_CONTRACT_DAYS,
    PAY_ON_TIME_DAYS,
    STATES,
    TRANSITIONS,
    Entry,
    Event,
    Milestone,
    Offer,
    Problem,
    delegate,
)
from .proposal import Proposal, proposal_problem, proposals
from .terms import pay_by, payment_status, terms_problem

__all__ = [
    "AUTO_APPROVE_DAYS",
    "DAY",
    "DEFAULT_RESPOND_DAYS",
    "MAX_CONTRACT_DAYS",
    "PAY_ON_TIME_DAYS",
    "STATES",
    "TRANSITIONS",
    "Contract",
    "Entry",
    "Event",
    "Milestone",
    "Offer",
    "Problem",
    "Proposal",
    "delegate",
    "derive",
    "pay_by",
    "payment_status",
    "proposal_problem",
    "proposals",
    "refusal",
    "terms_problem",
]
