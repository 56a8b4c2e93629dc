"""Blind mutual feedback, receipts and payment records (SPEC §12.4).

Pure: public `commit`, `feedback` (the reveal) and `receipt` records as values in; what counts
out. Every function puts its input in (created, record id) order first, so the answer does not
depend on the order records arrived in.

Feedback is blind: each party first publishes a `commit` (sha256 of the canonical bytes of the
feedback body it will reveal), and reveals only once the other party has committed too, or 14
days after its own commitment. So neither can write its feedback after reading the other's.
A counted reveal with rating 2 or 3 is a vouch, in each of its skills (or general trust without
skills); the evidence bonus of trust needs both parties' receipts saying the contract completed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from .protocol import parse_timestamp
from .protocol.credentials import commitment as commitment  # SPEC §12.4, one definition
from .trust import Vouch

DAY = 86_400
REVEAL_AFTER_DAYS = 14
PAYMENT_COUNTS = ("on_time", "late", "unpaid", "disputed")

Problem = tuple[str, str]  # (stable code, sentence)


@dataclass(frozen=True, slots=True)
class Commit:
    id: str
    author: str
    created_at: int
    contract: str
    subject: str
    commitment: str

    @classmethod
    def from_record(cls, record_id: str, record: Mapping[str, Any]) -> Commit:
        """From a verified `commit` record (its wire form)."""
        body = record["body"]
        return cls(
            record_id,
            record["author"],
            parse_timestamp(record["created"]),
            body["contract"],
            body["subject"],
            body["commitment"],
        )


@dataclass(frozen=True, slots=True)
class _Public:
    """A public record as its id, author, time and body."""

    id: str
    author: str
    created_at: int
    body: dict[str, Any]

    @classmethod
    def from_record(cls, record_id: str, record: Mapping[str, Any]) -> Self:
        """From a verified record (its wire form)."""
        return cls(record_id, record["author"], parse_timestamp(record["created"]), record["body"])


class Reveal(_Public):
    """A `feedback` record."""


class Receipt(_Public):
    """A `receipt` record."""


@dataclass(frozen=True, slots=True)
class Counted:
    """A reveal that counts (SPEC §12.4), with the commit it opens."""

    id: str  # the reveal's record id
    commit: str
    contract: str
    author: str
    subject: str
    rating: int
    skills: tuple[str, ...]
    created_at: int
    body: dict[str, Any]


def counting_commits(
    commits: Iterable[Commit], parties: Mapping[str, frozenset[str]]
) -> dict[tuple[str, str], Commit]:
    """(author, contract) → the commit that counts: SPEC §12.4, the author's first commit for
    the contract (by created, record id), if the contract's two parties are known, the author
    is one and the subject is the other. A first commit that breaks this spoils later ones."""
    first: dict[tuple[str, str], Commit] = {}
    unique = {c.id: c for c in commits}
    for c in sorted(unique.values(), key=lambda c: (c.created_at, c.id)):
        first.setdefault((c.author, c.contract), c)
    return {
        key: c
        for key, c in first.items()
        if len(pair := parties.get(c.contract, frozenset())) == 2
        and c.author in pair
        and pair == {c.author, c.subject}
    }


def counting(
    commits: Iterable[Commit],
    reveals: Iterable[Reveal],
    parties: Mapping[str, frozenset[str]],
) -> list[Counted]:
    """The reveals that count, in (created, record id) order (SPEC §12.4): for each author and
    contract, the first reveal that `_reveal_check` passes against the counting commits.
    `parties`: contract id → its two parties; other contracts' records do not count."""
    held = counting_commits(commits, parties)
    counted: list[Counted] = []
    revealed: dict[tuple[str, str], int] = {}
    unique = {r.id: r for r in reveals}
    for reveal in sorted(unique.values(), key=lambda r: (r.created_at, r.id)):
        key = (reveal.author, reveal.body["contract"])
        if _reveal_check(reveal, held, revealed) is not None:
            continue
        revealed[key] = reveal.created_at
        body = reveal.body
        counted.append(
            Counted(
                id=reveal.id,
                commit=held[key].id,
                contract=body["contract"],
                author=reveal.author,
                subject=body["subject"],
                rating=body["rating"],
                skills=tuple(dict.fromkeys(body.get("skills", []))),
                created_at=reveal.created_at,
                body=body,
            )
        )
    return counted


