"""The Identity page (SPEC §14): your member's keys and where each key's effect ends, your
recovery set; rotate your key, name recovery keys (a paper key's seed shown once), mark an
old key compromised."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import keeping
from ..api.deps import NodeDep
from ..errors import NodeError
from ..node import Node
from ..views import display_name
from .auth import SessionDep, require_session
from .forms import Refused, read_form, refused_page, whole_number
from .render import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])


def identity_page(
    request: Request,
    node: Node,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    paper: dict[str, str] | None = None,
) -> HTMLResponse:
    state = keeping.state(node)
    recovery = state["recovery"]
    return render(
        request,
        "identity.html",
        status=status,
        state=state,
        recoverers=[(did, display_name(node, did)) for did in (recovery or {}).get("keys", [])],
        paper=paper,
        errors=errors or {},
        values=values or {"threshold": "1"},
    )


def _short(did: str) -> str:
    """A DID short enough for a message on a phone."""
    return did[:20] + "…" if len(did) > 20 else did


@router.get("/identity")
def identity(request: Request, node: NodeDep) -> HTMLResponse:
    return identity_page(request, node)


async def _refused(
    request: Request, node: Node, exc: NodeError | Refused, values: dict[str, str]
) -> HTMLResponse:
    return await refused_page(identity_page, request, node, exc, values)


@router.post("/identity/rotate")
async def rotate(request: Request, node: NodeDep, session: SessionDep) -> Response:
    values = await read_form(request)
    try:
        done = await run_in_threadpool(
            lambda: keeping.rotate(node, reason=values.get("reason") or None)
        )
    except NodeError as exc:
        return await _refused(request, node, exc, values)
    session.say(f"Rotated your key: you now sign as {_short(done['new'])}.")
    return RedirectResponse("/identity", status_code=303)


@router.post("/identity/recovery")
async def recovery(request: Request, node: NodeDep) -> Response:
    values = await read_form(request)
    keys = values.get("keys", "").split()

    def act() -> dict[str, Any]:
        threshold = whole_number(values, "threshold", "The threshold", 1, 10, default=1)
        return keeping.set_recovery(node, keys, threshold or 1, paper=values.get("paper") == "on")

    try:
        done = await run_in_threadpool(act)
    except (NodeError, Refused) as exc:
        return await _refused(request, node, exc, values)
    # The paper key's seed is shown on this answer only, never stored or shown again.
    return await run_in_threadpool(
        lambda: identity_page(request, node, paper=done.get("paper_key"))
    )


@router.post("/identity/compromise")
async def compromise(request: Request, node: NodeDep, session: SessionDep) -> Response:
    values = await read_form(request)

    def act() -> dict[str, Any]:
        from_seq = whole_number(values, "from_seq", "The first record", 1, 2**53 - 1)
        if from_seq is None:
            raise Refused({"from_seq": "Say from which record on the key was compromised."})
        return keeping.compromise(node, values.get("key", ""), from_seq)

    try:
        await run_in_threadpool(act)
    except (NodeError, Refused) as exc:
        return await _refused(request, node, exc, values)
    key = _short(values.get("key", ""))
    session.say(f"Marked the key {key} compromised from record {values.get('from_seq')}.")
    return RedirectResponse("/identity", status_code=303)
