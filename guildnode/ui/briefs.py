"""Brief pages: the board (by guild and skill, mine first), posting a brief, a brief's page
with the proposal form, and — for the brief's organisation, and for the delegate that posted
it (SPEC §15.4), acting for the organisation — the proposals received, each with an offer
form.

Proposals and offers go through `actions.run`, the path the CLI and the local API take, so
the three refuse the same things in the same words.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import actions, conversations, delegating, views
from ..api.deps import NodeDep
from ..delegation import ACTION_SCOPES
from ..errors import NodeError
from ..node import Node
from ..protocol import ProtocolError
from ..views import display_name
from .auth import SessionDep, require_session
from .forms import Refused, lines, milestone_lines, read_form, whole_number, word_list, work_refusal
from .money import amount_field, currency_field, money, plain, to_minor
from .render import PageError, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

DAY = 86_400

POST_FIELDS = {
    "guilds": "guild",
    "title": "title",
    "description": "description",
    "acceptance_criteria": "criteria",
    "budget": "budget_min",
    "invalid_budget": "budget_min",
    "invalid_currency": "currency",
    "engagement": "engagement",
    "skills": "skills",
    "invalid_argument": "expires_days",
    "not_delegated": "for",
    "outside_scope": "for",
}
PROPOSE_FIELDS = {
    "pitch": "pitch",
    "amount": "price",
    "price": "price",
    "currency": "currency",
    "invalid_currency": "currency",
    "duration_days": "days",
}
OFFER_FIELDS = {
    "scope": "scope",
    "acceptance_criteria": "criteria",
    "milestones": "milestones",
    "invalid_terms": "milestones",
    "days": "days",
    "contract_too_long": "days",
    "respond_days": "respond_days",
}


def budget(brief: dict[str, Any]) -> str:
    b = brief["budget"]
    low, high = (
        money({"amount": b["min"], "currency": b["currency"]}),
        money({"amount": b["max"], "currency": b["currency"]}),
    )
    return low if b["min"] == b["max"] else f"{low.rsplit(' ', 1)[0]} to {high}"


def guild_options(node: Node) -> list[dict[str, str]]:
    return sorted(
        ({"id": gid, "name": charter.name} for gid, charter in node.charters().items()),
        key=lambda g: g["name"].lower(),
    )


def is_organisation(node: Node) -> bool:
    return (node.profile() or {}).get("kind") == "organisation"


def acting_for(node: Node) -> list[tuple[str, str]]:
    """The organisations whose active grants let the owner post briefs (SPEC §15), as
    (DID, name) for the form's "Post as"."""
    found = {
        g["organisation"]: display_name(node, g["organisation"])
        for g in delegating.state(node)["acting_for"]
        if g["status"] == "active" and "briefs" in g["scope"]
    }
    return sorted(found.items(), key=lambda item: item[1])


