"""Guild pages: the list, founding one, a guild's charter, members, applicants and motions,
and the actions on it (apply, leave, vouch for an applicant's admission; motions: `motions`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import views
from ..api.deps import NodeDep
from ..errors import NodeError
from ..node import Node
from ..notices import vouched_for_admission
from ..protocol import ProtocolError
from ..views import display_name
from .auth import SessionDep, require_session
from .forms import Refused, read_form, refusal, whole_number, word_list
from .render import PageError, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

ADMISSION_LEVEL = 2  # the README's `vouch DID --context guild:ID --level 2`

FOUND_FIELDS = {
    "name": "name",
    "purpose": "purpose",
    "founders": "cofounders",
    "invalid_did": "cofounders",
    "skills": "skills",
    "vouches_required": "vouches_required",
    "invalid_argument": "vouches_required",
    "cooling_days": "cooling_days",
    "listing": "listed",
}


def guilds_page(
    request: Request,
    node: Node,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    listed = [views.guild_view(node, guild) for guild in node.guilds()]
    for guild in listed:
        guild["applying"] = any(a["did"] == node.did for a in guild["applicants"])
    return render(
        request,
        "guilds.html",
        status=status,
        guilds=listed,
        errors=errors or {},
        values=values or {"vouches_required": "1", "cooling_days": "7"},
    )


@router.get("/guilds")
def guilds(request: Request, node: NodeDep) -> HTMLResponse:
    return guilds_page(request, node)


@router.post("/guilds")
async def found(request: Request, node: NodeDep, session: SessionDep) -> Response:
    values = await read_form(request)
    try:
        required = whole_number(values, "vouches_required", "Vouches required", 1, 20, 1)
        cooling = whole_number(values, "cooling_days", "Cooling days", 0, 365, 7)
        if not values.get("name"):
            raise Refused({"name": "Give the guild a name."})
        if not values.get("purpose"):
            raise Refused({"purpose": "Say what the guild is for."})
        try:
            record = await run_in_threadpool(
                lambda: node.found_guild(
                    values["name"],
                    values["purpose"],
                    vouches_required=required or 1,
                    cofounders=word_list(values.get("cofounders", "")),
                    skills=word_list(values.get("skills", "")),
                    cooling_days=7 if cooling is None else cooling,
                    listing={
                        "description": values["listed"],
                        "skills": word_list(values.get("skills", "")),
                        "apply": values.get("how_to_apply", ""),
                    }
                    if values.get("listed")
                    else None,
                )
            )
        except (NodeError, ProtocolError) as exc:
            raise refusal(exc.code, exc.detail, FOUND_FIELDS) from None
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: guilds_page(request, node, status=400, errors=errors, values=values)
        )
    session.say(f"You founded the guild {values['name']}.")
    return RedirectResponse(f"/guilds/{record.id}", status_code=303)


def guild_page(
    request: Request,
    node: Node,
    guild_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        guild = views.guild_view(node, node.guild(guild_id))
        motions = views.motions(node, guild_id)["motions"]
    except NodeError as exc:
        raise PageError(exc.status, "No such guild", f"{exc.detail} ({exc.code})") from None
    context = f"guild:{guild_id}"
    vouched = vouched_for_admission(node, guild_id)
    applying: dict[str, Any] | None = None
    for applicant in guild["applicants"]:
        applicant["you_vouched"] = applicant["did"] in vouched
        if applicant["did"] == node.did:
            applying = applicant
    return render(
        request,
        "guild.html",
        status=status,
        guild=guild,
        context=context,
        founder_names={did: display_name(node, did) for did in guild["founders"]},
        applying=applying,
        motions=motions,
        removable=[(mem["did"], mem["name"]) for mem in guild["members"] if mem["did"] != node.did],
        errors=errors or {},
        values=values or {},
    )


@router.get("/guilds/{guild_id}")
def guild(request: Request, node: NodeDep, guild_id: str) -> HTMLResponse:
    return guild_page(request, node, guild_id)


async def _act(
    request: Request, node: NodeDep, guild_id: str, session: SessionDep, act: Any, done: str
) -> Response:
    try:
        await run_in_threadpool(act)
    except (NodeError, ProtocolError) as exc:
        errors = refusal(exc.code, exc.detail, {"note": "note", "reason": "note"}).errors
        return await run_in_threadpool(
            lambda: guild_page(request, node, guild_id, status=400, errors=errors)
        )
    session.say(done)
    return RedirectResponse(f"/guilds/{guild_id}", status_code=303)


@router.post("/guilds/{guild_id}/apply")
async def apply(request: Request, node: NodeDep, guild_id: str, session: SessionDep) -> Response:
    note = (await read_form(request)).get("note") or None
    return await _act(
        request, node, guild_id, session,
        lambda: node.apply_guild(guild_id, note),
        "You applied. Members admit you by vouching for you in the guild's context.",
    )  # fmt: skip


@router.post("/guilds/{guild_id}/leave")
async def leave(request: Request, node: NodeDep, guild_id: str, session: SessionDep) -> Response:
    await read_form(request)
    return await _act(
        request, node, guild_id, session,
        lambda: node.leave_guild(guild_id), "You left the guild.",
    )  # fmt: skip


@router.post("/guilds/{guild_id}/vouch")
async def vouch_for_admission(
    request: Request, node: NodeDep, guild_id: str, session: SessionDep
) -> Response:
    subject = (await read_form(request)).get("subject", "")
    return await _act(
        request, node, guild_id, session,
        lambda: node.vouch(subject, level=ADMISSION_LEVEL, context=f"guild:{guild_id}"),
        f"You vouched for {display_name(node, subject)}'s admission (level {ADMISSION_LEVEL}).",
    )  # fmt: skip
