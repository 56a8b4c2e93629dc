"""A guild's motions on its page: proposing an amendment or a removal, and voting (SPEC
§12.5). Refusals come back on the guild page beside the form, with their stable code."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from ..api.deps import NodeDep
from ..errors import NodeError
from ..protocol import ProtocolError
from .auth import SessionDep, require_session
from .forms import Refused, read_form, refusal, whole_number
from .guilds import guild_page

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

PROPOSE_FIELDS = {
    "name": "new_name",
    "purpose": "new_purpose",
    "vouches_required": "new_vouches_required",
    "invalid_amendment": "new_vouches_required",
    "listing": "new_listing",
    "malformed_motion": "motion",
    "member": "member",
}


def _changes(values: dict[str, str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if values.get("new_name"):
        changes["name"] = values["new_name"]
    if values.get("new_purpose"):
        changes["purpose"] = values["new_purpose"]
    required = whole_number(values, "new_vouches_required", "Vouches required", 1, 20)
    if required is not None:
        changes["vouches_required"] = required
    if values.get("new_listing"):
        changes["listing"] = {"description": values["new_listing"]}
    if values.get("unlist"):
        changes["unlist"] = "yes"
    return changes


@router.post("/guilds/{guild_id}/motions")
async def propose(request: Request, node: NodeDep, guild_id: str, session: SessionDep) -> Response:
    values = await read_form(request)
    removal = values.get("action") == "remove"
    try:
        fields: dict[str, Any] = {"reason": values.get("reason") or None}
        if removal:
            fields |= {"action": "remove", "member": values.get("member", "")}
        else:
            fields |= {"action": "amend", "changes": _changes(values)}
        try:
            await run_in_threadpool(lambda: node.assembly.propose(guild_id, **fields))
        except (NodeError, ProtocolError) as exc:
            raise refusal(exc.code, exc.detail, PROPOSE_FIELDS) from None
    except Refused as problem:
        errors = problem.errors
        if "_form" in errors:  # shown beside the motion forms, not atop the page
            errors["motion"] = errors.pop("_form")
        return await run_in_threadpool(
            lambda: guild_page(request, node, guild_id, status=400, errors=errors, values=values)
        )
    session.say(
        "You proposed the removal; it is your yes vote."
        if removal
        else "You proposed the amendment; it is your yes vote."
    )
    return RedirectResponse(f"/guilds/{guild_id}#motions", status_code=303)


@router.post("/guilds/{guild_id}/motions/{motion_id}/vote")
async def vote(
    request: Request, node: NodeDep, guild_id: str, motion_id: str, session: SessionDep
) -> Response:
    choice = (await read_form(request)).get("choice", "")
    try:
        await run_in_threadpool(lambda: node.assembly.vote(motion_id, choice))
    except (NodeError, ProtocolError) as exc:
        errors = {"vote": f"{exc.detail} ({exc.code})"}
        return await run_in_threadpool(
            lambda: guild_page(request, node, guild_id, status=400, errors=errors)
        )
    session.say(f"You voted {choice}.")
    return RedirectResponse(f"/guilds/{guild_id}#motions", status_code=303)