def briefs_page(
    request: Request,
    node: Node,
    guild: str | None,
    skill: str | None,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    board = views.briefs(node, guild, skill)["briefs"]
    for brief in board:
        brief["budget_text"] = budget(brief)
        brief["mine"] = brief["author"] == node.did
    skills = sorted({s for b in node.briefs() for s in b.skills})
    return render(
        request,
        "briefs.html",
        status=status,
        briefs=board,
        guild=guild or "",
        skill=skill or "",
        guilds=guild_options(node),
        skills=skills,
        my_skills=(node.profile() or {}).get("skills", []),
        organisation=is_organisation(node),
        acting_for=acting_for(node),
        errors=errors or {},
        values=values
        or {"currency": "EUR", "expires_days": "14", "engagement": "fixed", "guild": guild or ""},
    )


@router.get("/briefs")
def board(
    request: Request, node: NodeDep, guild: str | None = None, skill: str | None = None
) -> HTMLResponse:
    return briefs_page(request, node, (guild or "").strip() or None, (skill or "").strip() or None)


@router.post("/briefs")
async def post_brief(request: Request, node: NodeDep, session: SessionDep) -> Response:
    values = await read_form(request)
    try:
        if not values.get("guild"):
            raise Refused({"guild": "Choose the guild to post the brief to."})
        for name, words in (("title", "Give the brief a title."),
                            ("description", "Describe the work.")):  # fmt: skip
            if not values.get(name):
                raise Refused({name: words})
        criteria = lines(values.get("criteria", ""))
        if not criteria:
            raise Refused({"criteria": "Give at least one acceptance criterion, one a line."})
        currency = currency_field(values)
        low = amount_field(values, "budget_min", "The minimum", currency)
        high = amount_field(values, "budget_max", "The maximum", currency)
        if low > high:
            raise Refused({"budget_max": "The maximum must not be below the minimum."})
        expires = whole_number(values, "expires_days", "Expiry", 1, 30, 14) or 14
        engagement = values.get("engagement") or "fixed"
        if engagement not in ("fixed", "hourly"):
            raise Refused({"engagement": "Choose fixed price or hourly."})
        try:
            record = await run_in_threadpool(
                lambda: node.post_brief(
                    guilds=[values["guild"]],
                    title=values["title"],
                    description=values["description"],
                    acceptance_criteria=criteria,
                    budget_min=low,
                    budget_max=high,
                    currency=currency,
                    engagement=engagement,
                    skills=word_list(values.get("skills", "")),
                    expires_days=expires,
                    organisation=values.get("for") or None,
                )
            )
        except (NodeError, ProtocolError) as exc:
            raise work_refusal(exc.code, exc.detail, POST_FIELDS) from None
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: briefs_page(request, node, None, None, status=400, errors=errors, values=values)
        )
    session.say(
        f"Your brief {values['title']!r} is posted. Guild members receive it when they sync "
        "with your node or with someone who holds it."
    )
    return RedirectResponse(f"/briefs/{record.id}", status_code=303)


def offer_defaults(brief: dict[str, Any], proposal: dict[str, Any]) -> dict[str, str]:
    price = proposal["price"]
    amount = plain(price["amount"], price["currency"])
    days = max(1, proposal["duration_days"])
    return {
        "scope": "",
        "criteria": "\n".join(brief.get("acceptance_criteria", [])),
        "milestones": f"All of the work | {amount} | {days}",
        "days": str(days),
        "respond_days": "7",
    }


def offering_for(node: Node, brief: dict[str, Any]) -> dict[str, Any] | None:
    """On a brief the owner posted as an organisation's delegate (SPEC §15.4: its proposals
    reach the owner too): the organisation, its name, and why the owner may not offer for it
    now (`delegating.refusal` in a line), if so; None on any other brief."""
    if brief["delegate"] != node.did:
        return None
    organisation = brief["author"]
    refused = delegating.refusal(node, organisation, ACTION_SCOPES["offer"])
    return {
        "organisation": organisation,
        "name": display_name(node, organisation),
        "withheld": f"{refused[1]} ({refused[0]})" if refused else None,
    }


def brief_page(
    request: Request,
    node: Node,
    brief_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    failed: str = "",
) -> HTMLResponse:
    try:
        brief = views.brief_view(node, node.brief(brief_id))
    except NodeError as exc:
        raise PageError(exc.status, "No such brief", f"{exc.detail} ({exc.code})") from None
    brief["budget_text"] = budget(brief)
    if brief["delegate"]:  # SPEC §15.4: posted by a staff key for the organisation
        brief["delegate_name"] = display_name(node, brief["delegate"])
    mine = brief["author"] == node.did
    acting = offering_for(node, brief)
    found = views.proposals(node, brief_id)["proposals"]
    made = [c for c in node.market.contracts() if c.brief == brief_id]
    held = {b.id: b for b in node.briefs()}
    contracts = [views.contract_summary(node, c, held) for c in made]
    offered = {c.proposal: c.id for c in made}
    for proposal in found:
        proposal["price_text"] = money(proposal["price"])
        proposal["contract"] = offered.get(proposal["id"])
        key = f"offer:{proposal['id']}"
        proposal["values"] = values if failed == key and values else offer_defaults(brief, proposal)
        proposal["errors"] = errors if failed == key and errors else {}
    for contract in contracts:
        contract["price_text"] = money(contract["price"])
    propose_values = values if failed == "propose" and values else {
        "currency": brief["budget"]["currency"]
    }  # fmt: skip
    return render(
        request,
        "brief.html",
        status=status,
        brief=brief,
        mine=mine,
        acting=acting,
        received=[p for p in found if p["author"] != node.did] if mine or acting else [],
        sent=[p for p in found if p["author"] == node.did],
        contracts=contracts,
        conversation=conversations.list_threads(node, brief_id),
        can_ask=not mine and acting is None,
        errors=errors if failed == "propose" and errors else {},
        values=propose_values,
    )


