"""A dispute's page (SPEC §17): its statement, the records disclosed to its mediators and
the outcomes on its contract, and — for a mediator, while no outcome counts on the contract —
the form that decides it.

The form goes through `actions.run("outcome", …)`, the path `guildnode dispute decide` and
`POST /api/work/outcome` take, so the three refuse the same things in the same words.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import actions, views
from ..api.deps import NodeDep
from ..errors import NodeError
from ..node import Node
from ..protocol import ProtocolError
from .auth import SessionDep, require_session
from .forms import Refused, read_form, work_refusal
from .render import PageError, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

PAYMENTS = [
    ("", "Make no finding on payment"),
    ("on_time", "Paid on time"),
    ("late", "Paid late"),
    ("unpaid", "Unpaid"),
    ("none_due", "No payment was due"),
]
FIELDS = {
    "finding": "finding",
    "payment": "payment",
    "void_feedback": "void_feedback",
}


def dispute_page(
    request: Request,
    node: Node,
    dispute_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    try:
        dispute = node.market.mediation.dispute(dispute_id)
    except NodeError as exc:
        raise PageError(exc.status, "No such dispute", f"{exc.detail} ({exc.code})") from None
    view = views.dispute_view(node, dispute)
    parties = sorted(node.market.evidence.parties().get(dispute.contract, frozenset()))
    return render(
        request,
        "dispute.html",
        status=status,
        dispute=view,
        can_decide=view["role"] == "mediator" and view["outcome"] is None,
        parties=[(did, views.display_name(node, did)) for did in parties],
        payments=PAYMENTS,
        errors=errors or {},
        values=values or {},
    )


@router.get("/disputes/{dispute_id}")
def dispute(request: Request, node: NodeDep, dispute_id: str) -> HTMLResponse:
    return dispute_page(request, node, dispute_id)


@router.post("/disputes/{dispute_id}/decide")
async def decide(request: Request, node: NodeDep, dispute_id: str, session: SessionDep) -> Response:
    form = await request.form()
    values = await read_form(request)
    voided = [str(v) for v in form.getlist("void_feedback") if v]
    fields: dict[str, Any] = {"dispute": dispute_id, "finding": values.get("finding", "")}
    if values.get("payment"):
        fields["payment"] = values["payment"]
    if voided:
        fields["void_feedback"] = voided
    try:
        if not fields["finding"]:
            raise Refused({"finding": "Write your finding: both parties and everyone read it."})
        try:
            await run_in_threadpool(lambda: actions.run(node, "outcome", fields))
        except (NodeError, ProtocolError) as exc:
            raise work_refusal(exc.code, exc.detail, FIELDS) from None
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: dispute_page(
                request, node, dispute_id, status=400, errors=errors, values=values
            )
        )
    session.say("Your outcome is published: it is the one that counts on the contract.")
    return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)