def _reveal_check(
    reveal: Reveal, held: Mapping[tuple[str, str], Commit], revealed: Mapping[tuple[str, str], int]
) -> Problem | None:
    """Why `reveal` does not count, given the counting commits and when the feedback that
    already counted was revealed, by (author, contract); None when it counts."""
    key = (reveal.author, reveal.body["contract"])
    if key in revealed:
        return ("already_revealed", "Your feedback on this contract was already revealed.")
    commit = held.get(key)
    if commit is None or reveal.created_at < commit.created_at:
        return ("not_committed", "Feedback is revealed only after its commitment.")
    # Blind means blind: a commitment made after the other side's feedback was out counts
    # not. The same second is not "after": a reveal is often set off by the very commitment
    # that arrives in its second.
    seen = revealed.get((commit.subject, commit.contract))
    if seen is not None and commit.created_at > seen:
        return (
            "committed_after_reveal",
            "This feedback was committed after the other party's was revealed.",
        )
    if reveal.body["subject"] != commit.subject or commitment(reveal.body) != commit.commitment:
        return ("commitment_mismatch", "This feedback is not the one committed to.")
    # SPEC §12.4: the subject has committed by now, or 14 days have passed since the commit.
    other = held.get((commit.subject, commit.contract))
    waited = reveal.created_at >= commit.created_at + REVEAL_AFTER_DAYS * DAY
    if (other is None or other.created_at > reveal.created_at) and not waited:
        return (
            "too_early",
            f"Feedback is revealed once the other party has committed, "
            f"or {REVEAL_AFTER_DAYS} days after your commitment.",
        )
    return None


def commit_problem(
    ended_at: int | None,
    commits: Iterable[Commit],
    *,
    author: str,
    contract: str | None = None,
) -> Problem | None:
    """Why the node refuses to publish `author`'s commit on a contract: `not_ended` while
    the contract has not ended (`ended_at` None), `already_committed` when `author` has a
    commit for it among `commits` (only the first commit counts, SPEC §12.4). `contract`
    filters `commits` when they are not already the contract's."""
    if ended_at is None:
        return ("not_ended", "Feedback is given once the contract has ended.")
    if any(c.author == author and contract in (None, c.contract) for c in commits):
        return ("already_committed", "You have already committed feedback on this contract.")
    return None


def reveal_problem(
    commit: Commit | None,
    body: Mapping[str, Any],
    commits: Iterable[Commit],
    reveals: Iterable[Reveal],
    *,
    now: int,
    parties: frozenset[str] | None = None,
) -> Problem | None:
    """Why revealing `body` (the feedback committed to in `commit`) at `now` would not count,
    or None. Runs the same check as `counting`: codes not_committed, commitment_mismatch,
    already_revealed, too_early. `parties` defaults to the commit's author and subject."""
    if commit is None:
        return ("not_committed", "Feedback is revealed only after its commitment.")
    pair = parties or frozenset({commit.author, commit.subject})
    mine = [c for c in commits if c.contract == commit.contract]
    if commit.id not in {c.id for c in mine}:
        mine.append(commit)
    held = counting_commits(mine, {commit.contract: pair})
    done = counting(
        mine, (r for r in reveals if r.body["contract"] == commit.contract), {commit.contract: pair}
    )
    revealed = {(c.author, c.contract): c.created_at for c in done}
    return _reveal_check(Reveal("", commit.author, now, dict(body)), held, revealed)


def vouch_id(reveal_id: str, context: str | None) -> str:
    """The id of the vouch a reveal makes in `context`: hex sha256 of
    `reveal id + ":" + context` (context "" for general trust). Stable and distinct per
    reveal and context, and never a record id, as it hashes no record."""
    return hashlib.sha256(f"{reveal_id}:{context or ''}".encode()).hexdigest()


