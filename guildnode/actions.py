"""The owner's work actions by name — one table shared by the local API, the CLI and the UI.

Each action takes plain JSON values (validated strictly: an amount must be an integer, not
"100" or 100.5) and publishes one record through `node.market`. The local API serves them
at `POST /api/work/{name}` (SPEC §9.11); the CLI calls the same table directly or through
that route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, validate_call

from .errors import NodeError
from .node import Node
from .protocol import VerifiedRecord

T = TypeVar("T")
Amount = Annotated[int, Field(ge=0, le=2**53 - 1)]  # minor units
Days = Annotated[int, Field(ge=0, le=365)]


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: str = Field(min_length=1, max_length=200)
    amount: Amount
    due_days: Days


def _milestones(items: list[Milestone] | None) -> list[tuple[str, int, int]] | None:
    return None if items is None else [(m.title, m.amount, m.due_days) for m in items]


def propose(
    node: Node,
    brief: str,
    pitch: str,
    amount: Amount,
    currency: str,
    duration_days: Annotated[int, Field(ge=1, le=365)],
    available_in_days: Days = 0,
    expires_days: Annotated[int, Field(ge=1, le=30)] | None = None,
) -> VerifiedRecord:
    return node.market.propose(
        brief,
        pitch=pitch,
        amount=amount,
        currency=currency,
        duration_days=duration_days,
        available_in_days=available_in_days,
        expires_days=expires_days,
    )


def offer(
    node: Node,
    proposal: str,
    scope: str,
    acceptance_criteria: list[str],
    milestones: list[Milestone],
    currency: str | None = None,
    starts_in_days: Days = 0,
    days: Annotated[int, Field(ge=1)] = 30,
    respond_days: Annotated[int, Field(ge=1, le=60)] = 7,
    organisation: str | None = None,
) -> VerifiedRecord:
    return node.market.offer(
        proposal,
        scope=scope,
        acceptance_criteria=acceptance_criteria,
        milestones=_milestones(milestones) or [],
        currency=currency,
        starts_in_days=starts_in_days,
        days=days,
        respond_days=respond_days,
        organisation=organisation,
    )


def counter(
    node: Node,
    offer: str,
    scope: str | None = None,
    milestones: list[Milestone] | None = None,
    days: Annotated[int, Field(ge=1)] | None = None,
    respond_days: Annotated[int, Field(ge=1, le=60)] = 7,
    organisation: str | None = None,
) -> VerifiedRecord:
    return node.market.counter(
        offer,
        scope=scope,
        milestones=_milestones(milestones),
        days=days,
        respond_days=respond_days,
        organisation=organisation,
    )


def accept(node: Node, offer: str) -> VerifiedRecord:
    return node.market.accept(offer)


def decline(node: Node, offer: str, reason: str | None = None) -> VerifiedRecord:
    return node.market.decline(offer, reason)


def submit(node: Node, contract: str, milestone: int, note: str | None = None) -> VerifiedRecord:
    return node.market.milestone(contract, milestone, "submitted", note)


def approve(
    node: Node,
    contract: str,
    milestone: int,
    note: str | None = None,
    organisation: str | None = None,
) -> VerifiedRecord:
    return node.market.milestone(contract, milestone, "approved", note, organisation)


def paid(
    node: Node, contract: str, milestone: int, organisation: str | None = None
) -> VerifiedRecord:
    return node.market.payment(contract, milestone, "paid", organisation)


def received(node: Node, contract: str, milestone: int) -> VerifiedRecord:
    return node.market.payment(contract, milestone, "received")


def complete(
    node: Node, contract: str, note: str | None = None, organisation: str | None = None
) -> VerifiedRecord:
    return node.market.complete(contract, note, organisation)


def cancel(
    node: Node, contract: str, reason: str, organisation: str | None = None
) -> VerifiedRecord:
    return node.market.cancel(contract, reason, organisation)


def feedback(
    node: Node,
    contract: str,
    rating: int,
    quality: int | None = None,
    communication: int | None = None,
    timeliness: int | None = None,
    scope_clarity: int | None = None,
    payment_promptness: int | None = None,
    statement: str | None = None,
    skills: list[str] | None = None,
) -> VerifiedRecord:
    dimensions = {
        name: value
        for name, value in (
            ("quality", quality),
            ("communication", communication),
            ("timeliness", timeliness),
            ("scope_clarity", scope_clarity),
            ("payment_promptness", payment_promptness),
        )
        if value is not None
    }
    for name, value in (("rating", rating), *dimensions.items()):
        if not 1 <= value <= 3:
            raise NodeError("invalid_argument", f"{name} must be 1, 2 or 3.")
    return node.market.duties.give_feedback(
        contract, rating=rating, dimensions=dimensions, statement=statement, skills=skills
    )


def dispute(
    node: Node,
    contract: str,
    guild: str,
    mediators: Annotated[list[str], Field(min_length=1, max_length=5)],
    statement: Annotated[str, Field(min_length=1, max_length=5000)],
) -> VerifiedRecord:
    return node.market.mediation.open(
        contract, guild=guild, mediators=mediators, statement=statement
    )


def disclose(
    node: Node, dispute: str, records: Annotated[list[str], Field(min_length=1, max_length=20)]
) -> VerifiedRecord:
    return node.market.mediation.disclose(dispute, records)


def outcome(
    node: Node,
    dispute: str,
    finding: Annotated[str, Field(min_length=1, max_length=5000)],
    payment: Literal["on_time", "late", "unpaid", "none_due"] | None = None,
    void_feedback: Annotated[list[str], Field(max_length=2)] | None = None,
) -> VerifiedRecord:
    return node.market.mediation.decide(
        dispute, finding=finding, payment=payment, void_feedback=void_feedback
    )


_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)

ACTIONS: dict[str, Callable[..., VerifiedRecord]] = {
    fn.__name__: validate_call(config=_STRICT)(fn)
    for fn in (
        propose, offer, counter, accept, decline, submit, approve, paid, received, complete,
        cancel, feedback, dispute, disclose, outcome,
    )
}  # fmt: skip


def run(node: Node, name: str, fields: dict[str, Any]) -> VerifiedRecord:
    """Run the action `name` with `fields`; a bad name or field is a `NodeError`."""
    return invoke(ACTIONS, node, name, fields)


def invoke(table: dict[str, Callable[..., T]], node: Node, name: str, fields: dict[str, Any]) -> T:
    """Call `table[name]` (a `validate_call`ed function) with `fields`; an unknown name is
    `404 not_found`, a bad field `invalid_argument` naming it."""
    action = table.get(name)
    if action is None:
        raise NodeError("not_found", f"There is no action {name!r}.", 404)
    try:
        return action(node, **fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "node") or name
        raise NodeError("invalid_argument", f"{where}: {first['msg']}.") from None
