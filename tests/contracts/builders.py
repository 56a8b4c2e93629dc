"""Opened sealed records built by hand, for the pure contract derivation (no crypto)."""

from __future__ import annotations

import hashlib
from typing import Any

from guildnode.briefs import Brief
from guildnode.contracts import Contract, Event, derive
from guildnode.protocol import format_timestamp

T0 = 1_790_000_000
DAY = 86_400
HOUR = 3_600
ORG = "did:key:z6MkOrganisation"
FREE = "did:key:z6MkFreelancer"
STRANGER = "did:key:z6MkStranger"


def rid(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


BRIEF = rid("brief")
O1 = rid("o1")  # the contract id in most tests


def brief(author: str = ORG, created: int = T0 - DAY, expires: int = T0 + 20 * DAY) -> Brief:
    body = {"guilds": [], "budget": {"min": 1, "max": 1000, "currency": "EUR"}}
    return Brief(BRIEF, author, created, expires, body)


def terms(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "brief": BRIEF,
        "organisation": ORG,
        "freelancer": FREE,
        "scope": "Build the thing",
        "acceptance_criteria": ["It works"],
        "price": {"amount": 300, "currency": "EUR"},
        "milestones": [
            {"title": "Design", "amount": 100, "due": format_timestamp(T0 + 10 * DAY)},
            {"title": "Build", "amount": 200, "due": format_timestamp(T0 + 20 * DAY)},
        ],
        "starts": format_timestamp(T0),
        "ends": format_timestamp(T0 + 30 * DAY),
    }
    body.update(changes)
    return body


def offer(
    label: str = "o1",
    *,
    at: int = T0,
    author: str = ORG,
    expires: int | None = None,
    answers: str | None = None,
    **changes: Any,
) -> Event:
    body = terms(**changes)
    if answers is not None:
        body["answers"] = answers
    return Event(rid(label), "offer", author, at, expires, body)


def accept(label: str, offer_id: str, *, at: int, author: str = FREE) -> Event:
    return Event(rid(label), "accept", author, at, None, {"offer": offer_id})


def decline(label: str, offer_id: str, *, at: int, author: str = FREE) -> Event:
    return Event(rid(label), "decline", author, at, None, {"offer": offer_id, "reason": "busy"})


def milestone(
    label: str, index: int, action: str, *, at: int, author: str | None = None, contract: str = O1
) -> Event:
    who = author or (FREE if action == "submitted" else ORG)
    body = {"contract": contract, "index": index, "action": action}
    return Event(rid(label), "milestone", who, at, None, body)


def payment(
    label: str,
    index: int,
    action: str,
    *,
    at: int,
    amount: int | None = None,
    currency: str = "EUR",
    author: str | None = None,
    contract: str = O1,
) -> Event:
    who = author or (ORG if action == "paid" else FREE)
    money = {"amount": amount if amount is not None else (100, 200)[index], "currency": currency}
    body = {"contract": contract, "index": index, "amount": money, "action": action}
    return Event(rid(label), "payment", who, at, None, body)


def complete(label: str, *, at: int, author: str = FREE, contract: str = O1) -> Event:
    return Event(rid(label), "complete", author, at, None, {"contract": contract})


def cancel(label: str, *, at: int, author: str = ORG, contract: str = O1) -> Event:
    body = {"contract": contract, "reason": "No longer needed"}
    return Event(rid(label), "cancel", author, at, None, body)


def active(at: int = T0 + HOUR) -> list[Event]:
    """An offer accepted by the freelancer an hour later."""
    return [offer(), accept("a1", O1, at=at)]


def approved(at: int = T0 + 2 * DAY) -> list[Event]:
    """Active, with both milestones submitted (a day earlier) and approved at `at`."""
    return [
        *active(),
        milestone("s0", 0, "submitted", at=at - DAY),
        milestone("s1", 1, "submitted", at=at - DAY),
        milestone("p0", 0, "approved", at=at),
        milestone("p1", 1, "approved", at=at),
    ]


def one(events: list[Event], now: int, briefs: dict[str, Brief] | None = None) -> Contract:
    return derive(events, briefs=briefs or {}, now=now)[O1]
