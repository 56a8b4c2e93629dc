"""`guildnode identity …`: keeping one's identity over time (SPEC §14) — rotate the node's
key, name recovery keys, mark a key compromised or vote to recover someone's key, continue a
member on a fresh key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from . import main
from .context import Context, backend, emit, fail, json_option, pass_context


@main.group()
def identity() -> None:
    """Keep your identity: rotate your key, name recovery keys, mark a key compromised."""


def _keys_text(data: dict[str, Any]) -> str:
    lines = [f"member: {data['member']}"]
    for key in data["keys"]:
        cut = "" if key["cut"] is None else f" (records after seq {key['cut']} have no effect)"
        lines.append(f"  key {key['did']}{cut}")
    recovery = data.get("recovery")
    if recovery:
        lines.append(
            f"  recovery: {recovery['threshold']} of {len(recovery['keys'])}: "
            + ", ".join(recovery["keys"])
        )
    elif "recovery" in data:
        lines.append("  recovery: none named (guildnode identity recovery set …)")
    if data.get("signing_key_is_current") is False:
        lines.append(f"  this node signs as {data['did']}, which is no longer the current key")
    return "\n".join(lines)


@identity.command(name="show")
@click.argument("did", required=False)
@json_option
@pass_context
def show(ctx: Context, did: str | None, as_json: bool) -> None:
    """Show your member's keys (or DID's), where each key's effect ends, your recovery set."""
    with backend(ctx) as node:
        result = node.identity_state(did)
    emit(result, as_json, _keys_text)


@identity.command()
@click.option("--reason", help="Why you rotate (public, no effect).")
@json_option
@pass_context
def rotate(ctx: Context, reason: str | None, as_json: bool) -> None:
    """Rotate your key: the old key names a new one, which continues you everywhere."""
    with backend(ctx) as node:
        result = node.identity("rotate", {"reason": reason} if reason else {})
    emit(result, as_json, lambda r: f"Rotated: {r['old']} → {r['new']}")


@identity.group()
def recovery() -> None:
    """Recovery keys: who may take your identity back from a thief within 72 hours."""


def _recovery_text(data: dict[str, Any]) -> str:
    text = f"Recovery set: {data['id']}"
    paper = data.get("paper_key")
    if paper:
        text += (
            f"\nPaper key {paper['did']}\n  seed (print it, keep it offline; shown only once):"
            f"\n  {paper['seed']}"
        )
    return text


@recovery.command(name="set")
@click.argument("keys", nargs=-1)
@click.option("--threshold", type=int, default=1, show_default=True, help="Votes needed.")
@click.option("--paper", is_flag=True, help="Make a paper key, add it and print its seed once.")
@json_option
@pass_context
def recovery_set(
    ctx: Context, keys: tuple[str, ...], threshold: int, paper: bool, as_json: bool
) -> None:
    """Name recovery KEYS (trusted members' DIDs) and how many must agree."""
    with backend(ctx) as node:
        result = node.identity(
            "recovery", {"keys": list(keys), "threshold": threshold, "paper": paper}
        )
    emit(result, as_json, _recovery_text)


@identity.command()
@click.argument("key")
@click.option("--from-seq", type=int, required=True, help="The first record with no effect.")
@click.option("--successor", help="As a recovery key: the key that continues the member.")
@click.option("--reason", help="Why (public, no effect).")
@json_option
@pass_context
def compromise(
    ctx: Context,
    key: str,
    from_seq: int,
    successor: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Mark KEY compromised from a seq: your own key, or (as its recovery key) someone's."""
    fields: dict[str, Any] = {"key": key, "from_seq": from_seq}
    if successor:
        fields["successor"] = successor
    if reason:
        fields["reason"] = reason
    with backend(ctx) as node:
        result = node.identity("compromise", fields)
    emit(result, as_json, lambda r: f"Published: {r['id']}")


@identity.command()
@click.argument("predecessor")
@click.option("--via", required=True, help="Id of the rotate or recovery vote naming this key.")
@json_option
@pass_context
def succeed(ctx: Context, predecessor: str, via: str, as_json: bool) -> None:
    """On a fresh node: continue PREDECESSOR's member with this node's key."""
    with backend(ctx) as node:
        result = node.identity("succeed", {"predecessor": predecessor, "via": via})
    emit(result, as_json, lambda r: f"Continuing {predecessor}: {r['id']}")


@identity.command()
@click.argument("key")
@click.option("--from-seq", type=int, required=True, help="The thief's first record in KEY.")
@click.option(
    "--paper-key",
    "paper_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A file holding the paper key's seed.",
)
@json_option
@pass_context
def recover(ctx: Context, key: str, from_seq: int, paper_file: Path, as_json: bool) -> None:
    """On a fresh node: recover KEY with your paper key; this node's key continues you."""
    seed = paper_file.read_text().strip()
    if not seed:
        fail(f"{paper_file} is empty.")
    with backend(ctx) as node:
        result = node.identity("recover", {"seed": seed, "key": key, "from_seq": from_seq})
    emit(result, as_json, lambda r: f"Recovered {key}: {r['succeed']['id']}")