@router.get("/briefs/{brief_id}")
def brief(request: Request, node: NodeDep, brief_id: str) -> HTMLResponse:
    return brief_page(request, node, brief_id)


async def _refused(
    request: Request, node: Node, brief_id: str, problem: Refused, values: dict[str, str],
    failed: str,
) -> HTMLResponse:  # fmt: skip
    errors = problem.errors
    return await run_in_threadpool(
        lambda: brief_page(
            request, node, brief_id, status=400, errors=errors, values=values, failed=failed
        )
    )


@router.post("/briefs/{brief_id}/propose")
async def propose(request: Request, node: NodeDep, brief_id: str, session: SessionDep) -> Response:
    values = await read_form(request)
    try:
        if not values.get("pitch"):
            raise Refused({"pitch": "Say in a few lines why you and how you would do it."})
        currency = currency_field(values)
        amount = amount_field(values, "price", "The price", currency)
        days = whole_number(values, "days", "Days", 1, 365)
        if days is None:
            raise Refused({"days": "Say how many days the work takes."})
        fields = {"brief": brief_id, "pitch": values["pitch"], "amount": amount,
                  "currency": currency, "duration_days": days}  # fmt: skip
        try:
            await run_in_threadpool(lambda: actions.run(node, "propose", fields))
        except (NodeError, ProtocolError) as exc:
            raise work_refusal(exc.code, exc.detail, PROPOSE_FIELDS) from None
    except Refused as problem:
        return await _refused(request, node, brief_id, problem, values, "propose")
    organisation = display_name(node, node.brief(brief_id).author)
    session.say(
        f"Your proposal is sent to {organisation}, sealed so only they can read it. "
        "Their offer will appear under Contracts."
    )
    return RedirectResponse(f"/briefs/{brief_id}", status_code=303)


@router.post("/briefs/{brief_id}/offer")
async def offer(request: Request, node: NodeDep, brief_id: str, session: SessionDep) -> Response:
    values = await read_form(request)
    proposal_id = values.get("proposal", "")
    failed = f"offer:{proposal_id}"
    try:
        proposal = next((p for p in node.market.proposals(brief_id) if p.id == proposal_id), None)
        if proposal is None:
            raise Refused({"_form": "That proposal is not held here any more."})
        currency = proposal.price["currency"]
        if not values.get("scope"):
            raise Refused({"scope": "Say what the work covers."})
        criteria = lines(values.get("criteria", ""))
        if not criteria:
            raise Refused({"criteria": "Give at least one acceptance criterion, one a line."})
        milestones = milestone_lines(values, "milestones", currency, to_minor)
        days = whole_number(values, "days", "The contract's length", 1, 180, 30)
        respond = whole_number(values, "respond_days", "Days to respond", 1, 30, 7)
        fields = {"proposal": proposal_id, "scope": values["scope"],
                  "acceptance_criteria": criteria, "milestones": milestones,
                  "days": days, "respond_days": respond}  # fmt: skip
        # SPEC §15.6: on a brief the owner posted for an organisation, the offer is its.
        held = node.market.ledger.brief(brief_id)
        acting_for = held.author if held is not None and held.delegate == node.did else None
        if acting_for is not None:
            fields["organisation"] = acting_for
        try:
            record = await run_in_threadpool(lambda: actions.run(node, "offer", fields))
        except NodeError as exc:
            detail = delegating.explained(node, acting_for, "offer", exc)
            raise work_refusal(exc.code, detail, OFFER_FIELDS) from None
        except ProtocolError as exc:
            raise work_refusal(exc.code, exc.detail, OFFER_FIELDS) from None
    except Refused as problem:
        return await _refused(request, node, brief_id, problem, values, failed)
    total = money({"amount": sum(m["amount"] for m in milestones), "currency": currency})
    behalf = f", for {display_name(node, acting_for)}" if acting_for is not None else ""
    session.say(
        f"You offered {display_name(node, proposal.author)} a contract for {total}{behalf}. "
        f"They have {respond} days to accept, decline or counter."
    )
    return RedirectResponse(f"/contracts/{record.id}", status_code=303)
