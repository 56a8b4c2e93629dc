"""The checks of SPEC §12.3 that read one offer's terms, and how its milestones were paid.

Pure and replay-free: `terms_problem` is the guard of an offer (`machine`), and
`payment_status` grades the approved milestones of a contract against `PAY_ON_TIME_DAYS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..briefs import Brief
from ..money import ISO_4217
from ..protocol import parse_timestamp
from .model import DAY, MAX_CONTRACT_DAYS, PAY_ON_TIME_DAYS, Milestone, Problem


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


def pay_by(milestones: Iterable[Milestone]) -> int:
    """The last moment the latest approved milestone can still be paid on time (SPEC §12.3);
    0 when none is approved."""
    approvals = [m.approved_at for m in milestones if m.approved_at is not None]
    return max(approvals) + PAY_ON_TIME_DAYS * DAY if approvals else 0
