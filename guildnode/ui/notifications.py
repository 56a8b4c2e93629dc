"""The Notifications page, and the event stream that keeps it and the header's badge live.

The page lists the notices of `notices.waiting` (what waits on the owner, each with the link
to its action). `GET /notifications/stream` is Server-Sent Events for the owner's session only:
without one it answers `401 unauthorized` in the JSON error shape (an EventSource is not a
page to redirect to the login), and when every stream slot is taken `503 too_many_streams`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from .. import notices
from ..api.deps import NodeDep
from ..api.errors import error_response
from .auth import LoginRequired, require_session
from .live import Live
from .render import render

router = APIRouter(include_in_schema=False)

STREAM_HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


@router.get("/notifications", dependencies=[Depends(require_session)])
def notifications(request: Request, node: NodeDep) -> HTMLResponse:
    return render(request, "notifications.html", notices=notices.waiting(node).notices)


@router.get("/notifications/stream")
async def stream(request: Request, node: NodeDep) -> Response:
    try:
        require_session(request)
    except LoginRequired:  # not the login page's redirect: an EventSource is not a page
        return error_response(
            401, "unauthorized", "The notification stream is for the owner's signed-in session."
        )
    live: Live = request.app.state.live
    if live.full():
        return error_response(
            503,
            "too_many_streams",
            f"{live.most} notification streams are open already; close one and try again.",
            headers={"Retry-After": "5"},
        )
    events = live.events(lambda: notices.inbox(node), lambda: node.now() // 60)
    return StreamingResponse(events, media_type="text/event-stream", headers=STREAM_HEADERS)
