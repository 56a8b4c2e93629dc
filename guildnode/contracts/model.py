"""The values of a contract and its one lifecycle table (SPEC §12.3).

Constants of the rules, the opened record (`Event`), the parts a replay builds (`Offer`,
`Milestone`, `Entry`) and `TRANSITIONS`, the table every record and time event goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

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
    parties: tuple[str, ...] = ()  # the public recipients, sorted (SPEC §6.9)


def delegate(offer: Event) -> str | None:
    """SPEC §15.4: an offer's third recipient, beside its `organisation` and `freelancer`
    (for a first offer, the delegate that wrote it), or None when it has none."""
    extra = set(offer.parties) - {offer.body["organisation"], offer.body["freelancer"]}
    return extra.pop() if len(extra) == 1 else None


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
