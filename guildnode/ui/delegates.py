"""The Delegates page (SPEC §15): the staff keys that act for you, within a scope and until
an expiry; authorise one, revoke one; and the organisations your own key acts for."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import delegating
from ..api.deps import NodeDep
from ..delegation import SCOPES
from ..errors import NodeError
from ..node import Node
from ..views import display_name
from .auth import SessionDep, require_session
from .forms import Refused, read_form, refused_page, whole_number
from .render import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

SCOPE_LABELS = {
    "briefs": "Post briefs",
    "offers": "Make offers",
    "approve": "Approve milestones",
    "pay": "Pay",
}


def delegates_page(
    request: Request,
    node: Node,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    state = delegating.state(node)
    names = {
        g[who]: display_name(node, g[who])
        for who, grants in (("delegate", state["delegates"]), ("organisation", state["acting_for"]))
        for g in grants
    }
    return render(
        request,
        "delegates.html",
        status=status,
        state=state,
        names=names,
        scopes=[(s, SCOPE_LABELS[s]) for s in SCOPES],
        errors=errors or {},
        values=values or {"expires_days": "30"},
    )


@router.get("/delegates")
def delegates(request: Request, node: NodeDep) -> HTMLResponse:
    return delegates_page(request, node)


async def _refused(
    request: Request, node: Node, exc: NodeError | Refused, values: dict[str, str]
) -> HTMLResponse:
    return await refused_page(delegates_page, request, node, exc, values)


@router.post("/delegates/add")
async def add(request: Request, node: NodeDep, session: SessionDep) -> Response:
    values = await read_form(request)

    def act() -> None:
        days = whole_number(values, "expires_days", "The expiry", -3650, 3650, default=30)
        scope = [s for s in SCOPES if values.get(f"scope-{s}") == "on"]
        delegating.add(node, values.get("delegate", ""), scope, 30 if days is None else days)

    try:
        await run_in_threadpool(act)
    except (NodeError, Refused) as exc:
        return await _refused(request, node, exc, values)
    session.say("Delegated: that key now acts for you within its scope.")
    return RedirectResponse("/delegates", status_code=303)


@router.post("/delegates/revoke")
async def revoke(request: Request, node: NodeDep, session: SessionDep) -> Response:
    values = await read_form(request)
    try:
        await run_in_threadpool(lambda: delegating.revoke(node, values.get("delegate", "")))
    except NodeError as exc:
        return await _refused(request, node, exc, values)
    session.say("Revoked: that key's next records no longer count as yours.")
    return RedirectResponse("/delegates", status_code=303)
