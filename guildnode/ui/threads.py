"""Conversation pages (SPEC §16): the Messages list with unread counts, one thread with its
reply form, asking from a brief's or a contract's page, and attachments as downloads.

Every form goes through `conversations.run`, the path the CLI and the local API take, so the
three refuse the same things in the same words. Opening a thread marks it read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import conversations
from ..api.deps import NodeDep
from ..errors import NodeError
from ..node import Node
from .auth import SessionDep, require_session
from .forms import Refused, read_form, work_refusal
from .render import PageError, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

FIELDS = {
    "text": "text",
    "message_too_large": "text",
    "attachment_too_large": "text",
    "question": "question",
}


def messages_page(
    request: Request,
    node: Node,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "messages.html",
        status=status,
        conversation=conversations.list_threads(node),
        errors=errors or {},
        values=values or {},
    )


@router.get("/messages")
def messages(request: Request, node: NodeDep) -> HTMLResponse:
    return messages_page(request, node)


def thread_page(
    request: Request,
    node: Node,
    thread_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        thread = conversations.show_thread(node, thread_id)
    except NodeError as exc:
        raise PageError(exc.status, "No such thread", f"{exc.detail} ({exc.code})") from None
    # SPEC §16.3: only the brief's organisation answers to all. A brief thread counts only
    # when its brief is held, so the by-id read finds it, without deriving every thread again.
    answers_to_all = (
        thread["about"] == "brief" and node.member(node.brief(thread["on"]).author) == node.did
    )
    if status == 200:
        conversations.read(node, thread_id)  # shown, so read (SPEC §16.5)
    back = f"/briefs/{thread['on']}" if thread["about"] == "brief" else f"/contracts/{thread['on']}"
    return render(
        request,
        "thread.html",
        status=status,
        thread=thread,
        back=back,
        answers_to_all=answers_to_all,
        errors=errors or {},
        values=values or {},
    )


@router.get("/messages/{thread_id}")
def thread(request: Request, node: NodeDep, thread_id: str) -> HTMLResponse:
    return thread_page(request, node, thread_id)


def _act(node: Node, action: str, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        return conversations.run(node, action, fields)
    except NodeError as exc:
        raise work_refusal(exc.code, exc.detail, FIELDS) from None


@router.post("/messages/ask")
async def ask(request: Request, node: NodeDep, session: SessionDep) -> Response:
    values = await read_form(request)
    fields = {"on": values.get("on", ""), "text": values.get("text", "")}
    try:
        if not fields["text"]:
            raise Refused({"text": "Write your message first."})
        result = await run_in_threadpool(lambda: _act(node, "ask", fields))
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: messages_page(request, node, status=400, errors=errors, values=values)
        )
    session.say("Your message is sent, sealed so only the two of you can read it.")
    return RedirectResponse(f"/messages/{result['id']}", status_code=303)


@router.post("/messages/{thread_id}/reply")
async def reply(request: Request, node: NodeDep, thread_id: str, session: SessionDep) -> Response:
    values = await read_form(request)
    public = values.get("public") == "yes"
    fields: dict[str, Any] = {"thread": thread_id, "text": values.get("text", "")}
    if public:
        fields["public"] = True
        if values.get("question"):
            fields["question"] = values["question"]
    try:
        if not fields["text"]:
            raise Refused({"text": "Write your reply first."})
        await run_in_threadpool(lambda: _act(node, "reply", fields))
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: thread_page(request, node, thread_id, status=400, errors=errors, values=values)
        )
    session.say(
        "Your answer is published to all who hold the brief; the question stays private."
        if public
        else "Your reply is sent."
    )
    return RedirectResponse(f"/messages/{thread_id}", status_code=303)


@router.post("/messages/{thread_id}/publish")
async def publish(request: Request, node: NodeDep, thread_id: str, session: SessionDep) -> Response:
    """Publish one of the owner's replies about its own brief to all (SPEC §16.3)."""
    values = await read_form(request)
    fields = {"message": values.get("message", "")}
    try:
        await run_in_threadpool(lambda: _act(node, "publish", fields))
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: thread_page(request, node, thread_id, status=400, errors=errors, values={})
        )
    session.say("Your reply is published to all who hold the brief; the question stays private.")
    return RedirectResponse(f"/messages/{thread_id}", status_code=303)


@router.get("/messages/{thread_id}/files/{sha256}")
def attachment(node: NodeDep, thread_id: str, sha256: str) -> Response:
    """An attachment as a download, never rendered (SPEC §6.23)."""
    try:
        found = conversations.attachment(node, thread_id, sha256)
    except NodeError as exc:
        raise PageError(exc.status, "No such file", f"{exc.detail} ({exc.code})") from None
    name, content = found
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "file"
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
