"""Proposals on briefs, as the opened records show them (SPEC §12.3 "Proposals").

A proposal takes no part in a contract's lifecycle: it is open, expired or without effect,
read off its record, its brief (when held) and `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..briefs import Brief
from ..money import ISO_4217
from ..protocol import parse_timestamp
from .model import Event, Problem
from .order import _ordered


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
