"""Search pages (issue 12): briefs of any indexed guild (the briefs board's search box),
"find a guild" (listed guilds, and the indexers the owner named), and fetching a found
guild or brief here so it can be applied or proposed to through the normal pages.

Every result shown was verified on this node (`search.ask`); what an indexer altered or
sent off the query is listed as dropped, with the indexer and the reason.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import indexers
from ..api.deps import FederationDep
from ..federation import Federation
from ..peers import PeerError
from ..search import SearchError, SearchResult, make_query
from .auth import SessionDep, require_session
from .briefs import budget
from .forms import read_form
from .render import render

# Every path is under /guilds or /briefs: the UI's guard (Host check, CSRF) covers those.
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])


def _result_view(federation: Federation, found: dict[str, Any]) -> dict[str, Any]:
    body = found["record"]["body"]
    view = {
        "id": found["id"],
        "author": found["author"],
        "indexers": found["indexers"],
        "held": federation.node.store.get(found["id"]) is not None,
        "skills": body.get("skills", []),
    }
    if found["kind"] == "brief":
        return view | {"title": body["title"], "description": body["description"],
                       "budget_text": budget(body), "engagement": body["engagement"]}  # fmt: skip
    listing = body.get("listing", {})
    return view | {
        "name": body["name"],
        "description": listing.get("description", ""),
        "apply": listing.get("apply", ""),
        "skills": listing.get("skills", []) or body["admission"].get("skills", []),
        "founders": len(body["founders"]),
    }


async def _search(
    federation: Federation, what: str, params: dict[str, str]
) -> tuple[dict[str, Any] | None, str]:
    """The search's answer as plain values, or None and why it could not be asked."""
    try:
        query = make_query(what, params)
        result: SearchResult = await indexers.search(federation, query)
    except SearchError as exc:
        return None, exc.detail
    data = result.as_dict()
    data["results"] = [_result_view(federation, found) for found in data["results"]]
    for answer in data["indexers"]:
        age = answer["age_seconds"]
        answer["as_of_at"] = None if age is None else result.now - age
    return data, ""


def _asked(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in names}


@router.get("/briefs/search")
async def search_briefs(request: Request, federation: FederationDep) -> HTMLResponse:
    values = _asked(request, ("q", "skill", "currency"))
    data, problem = (None, "")
    if any(values.values()) or "q" in request.query_params:
        data, problem = await _search(federation, "briefs", values)
    return render(request, "search_briefs.html", status=400 if problem else 200,
                  values=values, data=data, problem=problem)  # fmt: skip


def _find_page(
    request: Request,
    federation: Federation,
    values: dict[str, str],
    data: dict[str, Any] | None,
    problem: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "find_guild.html",
        status=status,
        values=values,
        data=data,
        problem=problem,
        indexers=indexers.list_indexers(federation.node.store)["indexers"],
        errors=errors or {},
    )


@router.get("/guilds/find")
async def find_guild(request: Request, federation: FederationDep) -> HTMLResponse:
    values = _asked(request, ("q", "skill"))
    data, problem = (None, "")
    if any(values.values()) or "q" in request.query_params:
        data, problem = await _search(federation, "guilds", values)
    return _find_page(request, federation, values, data, problem, status=400 if problem else 200)


@router.post("/guilds/find/indexers")
async def add_indexer(request: Request, federation: FederationDep, session: SessionDep) -> Response:
    values = await read_form(request)
    try:
        row = await indexers.add_indexer(
            federation, values.get("url", ""), values.get("allow_private") == "on"
        )
    except PeerError as exc:
        errors = {"url": f"{exc.detail} ({exc.code})"}
        return _find_page(request, federation, values, None, "", status=400, errors=errors)
    session.say(f"Your searches now ask the indexer at {row['url']}.")
    return RedirectResponse("/guilds/find", status_code=303)


@router.post("/guilds/find/indexers/remove")
async def remove_indexer(
    request: Request, federation: FederationDep, session: SessionDep
) -> Response:
    url = (await read_form(request)).get("url", "")
    try:
        indexers.remove_indexer(federation.node.store, url)
    except SearchError as exc:
        session.say(exc.detail, "error")
    else:
        session.say(f"Forgot the indexer at {url}.")
    return RedirectResponse("/guilds/find", status_code=303)


@router.post("/guilds/find/follow")
async def follow(request: Request, federation: FederationDep, session: SessionDep) -> Response:
    """Fetch a found guild or brief, then show its page (apply there, or propose)."""
    values = await read_form(request)
    back = "/briefs/search" if values.get("kind") == "brief" else "/guilds/find"
    try:
        done = await indexers.follow(
            federation,
            values.get("record", ""),
            values.get("author", ""),
            values.get("source") or None,
        )
    except (SearchError, PeerError) as exc:
        session.say(f"Could not fetch it: {exc.detail} ({exc.code})", "error")
        return RedirectResponse(back, status_code=303)
    peer = done["peer"]
    session.say(
        f"Fetched and verified from {done['from']}"
        + (f"; {peer['url']} is now a peer." if peer else "; no node of its author answered yet.")
    )
    page = "guilds" if done["kind"] == "guild" else "briefs"
    return RedirectResponse(f"/{page}/{done['id']}", status_code=303)
