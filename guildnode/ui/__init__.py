"""The owner's web UI: server-rendered pages over the node's use cases (DESIGN "Local API
and web UI"). `install_ui` adds it to an app made by `create_app`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from ..settings import Settings
from . import (
    briefs,
    contracts,
    delegates,
    disputes,
    export,
    guilds,
    identity,
    motions,
    notifications,
    pages,
    peers,
    search,
    signin,
    threads,
)
from .auth import Clock, LoginRequired, UiAuth, login_required_response
from .guard import UiGuard, own_hosts
from .render import PageError, Templates, find_web_dir, render

__all__ = ["ROUTERS", "UiAuth", "install_ui"]

# Every router of the UI, in the order they are matched: `search` before `guilds` and
# `briefs`, as /guilds/find and /briefs/search are not ids. The guard (`guard.is_ui_path`)
# must cover every path of these (tests/node/test_ui.py checks it).
ROUTERS = (
    *(module.router for module in (signin, pages, search, guilds, motions, briefs, contracts,
                                   threads, peers, identity, notifications, export, delegates,
                                   disputes)),
    signin.api_router,
)  # fmt: skip


def install_ui(app: FastAPI, settings: Settings, *, clock: Clock) -> None:
    """Serve the UI at / for the owner: routes, static files, and the guard around them."""
    web = find_web_dir()
    auth = UiAuth(
        port=settings.port,
        local_url=settings.local_url,
        clock=clock,
        store=lambda: app.state.node.store,  # the lifespan opens the node after this
    )
    app.state.ui_auth = auth
    app.state.ui_templates = Templates(web / "templates")
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=web / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return login_required_response(request)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> HTMLResponse:
        return render(request, "error.html", status=exc.status, title=exc.title,
                      detail=exc.detail)  # fmt: skip

    app.add_middleware(UiGuard, hosts=own_hosts(settings), csrf_cookie=auth.csrf_cookie)
