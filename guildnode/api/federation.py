"""The federation API: what any peer may ask of this node (SPEC §9)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from .. import __version__
from ..protocol import PROTOCOL_VERSION, ProtocolError, parse_json, public_key_from_did
from ..protocol.httpsig import SignatureError, verify_request
from . import batch
from .deps import NodeDep
from .errors import ApiError
from .guard import InboxGuard

MAX_BODY_BYTES = 1_048_576  # SPEC §8: request bodies and feed pages
MAX_BATCH = 200
DEFAULT_PAGE = 100

router = APIRouter(tags=["federation"])


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status, headers=headers, media_type="application/json")


def _query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        raise ApiError("invalid_query", f"`{name}` must be a non-negative decimal integer.")
    return int(raw)


@router.get("/.well-known/guildnode", summary="Who this node is")
def well_known(node: NodeDep) -> Response:
    return _json(
        {
            "did": node.did,
            "name": node.name,
            "url": node.public_url,
            "protocol": PROTOCOL_VERSION,
            "software": {"name": "guildnode", "version": __version__},
        }
    )


@router.get("/sync/heads", summary="Latest seq and id of every feed held")
def heads(request: Request, node: NodeDep) -> Response:
    version = node.store.version
    cached = getattr(request.app.state, "heads_cache", None)
    if cached is None or cached[0] != version:
        feeds = {
            author: {"seq": seq, "id": rid, **({"forked": True} if forked else {})}
            for author, (seq, rid, forked) in node.store.heads().items()
        }
        body = json.dumps({"feeds": feeds}, separators=(",", ":"), sort_keys=True).encode()
        cached = (version, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        request.app.state.heads_cache = cached
    _, body, etag = cached
    wanted = request.headers.get("if-none-match", "")
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    if etag in tags or "*" in tags:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, headers={"ETag": etag}, media_type="application/json")


@router.get("/sync/feed/{did}", summary="An author's records after a seq, in order")
def feed(did: str, request: Request, node: NodeDep) -> Response:
    public_key_from_did(did)  # raises invalid_did → 400
    after = _query_int(request, "after", 0)
    limit = min(_query_int(request, "limit", DEFAULT_PAGE), MAX_BATCH)
    page = node.store.feed(did, after, limit, MAX_BODY_BYTES - 16)
    return Response(b'{"records":[' + b",".join(page) + b"]}", media_type="application/json")


@router.get("/sync/forks/{did}", summary="The proof of a fork in an author's chain")
def fork(did: str, node: NodeDep) -> Response:
    public_key_from_did(did)
    proof = node.store.fork(did)
    if proof is None:
        raise ApiError("not_found", f"No fork of {did} is known here.")
    head = f'{{"author":"{did}","seq":{proof.seq},"records":['.encode()
    return Response(head + proof.first + b"," + proof.second + b"]}", media_type="application/json")


@router.get("/records/{record_id}", summary="One record by id")
def get_record(record_id: str, node: NodeDep) -> Response:
    canonical = node.store.get(record_id)
    if canonical is None:
        raise ApiError("not_found", f"No record {record_id[:64]} is held here.")
    return Response(canonical, media_type="application/json")


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError("body_too_large", f"A request body may be at most {MAX_BODY_BYTES} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(
                "body_too_large", f"A request body may be at most {MAX_BODY_BYTES} bytes."
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/inbox",
    summary="Take a batch of records pushed by a peer",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"records": {"type": "array", "maxItems": MAX_BATCH}},
                        "required": ["records"],
                    }
                }
            },
        }
    },
)
async def inbox(request: Request, node: NodeDep) -> Response:
    guard: InboxGuard = request.app.state.inbox_guard
    address = request.client.host if request.client else "unknown"
    guard.admit_address(address)
    body = await _read_body(request)
    query = f"?{request.url.query}" if request.url.query else ""
    target_uri = f"{node.public_url}{request.url.path}{query}"
    try:
        sender = verify_request(
            method=request.method,
            target_uri=target_uri,
            headers=request.headers,
            body=body,
            now=node.now(),
            replay=guard.replay,
        )
    except SignatureError as exc:
        raise ApiError(exc.code, exc.detail) from None
    guard.admit_sender(sender)
    try:
        payload = parse_json(body)
    except ProtocolError as exc:
        raise ApiError("malformed_request", exc.detail) from None
    if (
        type(payload) is not dict
        or set(payload) != {"records"}
        or type(payload["records"]) is not list
    ):
        raise ApiError(
            "malformed_request",
            'The body must be a JSON object {"records": [...]} with no other keys.',
        )
    records = payload["records"]
    if len(records) > MAX_BATCH:
        raise ApiError(
            "too_many_records", f"A batch holds at most {MAX_BATCH} records, not {len(records)}."
        )
    guard.admit_authors(records)
    results = await run_in_threadpool(partial(node.ingest, scoped=True), records)
    guard.charge_authors(
        Counter(
            record["author"]
            for record, result in zip(records, results, strict=True)
            if result.status == "accepted"
        )
    )
    return _json({"results": [result.as_dict() for result in results]})


@router.post(
    "/sync/batch",
    summary="Records of many feeds in one answer",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "feeds": {
                                "type": "object",
                                "maxProperties": batch.MAX_FEEDS,
                                "additionalProperties": {"type": "integer", "minimum": 0},
                            },
                            "limit": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": batch.MAX_RECORDS,
                            },
                            "max_bytes": {
                                "type": "integer",
                                "minimum": batch.MIN_ANSWER_BYTES,
                                "maximum": batch.MAX_ANSWER_BYTES,
                            },
                        },
                        "required": ["feeds"],
                        "additionalProperties": False,
                    }
                }
            },
        }
    },
)
async def sync_batch(request: Request, node: NodeDep) -> Response:
    """SPEC §9.13: a read, like the feed pages; it need not be signed."""
    feeds, limit, max_bytes = batch.parse_request(await _read_body(request))
    body = await run_in_threadpool(batch.serve, node.store, feeds, limit, max_bytes)
    return Response(body, media_type="application/json")
