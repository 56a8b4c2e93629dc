"""One JSON error shape for every answer that is not a success: `{"error": {code, detail}}`.

Protocol and node errors carry their own stable codes; this module adds the HTTP-level
ones and maps every error family to a status in one place.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import NodeError
from ..protocol import ProtocolError

log = logging.getLogger("guildnode.api")

# SPEC §10.2: codes of the HTTP layer, with their status.
HTTP_CODES: dict[str, int] = {
    "malformed_request": 400,
    "too_many_records": 400,
    "invalid_query": 400,
    "too_many_feeds": 400,
    "invalid_after": 400,
    "invalid_budget": 400,
    "invalid_request": 400,
    "bad_query": 400,  # an indexer's search parameters (SPEC §13.3)
    "body_too_large": 413,
    "not_found": 404,
    "method_not_allowed": 405,
    "unauthorized": 401,
    "rate_limited": 429,
    # RFC 9421 signatures on POST /inbox (guildnode.protocol.httpsig)
    "signature_missing": 401,
    "signature_malformed": 401,
    "signature_incomplete": 401,
    "digest_mismatch": 401,
    "signature_expired": 401,
    "signature_invalid": 401,
    "signature_replayed": 401,
    "server_busy": 503,
    "too_many_streams": 503,
    "internal_error": 500,
}


class ApiError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = HTTP_CODES[code]


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "detail": detail}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthorized" else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        return error_response(exc.status, exc.code, exc.detail, headers)

    @app.exception_handler(ProtocolError)
    async def _protocol_error(request: Request, exc: ProtocolError) -> JSONResponse:
        return error_response(400, exc.code, exc.detail)

    @app.exception_handler(NodeError)
    async def _node_error(request: Request, exc: NodeError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
            for err in exc.errors()
        )
        code = (
            "invalid_query"
            if any(e.get("loc", ("",))[0] == "query" for e in exc.errors())
            else "invalid_request"
        )
        return error_response(400, code, f"The request is not valid: {problems}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: log it with its traceback for the owner, tell the caller only that it happened.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "The node failed to handle this request.")
