"""Home, people and the trust graph: pages, and the forms that act on them.

Every page needs a session. A page is built by a function that can also re-render it with
a refused form's errors beside their fields (status 400); a form that succeeds redirects
with a confirmation for the next page (post/redirect/get).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import derive, views
from ..api.deps import FederationDep, NodeDep
from ..errors import NodeError
from ..node import Node
from ..protocol import ProtocolError, parse_json
from ..views import display_name, peer_view
from .auth import SessionDep, require_session
from .briefs import budget
from .contracts import summaries
from .forms import Refused, read_form, refusal, whole_number, word_list
from .graph import Link, layout
from .render import PageError, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

HALF_LIFE_DAYS = 180.0  # as trust() fades vouches by default
RECENT = 15
EXPLAINED = 20  # people whose paths the People page spells out
HOME_ITEMS = 8  # briefs and contracts listed on the home page
LIVE = ("offered", "countered", "active")


def context_arg(raw: str | None) -> str | None:
    """A context from a query string: empty means general trust."""
    value = (raw or "").strip()[:80]
    return value or None


def known_contexts(node: Node) -> list[dict[str, str]]:
    """Contexts vouches use, and every guild's, as options for a context field."""
    found = set(node.trust_view(None).table.contexts)
    found |= {f"guild:{gid}" for gid in node.charters()}
    return [
        {"value": c, "label": views.context_name(node, c)}
        for c in sorted(found, key=lambda c: (c.startswith("guild:"), c))
    ]


# -- home ----------------------------------------------------------------------------------


def activity(node: Node, limit: int = RECENT) -> list[dict[str, Any]]:
    """The latest vouches, foundings, applications and departures the node holds."""
    items: list[dict[str, Any]] = []
    for v in node.trust_view(None).table.vouches:
        where = f"in {views.context_name(node, v.context)}" if v.context else "in general"
        items.append(
            {"at": v.created_at, "actor": v.author, "verb": "vouched for",
             "person": v.subject, "guild": None, "detail": f"level {v.level} {where}"}
        )  # fmt: skip
    charters = node.charters()
    for charter in charters.values():
        items.append(
            {"at": charter.created_at, "actor": charter.author, "verb": "founded",
             "person": None, "guild": charter.id, "detail": ""}
        )  # fmt: skip
    for application in derive.applications(node.store):
        verb = "applied to" if application.kind == "apply" else "left"
        items.append(
            {"at": application.created_at, "actor": application.author, "verb": verb,
             "person": None, "guild": application.guild, "detail": ""}
        )  # fmt: skip
    items.sort(key=lambda item: item["at"], reverse=True)
    recent = items[:limit]
    for item in recent:
        item["actor_name"] = display_name(node, item["actor"])
        item["person_name"] = display_name(node, item["person"]) if item["person"] else ""
        held = charters.get(item["guild"] or "")
        item["guild_name"] = held.name if held else ""
    return recent


