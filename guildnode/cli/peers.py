"""The nodes yours syncs with (peer add, list, remove) and syncing with them now (sync)."""

from __future__ import annotations

from typing import Any

import click

from . import main
from .context import Context, backend, emit, json_option, pass_context


@main.group()
def peer() -> None:
    """The nodes yours syncs with."""


def _peers_text(data: dict[str, Any]) -> str:
    if not data["peers"]:
        return "No peers yet: add one with `guildnode peer add URL`."
    lines = []
    for p in data["peers"]:
        rejected = ", ".join(f"{code} {n}" for code, n in sorted(p["rejections"].items()))
        lines.append(f"{p['did']}  {p['url']}  ({p['source']})")
        lines.append(
            f"  last sync {p['last_sync_at'] or 'never'}, {p['records_received']} records received"
            + (f", rejected: {rejected}" if rejected else "")
            + (f", last error: {p['last_error']}" if p["last_error"] else "")
        )
    return "\n".join(lines)


@peer.command(name="add")
@click.argument("url")
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let this peer be on a private, loopback or link-local address (a node on your own "
    "machine or network); without it such addresses are refused at every connection.",
)
@json_option
@pass_context
def peer_add(ctx: Context, url: str, allow_private: bool, as_json: bool) -> None:
    """Add the node at URL as a peer (it must answer /.well-known/guildnode)."""
    with backend(ctx) as node:
        result = node.add_peer(url, allow_private)
    emit(result, as_json, lambda p: f"Added peer {p['did']} at {p['url']}")


@peer.command(name="list")
@json_option
@pass_context
def peer_list(ctx: Context, as_json: bool) -> None:
    """List peers: last sync, records received, rejections by code, last error."""
    with backend(ctx) as node:
        data = node.peers()
    emit(data, as_json, _peers_text)


@peer.command(name="remove")
@click.argument("did_or_url")
@pass_context
def peer_remove(ctx: Context, did_or_url: str) -> None:
    """Forget a peer, by its DID or URL."""
    with backend(ctx) as node:
        node.remove_peer(did_or_url)
    click.echo(f"Removed {did_or_url}")


def _sync_text(data: dict[str, Any]) -> str:
    if not data["rounds"]:
        return "No peers to sync with."
    lines = []
    for r in data["rounds"]:
        if r["error"]:
            outcome = f"failed: {r['error']['code']}: {r['error']['detail']}"
        elif r["idle"]:
            outcome = "nothing new"
        else:
            outcome = f"fetched {r['accepted']} records"
        if r["rejected"]:
            outcome += ", rejected " + ", ".join(f"{c} {n}" for c, n in r["rejected"].items())
        lines.append(f"{r['url']}: {outcome} ({r['round_trips']} round trips)")
    return "\n".join(lines)


@main.command()
@json_option
@pass_context
def sync(ctx: Context, as_json: bool) -> None:
    """Sync with every peer now, and report what was fetched."""
    with backend(ctx) as node:
        data = node.sync()
    emit(data, as_json, _sync_text)
