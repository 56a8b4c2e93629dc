"""`guildnode delegate …`: an organisation authorises staff keys to act for it within a
scope and until an expiry, lists them and revokes them (SPEC §15)."""

from __future__ import annotations

import re
from typing import Any

import click

from . import main
from .context import Context, backend, emit, json_option, pass_context


@main.group()
def delegate() -> None:
    """Organisation delegates: staff keys that post briefs, make offers, approve or pay."""


def _days(text: str) -> int:
    match = re.fullmatch(r"(-?\d{1,6})d?", text.strip())
    if match is None:
        raise click.BadParameter(
            f"a number of days, such as 30d (not {text!r})", param_hint="--expires"
        )
    return int(match.group(1))


def _grant_line(g: dict[str, Any], who: str) -> str:
    revoked = f" from its seq {g['revoked_from_seq']}" if g["revoked_from_seq"] else ""
    return f"{g[who]}  {','.join(g['scope'])}  until {g['expires']}  {g['status']}{revoked}"


def _state_text(data: dict[str, Any]) -> str:
    lines = [_grant_line(g, "delegate") for g in data["delegates"]] or ["No delegates."]
    if data["acting_for"]:
        lines += ["", "You act for:"] + [
            "  " + _grant_line(g, "organisation") for g in data["acting_for"]
        ]
    return "\n".join(lines)


@delegate.command(name="add")
@click.argument("did")
@click.option(
    "--scope",
    required=True,
    help="What DID may do for you, comma-separated: briefs,offers,approve,pay.",
)
@click.option(
    "--expires", default="30d", show_default=True, help="How long it lasts, in days (max 90d)."
)
@click.option("--note", help="A public note (no effect).")
@json_option
@pass_context
def add(ctx: Context, did: str, scope: str, expires: str, note: str | None, as_json: bool) -> None:
    """Authorise the staff key DID to act for you within a scope, until an expiry."""
    fields: dict[str, Any] = {
        "delegate": did,
        "scope": [s.strip() for s in scope.split(",") if s.strip()],
        "expires_days": _days(expires),
    }
    if note:
        fields["note"] = note
    with backend(ctx) as node:
        result = node.delegate("add", fields)
    emit(result, as_json, lambda r: f"Delegated to {did}: {r['id']}")


@delegate.command(name="list")
@json_option
@pass_context
def list_(ctx: Context, as_json: bool) -> None:
    """Your delegates (active, expired, revoked) and the organisations you act for."""
    with backend(ctx) as node:
        result = node.delegates()
    emit(result, as_json, _state_text)


@delegate.command()
@click.argument("did")
@click.option("--reason", help="Why (public, no effect).")
@json_option
@pass_context
def revoke(ctx: Context, did: str, reason: str | None, as_json: bool) -> None:
    """Revoke DID's delegations: its records from its next seq no longer count as yours."""
    fields: dict[str, Any] = {"delegate": did}
    if reason:
        fields["reason"] = reason
    with backend(ctx) as node:
        result = node.delegate("revoke", fields)
    emit(result, as_json, lambda r: f"Revoked {did}: {r['id']}")