def as_vouches(
    counted: Iterable[Counted], voided: Mapping[str, frozenset[str]] | None = None
) -> list[Vouch]:
    """SPEC §12.4: a counted reveal with rating 2 or 3 vouches author → subject at that
    level in each of its skills (in general trust when it has none), with the contract as
    evidence; rating 1 adds no trust, nor does feedback whose author a counting outcome
    voids (`voided`: contract → those authors, SPEC §17.5)."""
    voided = voided or {}
    vouches = []
    for c in counted:
        if c.rating < 2 or c.author in voided.get(c.contract, ()):
            continue
        for context in c.skills or (None,):
            vouches.append(
                Vouch(
                    id=vouch_id(c.id, context),
                    author=c.author,
                    subject=c.subject,
                    level=c.rating,
                    created_at=c.created_at,
                    context=context,
                    evidence=c.contract,
                )
            )
    return sorted(vouches, key=lambda v: v.id)


def receipt_pairs(
    receipts: Iterable[Receipt], parties: Mapping[str, frozenset[str]]
) -> dict[str, tuple[Receipt, Receipt]]:
    """contract → (organisation's, freelancer's) first receipts, where both of the contract's
    public parties (`parties`: contract → its two parties, from its first offer) published
    one naming the two of them. Receipts by anyone else, or naming anyone else, are ignored:
    nobody can pair receipts over someone else's contract."""
    first: dict[tuple[str, str], Receipt] = {}
    unique = {r.id: r for r in receipts}
    for r in sorted(unique.values(), key=lambda r: (r.created_at, r.id)):
        named = frozenset({r.body["organisation"], r.body["freelancer"]})
        if len(named) == 2 and r.author in named and parties.get(r.body["contract"]) == named:
            first.setdefault((r.body["contract"], r.author), r)
    pairs: dict[str, tuple[Receipt, Receipt]] = {}
    for (contract, author), r in sorted(first.items()):
        org, freelancer = r.body["organisation"], r.body["freelancer"]
        other = first.get((contract, freelancer))
        if author != org or other is None:
            continue
        if (other.body["organisation"], other.body["freelancer"]) == (org, freelancer):
            pairs[contract] = (r, other)
    return pairs


def paired(
    receipts: Iterable[Receipt], parties: Mapping[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """Contracts whose two parties both published a receipt → the parties (whatever the
    outcome): the contracts feedback may count on (SPEC §12.4)."""
    return {
        contract: frozenset({org.author, freelancer.author})
        for contract, (org, freelancer) in receipt_pairs(receipts, parties).items()
    }


def completed(
    receipts: Iterable[Receipt], parties: Mapping[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """Contracts both parties' receipts say completed → the two parties (SPEC §12.4; the
    `completed` argument of `trust.VouchTable.build`)."""
    return {
        contract: frozenset({org.author, freelancer.author})
        for contract, (org, freelancer) in receipt_pairs(receipts, parties).items()
        if org.body["outcome"] == freelancer.body["outcome"] == "completed"
    }


def payment_record(
    receipts: Iterable[Receipt],
    parties: Mapping[str, frozenset[str]],
    decided: Mapping[str, str] | None = None,
) -> dict[str, dict[str, int]]:
    """Per organisation, how its contracts with both receipts were paid (SPEC §12.4): the
    payment a counting outcome finds (`decided`: contract → it, SPEC §17.5), else the
    `payment` both receipts agree on, or `disputed` when they differ; none_due is not
    counted. Every organisation's counts have the four keys of `PAYMENT_COUNTS`."""
    decided = decided or {}
    record: dict[str, dict[str, int]] = {}
    for contract, (org, freelancer) in receipt_pairs(receipts, parties).items():
        said = org.body["payment"], freelancer.body["payment"]
        outcome = said[0] if said[0] == said[1] else "disputed"
        outcome = decided.get(contract, outcome)
        if outcome == "none_due":
            continue
        counts = record.setdefault(org.author, dict.fromkeys(PAYMENT_COUNTS, 0))
        counts[outcome] += 1
    return record
