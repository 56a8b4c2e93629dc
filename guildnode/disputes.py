"""Disputes: which mediator's outcome counts on a contract, and what it changes (SPEC §17).

Pure: the public view of the held `dispute` records (author and recipients, never opened),
the `outcome` records, each contract's public parties and guild membership in; the one outcome
that counts per contract out. Every function puts its input in (created, record id) order
first, so the answer does not depend on the order records arrived in.

What a counting outcome changes — the organisation's payment record, the trust effect of a
party's feedback — is applied by `feedback.payment_record` and `feedback.as_vouches`, from the
`decided_payments` and `voided_feedback` made here (SPEC §12.4, §17.5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .protocol import parse_timestamp

Problem = tuple[str, str]  # (stable code, sentence)
# guild id, member → since when it is a current member of the guild as its governance leaves
# it (SPEC §12.5: §12.1 under the amended charter, without the removed), or None
MemberSince = Callable[[str, str], int | None]


@dataclass(frozen=True, slots=True)
class Opening:
    """What anyone can tell of a `dispute` record: its author and its public recipients."""

    id: str
    author: str
    recipients: frozenset[str]


@dataclass(frozen=True, slots=True)
class Outcome:
    """An `outcome` record."""

    id: str
    author: str
    created_at: int
    dispute: str
    contract: str
    guild: str
    finding: str
    payment: str | None
    void_feedback: frozenset[str]

    @classmethod
    def from_record(cls, record_id: str, record: Mapping[str, Any]) -> Outcome:
        """From a verified `outcome` record (its wire form)."""
        body = record["body"]
        return cls(
            record_id,
            record["author"],
            parse_timestamp(record["created"]),
            body["dispute"],
            body["contract"],
            body["guild"],
            body["finding"],
            body.get("payment"),
            frozenset(body.get("void_feedback", ())),
        )


def qualifies(
    mediator: str, pair: frozenset[str], guild: str, at: int, member_since: MemberSince
) -> Problem | None:
    """Why `mediator` does not qualify for a contract of the parties `pair` in `guild` at
    `at` (SPEC §17.2), or None: it is no party, and it and both parties are current members
    of the guild (as of §12.5), each since no later than `at`."""
    if mediator in pair:
        return ("mediator_not_qualified", "A party to the contract cannot mediate it.")
    for did in sorted(pair | {mediator}):
        since = member_since(guild, did)
        if since is None or since > at:
            who = "The mediator" if did == mediator else "A party"
            return (
                "mediator_not_qualified",
                f"{who} ({did}) is not a member of the dispute's guild.",
            )
    return None


def outcome_problem(
    outcome: Outcome,
    openings: Mapping[str, Opening],
    parties: Mapping[str, frozenset[str]],
    member_since: MemberSince,
) -> Problem | None:
    """Why `outcome` fails rules 1–3 of SPEC §17.4 (it names a party's dispute sealed to both
    parties and to its author; its author qualifies; `void_feedback` names parties), or None.
    Rule 4, the first on its contract, is `counting`'s."""
    pair = parties.get(outcome.contract, frozenset())
    opening = openings.get(outcome.dispute)
    if (
        len(pair) != 2
        or opening is None
        or opening.author not in pair
        or not pair | {outcome.author} <= opening.recipients
    ):
        return ("not_a_mediator", "The outcome's author is not a mediator of a party's dispute.")
    problem = qualifies(outcome.author, pair, outcome.guild, outcome.created_at, member_since)
    if problem is not None:
        return problem
    if not outcome.void_feedback <= pair:
        return ("invalid_outcome", "void_feedback may name only the contract's parties.")
    return None


def counting(
    outcomes: Iterable[Outcome],
    openings: Mapping[str, Opening],
    parties: Mapping[str, frozenset[str]],
    member_since: MemberSince,
) -> dict[str, Outcome]:
    """contract → the outcome that counts on it (SPEC §17.4): the first, by (created, record
    id), of those that pass rules 1–3. The first decision on a contract is the one."""
    decided: dict[str, Outcome] = {}
    unique = {o.id: o for o in outcomes}
    for o in sorted(unique.values(), key=lambda o: (o.created_at, o.id)):
        if o.contract in decided:
            continue
        if outcome_problem(o, openings, parties, member_since) is None:
            decided[o.contract] = o
    return decided


def why_not(
    outcome: Outcome,
    decided: Mapping[str, Outcome],
    openings: Mapping[str, Opening],
    parties: Mapping[str, frozenset[str]],
    member_since: MemberSince,
) -> Problem | None:
    """Why a held `outcome` does not count, given what `counting` decided; None when it is
    the one that counts."""
    if decided.get(outcome.contract) == outcome:
        return None
    problem = outcome_problem(outcome, openings, parties, member_since)
    return problem or (
        "already_decided",
        "An earlier outcome on this contract is the one that counts.",
    )


def decided_payments(decided: Mapping[str, Outcome]) -> dict[str, str]:
    """contract → the payment a counting outcome finds (SPEC §17.5), where it finds one."""
    return {c: o.payment for c, o in decided.items() if o.payment is not None}


def voided_feedback(decided: Mapping[str, Outcome]) -> dict[str, frozenset[str]]:
    """contract → the parties whose feedback on it adds no trust (SPEC §17.5)."""
    return {c: o.void_feedback for c, o in decided.items() if o.void_feedback}