def home_page(
    request: Request,
    node: Node,
    peers: list[dict[str, Any]],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    profile = node.profile() or {}
    mine = []
    for guild in node.guilds():
        view = views.guild_view(node, guild)
        applying = next((a for a in view["applicants"] if a["did"] == node.did), None)
        if view["you_are_member"] or applying:
            mine.append(view | {"applying": applying})
    for peer in peers:
        peer["name"] = display_name(node, peer["did"])
    matching = [b for b in views.briefs(node, None, None)["briefs"] if b["matches_my_skills"]]
    for brief in matching:
        brief["budget_text"] = budget(brief)
    return render(
        request,
        "home.html",
        status=status,
        whoami=views.whoami(node),
        profile=profile,
        guilds=mine,
        briefs=matching[:HOME_ITEMS],
        contracts=[c for c in summaries(node) if c["state"] in LIVE][:HOME_ITEMS],
        peers=peers,
        recent=activity(node),
        errors=errors or {},
        values=values
        or {
            "name": profile.get("name", ""),
            "skills": ", ".join(profile.get("skills", [])),
            "bio": profile.get("bio", ""),
            "organisation": "on" if profile.get("kind") == "organisation" else "",
        },
    )


@router.get("/")
def home(request: Request, node: NodeDep, federation: FederationDep) -> HTMLResponse:
    return home_page(request, node, [peer_view(p) for p in federation.peers()])


@router.post("/profile")
async def update_profile(
    request: Request, node: NodeDep, federation: FederationDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    try:
        await run_in_threadpool(
            lambda: node.set_profile(
                name=values.get("name", ""),
                organisation=values.get("organisation") == "on",
                skills=word_list(values.get("skills", "")),
                bio=values.get("bio", ""),
            )
        )
    except (NodeError, ProtocolError) as exc:
        errors = refusal(exc.code, exc.detail, {"name": "name", "skills": "skills"}).errors
        peers = [peer_view(p) for p in federation.peers()]
        return await run_in_threadpool(
            lambda: home_page(request, node, peers, status=400, errors=errors, values=values)
        )
    session.say("Your profile is published.")
    return RedirectResponse("/", status_code=303)


# -- people --------------------------------------------------------------------------------


def people_page(
    request: Request,
    node: Node,
    context: str | None,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    ranked = views.people(node, context)["people"]
    for person in ranked[:EXPLAINED]:
        person["paths"] = views.trust_of(node, person["did"], context)["paths"]
    return render(
        request,
        "people.html",
        status=status,
        context=context or "",
        context_label=views.context_name(node, context) if context else "general trust",
        contexts=known_contexts(node),
        people=ranked,
        errors=errors or {},
        values=values or {},
    )


@router.get("/people")
def people(request: Request, node: NodeDep, context: str | None = None) -> HTMLResponse:
    return people_page(request, node, context_arg(context))


@router.get("/people/find")
def find_person(request: Request, node: NodeDep, did: str = "") -> Response:
    try:
        node.check_did(did.strip())
    except NodeError as exc:
        problem = refusal(exc.code, exc.detail, {"invalid_did": "did"})
        return people_page(request, node, None, status=400, errors=problem.errors,
                           values={"did": did})  # fmt: skip
    return RedirectResponse(f"/people/{did.strip()}", status_code=303)


def vouch_rows(node: Node, **filters: list[str]) -> list[dict[str, Any]]:
    """Vouches held (newest first), each with its statement and whether it is revoked."""
    refs = sorted(node.store.refs("vouch", **filters), key=lambda r: r.created_at, reverse=True)
    refs = refs[:100]
    authors = {r.record_id: r.author for r in refs}
    revoked = {
        r.value
        for r in node.store.refs("revoke", values=list(authors))
        if authors.get(r.value) == r.author
    }
    rows = []
    for ref in refs:
        canonical = node.store.get(ref.record_id)
        body = parse_json(canonical)["body"] if canonical else {}
        rows.append(
            {
                "id": ref.record_id,
                "author": ref.author,
                "author_name": display_name(node, ref.author),
                "subject": ref.value,
                "subject_name": display_name(node, ref.value),
                "level": ref.level,
                "context": ref.context,
                "context_name": views.context_name(node, ref.context) if ref.context else "",
                "created_at": ref.created_at,
                "expires_at": ref.expires_at,
                "statement": body.get("statement", ""),
                "revoked": ref.record_id in revoked,
                "mine": ref.author == node.did,
            }
        )
    return rows


def work_with(node: Node, did: str) -> dict[str, Any]:
    """What the owner's node knows of someone's work: the organisation's payment record (by
    both parties' receipts), the owner's ended contracts with them, and revealed feedback
    about them."""
    evidence = node.market.evidence
    counted = {c.id for c in evidence.counted_feedback()}
    feedback = [
        {"id": r.id, "author": r.author, "from": display_name(node, r.author),
         "at": r.created_at, "rating": r.body.get("rating"),
         "statement": r.body.get("statement", ""), "counts": r.id in counted}
        for r in evidence.reveals()
        if r.body.get("subject") == did
    ]  # fmt: skip
    ended = [
        c for c in summaries(node) if c["counterpart_did"] == did and c["state"] == "completed"
    ]
    return {
        "payments": evidence.payment_record(did),
        "contracts": ended,
        "feedback": sorted(feedback, key=lambda f: f["at"], reverse=True),
    }


def person_page(
    request: Request,
    node: Node,
    did: str,
    context: str | None,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        trust = views.trust_of(node, did, context)
    except NodeError as exc:
        raise PageError(404, "No such person", f"{exc.detail} ({exc.code})") from None
    return render(
        request,
        "person.html",
        status=status,
        person=trust,
        is_me=did == node.did,
        profile=node.profile(did) or {},
        context=context or "",
        context_label=views.context_name(node, context) if context else "general trust",
        contexts=known_contexts(node),
        given=vouch_rows(node, authors=[did]),
        received=vouch_rows(node, values=[did]),
        work=work_with(node, did),
        errors=errors or {},
        values=values or {"level": "2", "context": context or ""},
    )


@router.get("/people/{did}")
def person(request: Request, node: NodeDep, did: str, context: str | None = None) -> HTMLResponse:
    return person_page(request, node, did, context_arg(context))


VOUCH_FIELDS = {
    "invalid_did": "_form",
    "self_vouch": "_form",
    "invalid_argument": "expires_days",
    "context": "context",
    "statement": "statement",
    "level": "level",
}


@router.post("/people/{did}/vouch")
async def vouch(request: Request, node: NodeDep, did: str, session: SessionDep) -> Response:
    values = await read_form(request)
    context = values.get("context") or None
    try:
        level = whole_number(values, "level", "The level", 1, 3)
        if level is None:
            raise Refused({"level": "Choose a level from 1 to 3."})
        expires = whole_number(values, "expires_days", "Expiry", 1, 365)
        try:
            await run_in_threadpool(
                lambda: node.vouch(
                    did,
                    level=level,
                    context=context,
                    statement=values.get("statement") or None,
                    expires_days=expires,
                )
            )
        except (NodeError, ProtocolError) as exc:
            raise refusal(exc.code, exc.detail, VOUCH_FIELDS) from None
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: person_page(
                request, node, did, context, status=400, errors=errors, values=values
            )
        )
    where = f"in {views.context_name(node, context)}" if context else "in general"
    session.say(f"You vouched for {display_name(node, did)}: level {level} {where}.")
    query = f"?context={context}" if context else ""
    return RedirectResponse(f"/people/{did}{query}", status_code=303)


@router.post("/people/{did}/revoke")
async def revoke(request: Request, node: NodeDep, did: str, session: SessionDep) -> Response:
    values = await read_form(request)
    try:
        await run_in_threadpool(lambda: node.revoke(values.get("vouch", "")))
    except (NodeError, ProtocolError) as exc:
        session.say(f"The vouch was not revoked: {exc.detail} ({exc.code})", "error")
    else:
        session.say(f"Your vouch for {display_name(node, did)} is revoked.")
    return RedirectResponse(f"/people/{did}", status_code=303)


@router.post("/people/{did}/block")
def block(node: NodeDep, did: str, session: SessionDep) -> Response:
    try:
        node.block(did)
    except NodeError as exc:
        session.say(f"Not blocked: {exc.detail} ({exc.code})", "error")
    else:
        session.say(
            f"You blocked {display_name(node, did)}: they get no trust from you. "
            "Nothing was published."
        )
    return RedirectResponse(f"/people/{did}", status_code=303)


@router.post("/people/{did}/unblock")
def unblock(node: NodeDep, did: str, session: SessionDep) -> Response:
    try:
        node.unblock(did)
    except NodeError as exc:
        session.say(f"Not unblocked: {exc.detail} ({exc.code})", "error")
    else:
        session.say(f"You unblocked {display_name(node, did)}.")
    return RedirectResponse(f"/people/{did}", status_code=303)


# -- the trust graph ----------------------------------------------------------------------


def graph_links(node: Node, context: str | None) -> tuple[list[Link], dict[str, float]]:
    """The vouches that count within two hops of the owner, and those people's scores."""
    view = node.trust_view(context)
    table = view.table
    me = table.index.get(node.did)
    if me is None or not len(table.vouches):
        return [], {}
    weight = table.weights(context=context, now=node.now(), half_life_days=HALF_LIFE_DAYS)
    blocked = [table.index[d] for d in node.store.blocked() if d in table.index]
    counts = (weight > 0) & ~np.isin(table.src, blocked) & ~np.isin(table.dst, blocked)
    hop1 = set(table.dst[counts & (table.src == me)].tolist())
    hop1 |= set(table.src[counts & (table.dst == me)].tolist())
    near = counts & (np.isin(table.src, [me, *hop1]) | (table.dst == me))
    links = [
        Link(
            table.dids[int(table.src[i])],
            table.dids[int(table.dst[i])],
            float(weight[i]),
            table.vouches[int(i)].context,
        )
        for i in np.flatnonzero(near)
    ]
    people = {node.did} | {k.author for k in links} | {k.subject for k in links}
    return links, {did: view.score(did) for did in people}


@router.get("/graph")
def graph(request: Request, node: NodeDep, context: str | None = None) -> HTMLResponse:
    chosen = context_arg(context)
    links, scores = graph_links(node, chosen)
    names = {did: display_name(node, did) for did in scores}
    names[node.did] = node.name or "you"
    picture = layout(node.did, links, scores, names)
    names_of = {dot.did: dot.name for dot in picture.dots}
    return render(
        request,
        "graph.html",
        picture=picture,
        markers={colour: i for i, (_, colour) in enumerate(picture.legend, start=1)},
        names=names_of,
        context=chosen or "",
        context_label=views.context_name(node, chosen) if chosen else "general trust",
        contexts=known_contexts(node),
        context_names={c: views.context_name(node, c) for c, _ in picture.legend if c},
    )
