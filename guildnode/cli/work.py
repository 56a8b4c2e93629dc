"""Work: proposals, offers, contracts, milestones, payments and feedback.

Amounts are integers in minor units (cents); milestones are numbered from 1 here, as people
count them (the records number them from 0).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from ..money import format_money
from . import main
from .context import Context, backend, emit, fail, json_option, pass_context

F = TypeVar("F", bound=Callable[..., Any])


def _money(price: dict[str, Any]) -> str:
    return format_money(price["amount"], price["currency"])


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def for_option(verb: str, scope: str) -> Callable[[F], F]:
    """`--for ORG`: act as a delegate of ORG, which delegated `scope` (SPEC §15.6)."""
    return click.option(
        "--for", "organisation", metavar="ORG",
        help=f"{verb} as a delegate of ORG, which delegated `{scope}`.",
    )  # fmt: skip


def _act(ctx: Context, action: str, fields: dict[str, Any], as_json: bool, done: str) -> None:
    with backend(ctx) as node:
        result = node.work(action, {k: v for k, v in fields.items() if v is not None})
    emit(result, as_json, lambda r: f"{done} ({r['id']})")


def _milestones(specs: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """ "TITLE:AMOUNT:DUE_DAYS" → the API's milestone objects."""
    if not specs:
        return None
    found = []
    for spec in specs:
        title, _, rest = spec.rpartition(":")
        title, _, amount = title.rpartition(":")
        try:
            found.append({"title": title, "amount": int(amount), "due_days": int(rest)})
        except ValueError:
            fail(f"--milestone {spec!r}: write TITLE:AMOUNT:DUE_DAYS, e.g. 'Design:50000:14'.")
        if not title:
            fail(f"--milestone {spec!r}: the milestone needs a title.")
    return found


milestone_option = click.option(
    "--milestone",
    "milestones",
    multiple=True,
    metavar="TITLE:AMOUNT:DUE_DAYS",
    help="A milestone: title, amount in minor units, due this many days after the start "
    "(repeatable; the price is their sum).",
)


@main.command()
@click.argument("brief_id")
@click.option("--pitch", required=True, help="Why you, and how you would do it.")
@click.option("--price", type=click.IntRange(0), required=True, help="In minor units (cents).")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option("--days", type=click.IntRange(1, 365), required=True, help="Estimated duration.")
@click.option("--available-in-days", type=click.IntRange(0, 365), default=0, show_default=True,
              help="When you could start.")  # fmt: skip
@click.option("--expires-days", type=click.IntRange(1, 30), help="The proposal lapses after.")
@json_option
@pass_context
def propose(
    ctx: Context,
    brief_id: str,
    pitch: str,
    price: int,
    currency: str,
    days: int,
    available_in_days: int,
    expires_days: int | None,
    as_json: bool,
) -> None:
    """Answer a brief with a proposal only its organisation can read."""
    fields = {
        "brief": brief_id,
        "pitch": pitch,
        "amount": price,
        "currency": currency,
        "duration_days": days,
        "available_in_days": available_in_days,
        "expires_days": expires_days,
    }
    _act(ctx, "propose", fields, as_json, "Proposal sent")


@main.command()
@click.option("--brief", "brief_id", help="Only proposals on this brief.")
@json_option
@pass_context
def proposals(ctx: Context, brief_id: str | None, as_json: bool) -> None:
    """Proposals you sent or received."""
    with backend(ctx) as node:
        data = node.proposals(brief_id)

    def text(d: dict[str, Any]) -> str:
        lines = [
            f"{p['id'][:12]}  {p['from']} → {p['to']}  {_money(p['price'])}, "
            f"{p['duration_days']} days  [{'open' if p['open'] else 'lapsed'}]  {p['pitch'][:60]}"
            for p in d["proposals"]
        ]
        return "\n".join(lines) or "No proposals."

    emit(data, as_json, text)


@main.command()
@click.argument("proposal_id")
@click.option("--scope", required=True, help="The work the contract covers.")
@click.option("--criterion", "criteria", multiple=True, required=True,
              help="An acceptance criterion (repeatable).")  # fmt: skip
@milestone_option
@click.option("--currency", help="ISO 4217 code (default: the proposal's).")
@click.option("--starts-in-days", type=click.IntRange(0, 365), default=0, show_default=True,
              help="The contract starts after this many days.")  # fmt: skip
@click.option("--days", type=click.IntRange(1), default=30, show_default=True,
              help="The contract runs this many days (at most 180).")  # fmt: skip
@click.option("--respond-days", type=click.IntRange(1, 60), default=7, show_default=True,
              help="The offer lapses unanswered after.")  # fmt: skip
