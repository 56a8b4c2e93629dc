"""Signing in and out: the login link's landing route, and the route that issues links."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..api.deps import OwnerDep
from .auth import LINK_SECONDS, SESSION_SECONDS, SessionDep, ui_auth
from .render import render

router = APIRouter(include_in_schema=False)
# For `guildnode ui`: only the owner's token gets a link, and only from the node itself.
api_router = APIRouter(prefix="/api/ui", tags=["local"], dependencies=[OwnerDep])


@api_router.post("/login-link", summary="A fresh single-use login link to the web UI")
def login_link(request: Request) -> dict[str, Any]:
    return {"url": ui_auth(request).login_url(), "expires_in": LINK_SECONDS}


@router.get("/login")
def login(request: Request, token: str | None = None, signed_out: bool = False) -> Response:
    auth = ui_auth(request)
    if token is None:
        if auth.sessions.get(request.cookies.get(auth.session_cookie, "")) is not None:
            return RedirectResponse("/", status_code=303)
        return render(request, "login.html", signed_out=signed_out, refused=False)
    if not auth.links.redeem(token):
        return render(request, "login.html", status=403, signed_out=False, refused=True)
    session = auth.sessions.create()
    session.say("You are signed in to your node.")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        auth.session_cookie,
        session.id,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    auth = ui_auth(request)
    auth.sessions.end(session.id)
    response = RedirectResponse("/login?signed_out=true", status_code=303)
    response.delete_cookie(auth.session_cookie, path="/", httponly=True, samesite="strict")
    return response
