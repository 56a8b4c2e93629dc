"""Disputes: open one on a contract, disclose its records to the mediators, decide one as a
mediator, and read them back (SPEC §17)."""

from __future__ import annotations

from typing import Any

import click

from . import main
from .context import Context, backend, emit, json_option, pass_context
from .work import _act, _when

PAYMENTS = ("on_time", "late", "unpaid", "none_due")


@main.group()
def dispute() -> None:
    """Disputes on contracts: open, disclose, outcome, list, show."""


@dispute.command(name="open")
@click.argument("contract_id")
@click.option("--guild", "guild_id", required=True,
              help="A guild both parties and the mediators are members of.")  # fmt: skip
@click.option("--mediator", "mediators", multiple=True, required=True,
              help="A mediator's DID, a member of that guild (repeatable, at most 5).")  # fmt: skip
@click.option("--statement", required=True,
              help="Your account, for the other party and the mediators.")  # fmt: skip
@json_option
@pass_context
def open_dispute(
    ctx: Context,
    contract_id: str,
    guild_id: str,
    mediators: tuple[str, ...],
    statement: str,
    as_json: bool,
) -> None:
    """Open a dispute on a contract you are party to (sealed to the other party and the
    mediators)."""
    fields = {
        "contract": contract_id,
        "guild": guild_id,
        "mediators": list(mediators),
        "statement": statement,
    }
    _act(ctx, "dispute", fields, as_json, "Dispute opened")


@dispute.command()
@click.argument("dispute_id")
@click.argument("record_ids", nargs=-1, required=True)
@json_option
@pass_context
def disclose(ctx: Context, dispute_id: str, record_ids: tuple[str, ...], as_json: bool) -> None:
    """Show the mediators chosen records of the contract (their content keys, so the
    mediators can open them and check them against what both parties saw)."""
    fields = {"dispute": dispute_id, "records": list(record_ids)}
    _act(ctx, "disclose", fields, as_json, "Disclosed to the mediators")


@dispute.command()
@click.argument("dispute_id")
@click.option("--finding", required=True, help="What you found, in words (public).")
@click.option("--payment", type=click.Choice(PAYMENTS),
              help="The contract's payment as you find it: it replaces the receipts' in the "
              "organisation's payment record.")  # fmt: skip
@click.option("--void-feedback", "void_feedback", multiple=True,
              help="A party whose feedback here adds no trust (repeatable).")  # fmt: skip
@json_option
@pass_context
def outcome(
    ctx: Context,
    dispute_id: str,
    finding: str,
    payment: str | None,
    void_feedback: tuple[str, ...],
    as_json: bool,
) -> None:
    """Publish your outcome of a dispute you mediate (the first on a contract counts)."""
    fields = {
        "dispute": dispute_id,
        "finding": finding,
        "payment": payment,
        "void_feedback": list(void_feedback) or None,
    }
    _act(ctx, "outcome", fields, as_json, "Outcome published")


def _decided(d: dict[str, Any]) -> str:
    found = d["outcome"]
    if found is None:
        return "open"
    return f"decided by {found['from']}" + (f": {found['payment']}" if found["payment"] else "")


@dispute.command(name="list")
@json_option
@pass_context
def list_disputes(ctx: Context, as_json: bool) -> None:
    """Disputes you are party to or mediate."""
    with backend(ctx) as node:
        data = node.disputes()

    def text(data: dict[str, Any]) -> str:
        lines = [
            f"{d['id'][:12]}  contract {d['contract'][:12]}  by {d['from']}  "
            f"(you: {d['role']})  [{_decided(d)}]"
            for d in data["disputes"]
        ]
        return "\n".join(lines) or "No disputes."

    emit(data, as_json, text)


@dispute.command(name="show")
@click.argument("dispute_id")
@json_option
@pass_context
def show_dispute(ctx: Context, dispute_id: str, as_json: bool) -> None:
    """One dispute: its statement, the records disclosed and the outcomes on its contract."""
    with backend(ctx) as node:
        data = node.dispute(dispute_id)

    def text(d: dict[str, Any]) -> str:
        lines = [
            f"Dispute {d['id']} on contract {d['contract']}",
            f"Opened by {d['from']} on {_when(d['at'])}; you are a {d['role']}.",
            "Mediators: " + ", ".join(m["name"] for m in d["mediators"]),
            f"Statement: {d['statement']}",
        ]
        for disclosure in d["disclosures"]:
            lines.append(f"Disclosed by {disclosure['from']}:")
            for r in disclosure["records"]:
                state = "opens, of this contract" if r["of_contract"] else r["problem"]
                lines.append(f"  {r['record'][:12]} {r['kind'] or '?'}: {state}")
        for o in d["outcomes"]:
            verdict = "counts" if o["counts"] else f"does not count: {o['problem']}"
            lines.append(f"Outcome by {o['from']} ({verdict}): {o['finding']}")
        return "\n".join(lines)

    emit(data, as_json, text)