@for_option("Offer", "offers")
@json_option
@pass_context
def offer(
    ctx: Context,
    proposal_id: str,
    scope: str,
    criteria: tuple[str, ...],
    milestones: tuple[str, ...],
    currency: str | None,
    starts_in_days: int,
    days: int,
    respond_days: int,
    organisation: str | None,
    as_json: bool,
) -> None:
    """Offer a contract to the author of a proposal (organisations, and their delegates)."""
    if not milestones:
        fail("An offer needs at least one --milestone TITLE:AMOUNT:DUE_DAYS.")
    fields = {
        "proposal": proposal_id,
        "scope": scope,
        "acceptance_criteria": list(criteria),
        "milestones": _milestones(milestones),
        "currency": currency,
        "starts_in_days": starts_in_days,
        "days": days,
        "respond_days": respond_days,
    }
    if organisation:
        fields["organisation"] = organisation
    _act(ctx, "offer", fields, as_json, "Offer sent")


@main.command()
@click.argument("offer_id")
@click.option("--scope", help="New scope (default: as offered).")
@milestone_option
@click.option("--days", type=click.IntRange(1), help="New length in days (at most 180).")
@click.option("--respond-days", type=click.IntRange(1, 60), default=7, show_default=True,
              help="The counter-offer lapses unanswered after.")  # fmt: skip
@for_option("Counter", "offers")
@json_option
@pass_context
def counter(
    ctx: Context,
    offer_id: str,
    scope: str | None,
    milestones: tuple[str, ...],
    days: int | None,
    respond_days: int,
    organisation: str | None,
    as_json: bool,
) -> None:
    """Answer an offer with changed terms (what you leave out stays as offered)."""
    fields = {
        "offer": offer_id,
        "scope": scope,
        "milestones": _milestones(milestones),
        "days": days,
        "respond_days": respond_days,
        "organisation": organisation,
    }
    _act(ctx, "counter", fields, as_json, "Counter-offer sent")


@main.command()
@click.argument("offer_id")
@json_option
@pass_context
def accept(ctx: Context, offer_id: str, as_json: bool) -> None:
    """Accept an offer's exact terms: the contract becomes active."""
    _act(ctx, "accept", {"offer": offer_id}, as_json, "Accepted: the contract is active")


@main.command()
@click.argument("offer_id")
@click.option("--reason", help="Why, for the other party.")
@json_option
@pass_context
def decline(ctx: Context, offer_id: str, reason: str | None, as_json: bool) -> None:
    """Decline an offer."""
    _act(ctx, "decline", {"offer": offer_id, "reason": reason}, as_json, "Declined")


@main.group()
def milestone() -> None:
    """Milestones of an active contract: submit (freelancer), approve (organisation)."""


@milestone.command(name="submit")
@click.argument("contract_id")
@click.argument("number", type=click.IntRange(1, 20))
@click.option("--note", help="What you deliver.")
@json_option
@pass_context
def milestone_submit(
    ctx: Context, contract_id: str, number: int, note: str | None, as_json: bool
) -> None:
    """Submit milestone NUMBER (from 1) for approval."""
    fields = {"contract": contract_id, "milestone": number - 1, "note": note}
    _act(ctx, "submit", fields, as_json, f"Milestone {number} submitted")


@milestone.command(name="approve")
@click.argument("contract_id")
@click.argument("number", type=click.IntRange(1, 20))
@click.option("--note", help="A word for the freelancer.")
@for_option("Approve", "approve")
@json_option
@pass_context
def milestone_approve(
    ctx: Context,
    contract_id: str,
    number: int,
    note: str | None,
    organisation: str | None,
    as_json: bool,
) -> None:
    """Approve submitted milestone NUMBER (unanswered, it is approved after 14 days)."""
    fields = {
        "contract": contract_id,
        "milestone": number - 1,
        "note": note,
        "organisation": organisation,
    }
    _act(ctx, "approve", fields, as_json, f"Milestone {number} approved")


@main.command()
@click.argument("contract_id")
@click.argument("number", type=click.IntRange(1, 20))
@for_option("Attest", "pay")
@json_option
@pass_context
def paid(
    ctx: Context, contract_id: str, number: int, organisation: str | None, as_json: bool
) -> None:
    """Attest that you paid milestone NUMBER (organisations, and their delegates)."""
    fields = {"contract": contract_id, "milestone": number - 1, "organisation": organisation}
    _act(ctx, "paid", fields, as_json, f"Payment of milestone {number} attested")


