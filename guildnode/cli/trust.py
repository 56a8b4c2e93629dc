"""Trust: giving it (vouch, revoke), reading it (trust, people) and withholding it (block,
unblock)."""

from __future__ import annotations

from typing import Any

import click

from . import main
from .context import Context, backend, emit, json_option, pass_context


@main.command()
@click.argument("did")
@click.option("--context", help="What you vouch for: a skill such as python, or guild:<id>.")
@click.option("--level", type=click.IntRange(1, 3), required=True, help="1 some, 2 good, 3 strong.")
@click.option("--statement", help="What you saw them do.")
@click.option("--expires-days", type=int, help="The vouch lapses after this many days (max 365).")
@click.option("--evidence", help="Id of a record that backs the vouch, e.g. a contract.")
@json_option
@pass_context
def vouch(
    ctx: Context,
    did: str,
    context: str | None,
    level: int,
    statement: str | None,
    expires_days: int | None,
    evidence: str | None,
    as_json: bool,
) -> None:
    """Vouch for the member DID."""
    with backend(ctx) as node:
        result = node.vouch(
            subject=did,
            level=level,
            context=context,
            statement=statement,
            expires_days=expires_days,
            evidence=evidence,
        )
    emit(result, as_json, lambda r: f"Vouched: {r['id']}")


@main.command()
@click.argument("record_id")
@click.option("--reason", help="Why you revoke it.")
@json_option
@pass_context
def revoke(ctx: Context, record_id: str, reason: str | None, as_json: bool) -> None:
    """Revoke one of your records (a vouch, usually) by its id."""
    with backend(ctx) as node:
        result = node.revoke(target=record_id, reason=reason)
    emit(result, as_json, lambda r: f"Revoked {record_id}: {r['id']}")


context_option = click.option(
    "--context", help="A skill such as python, or guild:<id>; none for general trust."
)


def _trust_text(data: dict[str, Any]) -> str:
    where = f" in {data['context']}" if data["context"] else ""
    if data["blocked"]:
        return f"{data['name']} ({data['did']}) is blocked: no trust{where}."
    if data["name"] == "you":
        return f"you ({data['did']}): trust flows from you{where} (you are 1)."
    if not data["rank"]:
        return f"{data['name']} ({data['did']}): no trust reaches them from you{where}."
    lines = [
        f"{data['name']} ({data['did']})",
        f"  trust{where}: {data['relative']:.4f} (you are 1), "
        f"rank {data['rank']} of {data['known']} people you trust",
    ]
    lines += [f"  because {p['words']}" for p in data["paths"]]
    paid = data.get("payments") or {}
    if any(paid.values()):
        lines.append(
            "  pays (by both parties' receipts and mediators' outcomes): "
            + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in paid.items() if n)
        )
    for decided in data.get("decisions") or ():
        found = f", payment {decided['payment'].replace('_', ' ')}" if decided["payment"] else ""
        lines.append(f"  dispute decided by {decided['from']}{found}: {decided['finding']}")
    return "\n".join(lines)


@main.command(name="trust")
@click.argument("did")
@context_option
@json_option
@pass_context
def trust_command(ctx: Context, did: str, context: str | None, as_json: bool) -> None:
    """How much you trust DID (in a context), its rank, and the paths that explain it."""
    with backend(ctx) as node:
        data = node.trust(did, context)
    emit(data, as_json, _trust_text)


def _people_text(data: dict[str, Any]) -> str:
    if not data["people"]:
        return "Nobody yet: trust flows from the vouches you give."
    return "\n".join(
        f"{p['rank']:>4}  {p['relative']:.4f}  {p['name']:<24} {p['did']}" for p in data["people"]
    )


@main.command(name="people")
@context_option
@json_option
@pass_context
def people_command(ctx: Context, context: str | None, as_json: bool) -> None:
    """Everyone your trust reaches, ranked (in a context)."""
    with backend(ctx) as node:
        data = node.people(context)
    emit(data, as_json, _people_text)


@main.command()
@click.argument("did")
@pass_context
def block(ctx: Context, did: str) -> None:
    """Zero DID's trust for yourself alone (private: nothing is published)."""
    with backend(ctx) as node:
        node.block(did)
    click.echo(f"Blocked {did}")


@main.command()
@click.argument("did")
@pass_context
def unblock(ctx: Context, did: str) -> None:
    """Lift a block."""
    with backend(ctx) as node:
        node.unblock(did)
    click.echo(f"Unblocked {did}")
