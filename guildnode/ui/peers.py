"""The Peers page: who the node syncs with and how that goes; add, remove, sync now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..api.deps import FederationDep, NodeDep
from ..federation import SyncReport
from ..node import Node
from ..peers import PeerError
from ..views import display_name, peer_view
from .auth import SessionDep, require_session
from .forms import PATTERNS, read_form
from .render import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])


def peers_page(
    request: Request,
    node: Node,
    peers: list[dict[str, Any]],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    shown = [peer_view(p) | {"name": display_name(node, p["did"])} for p in peers]
    return render(
        request, "peers.html", status=status, peers=shown, errors=errors or {},
        values=values or {},
    )  # fmt: skip


@router.get("/peers")
def peers(request: Request, node: NodeDep, federation: FederationDep) -> HTMLResponse:
    return peers_page(request, node, federation.peers())


@router.post("/peers")
async def add_peer(
    request: Request, node: NodeDep, federation: FederationDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    try:
        peer = await federation.add_peer(
            values.get("url", ""), allow_private=values.get("allow_private") == "on"
        )
    except PeerError as exc:
        sentence = PATTERNS["url"] if exc.code == "invalid_url" else exc.detail
        errors = {"url": f"{sentence} ({exc.code})"}
        held = federation.peers()
        return await run_in_threadpool(
            lambda: peers_page(request, node, held, status=400, errors=errors, values=values)
        )
    session.say(f"Added the peer {display_name(node, peer['did'])} at {peer['url']}.")
    return RedirectResponse("/peers", status_code=303)


@router.post("/peers/remove")
async def remove_peer(request: Request, federation: FederationDep, session: SessionDep) -> Response:
    peer = (await read_form(request)).get("peer", "")
    if federation.remove_peer(peer):
        session.say(f"Removed the peer {peer}.")
    else:
        session.say(f"No peer {peer} is known.", "error")
    return RedirectResponse("/peers", status_code=303)


def outcome(report: SyncReport) -> tuple[str, str]:
    """One round with one peer, in words, and whether it went wrong."""
    if report.error is not None:
        return "error", f"{report.url}: failed: {report.error.detail} ({report.error.code})"
    if report.idle:
        text = f"{report.url}: nothing new"
    else:
        text = f"{report.url}: fetched {report.accepted} new records"
    if report.rejected:
        text += ", refused " + ", ".join(f"{n} ({code})" for code, n in report.rejected.items())
    return "ok", text + "."


@router.post("/peers/sync")
async def sync_now(request: Request, federation: FederationDep, session: SessionDep) -> Response:
    back = (await read_form(request)).get("next", "/peers")
    await federation.flush()
    reports = await federation.sync_all()
    if not reports:
        session.say("There are no peers to sync with yet: add one below.", "error")
    else:
        session.say(f"Synced with {len(reports)} peer{'s' if len(reports) > 1 else ''}.")
        for kind, text in map(outcome, reports):
            session.say(text, kind)
    local = back.startswith("/") and not back.startswith(("//", "/\\"))
    return RedirectResponse(back if local else "/peers", status_code=303)
