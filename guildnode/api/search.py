"""The local API of search (issue 12): the indexers the owner named, searching through
them, and following a guild found there. Owner's token only, like the rest of `/api`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from .. import indexers
from ..peers import PeerError
from ..search import SearchError, make_query
from .deps import FederationDep, OwnerDep
from .errors import error_response
from .local import LOCAL_PEER_CODES, PeerIn

router = APIRouter(prefix="/api", tags=["search"], dependencies=[OwnerDep])


class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record: str
    author: str
    source: str | None = None


def _refused(exc: SearchError | PeerError) -> JSONResponse:
    if isinstance(exc, SearchError):
        return error_response(exc.status, exc.code, exc.detail)
    return error_response(400 if exc.code in LOCAL_PEER_CODES else 502, exc.code, exc.detail)


@router.get("/indexers", summary="The indexers you named")
def list_indexers(federation: FederationDep) -> dict[str, Any]:
    return indexers.list_indexers(federation.node.store)


@router.post("/indexers", summary="Name an indexer by URL (it must answer a search)")
async def add_indexer(payload: PeerIn, federation: FederationDep) -> Any:
    try:
        return await indexers.add_indexer(federation, payload.url, payload.allow_private)
    except PeerError as exc:
        return _refused(exc)


@router.delete("/indexers/{url:path}", summary="Forget an indexer, by URL")
def remove_indexer(url: str, federation: FederationDep) -> Any:
    try:
        return indexers.remove_indexer(federation.node.store, url)
    except SearchError as exc:
        return _refused(exc)


@router.get(
    "/search/{what}",
    summary="Search briefs, people or guilds through every named indexer; each result is "
    "verified here and the dropped ones are reported",
)
async def search(what: str, request: Request, federation: FederationDep) -> Any:
    try:
        query = make_query(what, dict(request.query_params))
        return (await indexers.search(federation, query)).as_dict()
    except SearchError as exc:
        return _refused(exc)


@router.post(
    "/search/follow",
    summary="Fetch a found guild or brief: its author's feed, verified, and their node as a peer",
)
async def follow(payload: FollowIn, federation: FederationDep) -> Any:
    try:
        return await indexers.follow(federation, payload.record, payload.author, payload.source)
    except (SearchError, PeerError) as exc:
        return _refused(exc)
