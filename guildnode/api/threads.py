"""The local API of conversations (SPEC §16.6): the owner's threads, and asking, replying,
publishing an answer to all and marking a thread read. Owner's token only, like the rest of
`/api`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.concurrency import run_in_threadpool

from .. import conversations
from .deps import NodeDep, OwnerDep

router = APIRouter(prefix="/api", tags=["threads"], dependencies=[OwnerDep])


@router.get("/threads", summary="Your threads, about one brief or contract if asked (§16)")
def list_threads(node: NodeDep, on: str | None = Query(None)) -> dict[str, Any]:
    return conversations.list_threads(node, on)


@router.get("/threads/{thread_id}", summary="One of your threads, with its messages")
def show_thread(thread_id: str, node: NodeDep) -> dict[str, Any]:
    return conversations.show_thread(node, thread_id)


@router.post("/thread/{action}", summary="ask, reply, publish or read (SPEC §16.6)")
async def thread_action(
    action: str, node: NodeDep, fields: Annotated[dict[str, Any], Body(default_factory=dict)]
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: conversations.run(node, action, fields))