@main.command()
@click.argument("contract_id")
@click.argument("number", type=click.IntRange(1, 20))
@json_option
@pass_context
def received(ctx: Context, contract_id: str, number: int, as_json: bool) -> None:
    """Attest that you received payment for milestone NUMBER (freelancers)."""
    fields = {"contract": contract_id, "milestone": number - 1}
    _act(ctx, "received", fields, as_json, f"Receipt of milestone {number} attested")


@main.command()
@click.argument("contract_id")
@click.option("--note", help="A closing word.")
@json_option
@pass_context
def complete(ctx: Context, contract_id: str, note: str | None, as_json: bool) -> None:
    """Complete an active contract whose milestones are all approved."""
    _act(ctx, "complete", {"contract": contract_id, "note": note}, as_json, "Completed")


@main.command()
@click.argument("contract_id")
@click.option("--reason", required=True, help="Why the contract ends early.")
@json_option
@pass_context
def cancel(ctx: Context, contract_id: str, reason: str, as_json: bool) -> None:
    """Cancel an active contract."""
    _act(ctx, "cancel", {"contract": contract_id, "reason": reason}, as_json, "Cancelled")


score = click.IntRange(1, 3)


@main.command()
@click.argument("contract_id")
@click.option("--rating", type=score, required=True, help="Overall: 1 poor, 2 good, 3 great.")
@click.option("--quality", type=score, help="1–3.")
@click.option("--communication", type=score, help="1–3.")
@click.option("--timeliness", type=score, help="1–3.")
@click.option("--scope-clarity", type=score, help="1–3 (for an organisation).")
@click.option("--payment-promptness", type=score, help="1–3 (for an organisation).")
@click.option("--statement", help="A few words others will read.")
@click.option("--skill", "skills", multiple=True,
              help="A skill it counts in (repeatable; default: the brief's).")  # fmt: skip
@json_option
@pass_context
def feedback(
    ctx: Context,
    contract_id: str,
    rating: int,
    quality: int | None,
    communication: int | None,
    timeliness: int | None,
    scope_clarity: int | None,
    payment_promptness: int | None,
    statement: str | None,
    skills: tuple[str, ...],
    as_json: bool,
) -> None:
    """Leave blind feedback on an ended contract: committed now, revealed once the other
    party has committed too (or after 14 days)."""
    fields = {
        "contract": contract_id,
        "rating": rating,
        "quality": quality,
        "communication": communication,
        "timeliness": timeliness,
        "scope_clarity": scope_clarity,
        "payment_promptness": payment_promptness,
        "statement": statement,
        "skills": list(skills) or None,
    }
    _act(ctx, "feedback", fields, as_json, "Feedback committed")


STATES = ["offered", "countered", "declined", "expired", "active", "completed", "cancelled"]


def _contract_line(c: dict[str, Any]) -> str:
    price = f"  {_money(c['price'])}" if c.get("price") else ""
    nxt = f"  next: {', '.join(c['actions'])}" if c["actions"] else ""
    return f"{c['id'][:12]}  {c['state']:<9}  {c['title']}  with {c['counterpart']}{price}{nxt}"


@main.command()
@click.option("--state", type=click.Choice(STATES), help="Only contracts in this state.")
@json_option
@pass_context
def contracts(ctx: Context, state: str | None, as_json: bool) -> None:
    """Your contracts, newest first, with what you can do next."""
    with backend(ctx) as node:
        data = node.contracts(state)
    emit(
        data,
        as_json,
        lambda d: "\n".join(_contract_line(c) for c in d["contracts"]) or "No contracts.",
    )


@main.group()
def contract() -> None:
    """One contract: show its terms and timeline."""


def _contract_text(c: dict[str, Any]) -> str:
    lines = [_contract_line(c), f"id {c['id']}"]
    terms = c.get("terms")
    if terms:
        lines += ["", f"Scope: {terms['scope']}", "Milestones:"]
        for m in c["milestones"]:
            lines.append(
                f"  {m['number']}. {m['title']}  {_money(m['price'])}  due {m['due']}  "
                f"[{m['status']}]"
            )
    lines += ["", "Timeline:"]
    for entry in c["timeline"]:
        effect = "" if entry["effect"] else f"  (no effect: {entry['problem']})"
        lines.append(f"  {_when(entry['at'])}  {entry['who']}: {entry['summary']}{effect}")
    return "\n".join(lines)


@contract.command(name="show")
@click.argument("contract_id")
@json_option
@pass_context
def contract_show(ctx: Context, contract_id: str, as_json: bool) -> None:
    """A contract's terms, milestones and timeline."""
    with backend(ctx) as node:
        data = node.contract(contract_id)
    emit(data, as_json, _contract_text)
