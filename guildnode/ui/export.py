"""The Export page (SPEC §18): what your reputation file holds, and a button that downloads
it — your vouches, guild memberships and completed contracts as W3C Verifiable Credentials."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from .. import portable
from ..api.deps import NodeDep
from ..node import Node
from ..protocol.credentials import MEMBERSHIP, VOUCH
from ..views import display_name
from .auth import require_session
from .render import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

FILE_NAME = "guildnode-credentials.json"


def _line(node: Node, item: dict[str, Any]) -> str:
    """One credential in words."""
    subject = item["credentialSubject"]
    kind = item["type"][1]
    if kind == VOUCH:
        where = f" in {subject['context']}" if "context" in subject else ""
        voucher = display_name(node, subject["vouchedBy"])
        return f"Vouch{where} from {voucher}, level {subject['level']}"
    if kind == MEMBERSHIP:
        return f"Member of {subject['memberOf']['name']}"
    ratings = ", ".join(str(f["rating"]) for f in subject["feedback"]) or "no feedback"
    return (
        f"Completed contract with {display_name(node, subject['counterparty'])} as "
        f"{subject['role']} (rated {ratings})"
    )


@router.get("/identity/export")
async def export_page(request: Request, node: NodeDep) -> HTMLResponse:
    def page() -> HTMLResponse:
        exported = portable.export(node)
        lines = [_line(node, item) for item in exported["verifiableCredential"]]
        summary = portable.summary(exported)
        return render(request, "export.html", summary=summary, lines=lines, file_name=FILE_NAME)

    return await run_in_threadpool(page)


@router.get(f"/identity/export/{FILE_NAME}")
async def export_file(node: NodeDep) -> Response:
    exported = await run_in_threadpool(lambda: portable.export(node))
    return Response(
        json.dumps(exported, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{FILE_NAME}"'},
    )
