"""Contract pages: the list by state, and a contract's page — its terms, milestones,
timeline, and only the actions valid now for the owner (`Contract.actions`), each a small
form that runs the action through `actions.run`, as the CLI and the local API do.

On a contract the owner reads as a staff member of its organisation (SPEC §15.4), the page
shows the organisation's delegated actions the node would publish for it
(`delegating.on_contract`), and says in a line why any other is withheld; its forms act for
the organisation (the field `organisation`, as `--for ORG` does).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import actions, conversations, delegating, views
from ..api.deps import NodeDep
from ..contracts import STATES, Contract
from ..delegation import ACTION_SCOPES
from ..errors import NodeError
from ..mediation import NOT_STARTED
from ..node import Node
from ..protocol import ProtocolError, parse_timestamp
from .auth import SessionDep, require_session
from .forms import Refused, milestone_lines, read_form, whole_number, work_refusal
from .money import money, plain, to_minor
from .render import PageError, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

DAY = 86_400
DIMENSIONS = [
    ("quality", "Quality of the work"),
    ("communication", "Communication"),
    ("timeliness", "Timeliness"),
    ("scope_clarity", "Clarity of the scope"),
    ("payment_promptness", "Prompt payment"),
]
FIELDS = {
    "scope": "scope",
    "milestones": "milestones",
    "invalid_terms": "milestones",
    "days": "days",
    "contract_too_long": "days",
    "respond_days": "respond_days",
    "reason": "reason",
    "note": "note",
    "rating": "rating",
    "statement": "statement",
    **{name: name for name, _ in DIMENSIONS},
    # SPEC §17.6: a dispute's refusals, beside the field they are about
    "guild": "guild",
    "not_a_member": "guild",
    "mediators": "mediators",
    "mediator_not_qualified": "mediators",
}
STEPS = {  # action → (what the owner does next, in words; the confirmation once done)
    "accept": ("accept or answer the offer", "You accepted the offer: the contract is active."),
    "decline": ("decline the offer", "You declined the offer."),
    "counter": ("answer the offer", "You sent a counter-offer."),
    "submit": ("submit milestone {n}", "You submitted milestone {n}."),
    "approve": ("approve milestone {n}", "You approved milestone {n}."),
    "paid": ("pay milestone {n}", "You marked milestone {n} paid."),
    "received": ("confirm the payment of milestone {n}",
                 "You confirmed you received the payment for milestone {n}."),
    "complete": ("mark the contract complete", "You marked the contract complete."),
    "cancel": ("cancel", "You cancelled the contract."),
    "dispute": ("open a dispute",
                "You opened a dispute: the other party and the mediators can read your statement."),
    "feedback": ("leave feedback",
                 "Your feedback is committed, sealed: it is revealed once the other party has "
                 "given theirs, or 14 days from now."),
}  # fmt: skip
MILESTONE_ACTIONS = ("submit", "approve", "paid", "received")


def step_words(action: str, done: bool = False) -> str:
    name, _, index = action.partition(" ")
    words = STEPS[name][1 if done else 0]
    return words.format(n=int(index) + 1 if index else "")


def next_step(actions_now: list[str], committed: bool) -> str | None:
    """The one thing to do next, in words, or None when it is the other party's turn."""
    for action in actions_now:
        if action in ("decline", "counter", "cancel") or (action == "feedback" and committed):
            continue
        return step_words(action)
    return None


def as_delegate(node: Node, contract: Contract, summary: dict[str, Any]) -> dict[str, Any] | None:
    """On a contract the owner reads for its organisation (SPEC §15.4), make `summary` (a
    `views.contract_summary`) a staff member's: the organisation's delegated steps open to
    the owner now, the freelancer as the counterpart; answer `delegating.on_contract`, or
    None (`summary` unchanged) when the owner is a party."""
    acting = delegating.on_contract(node, contract)
    if acting is not None:
        summary["actions"] = acting["actions"]
        summary["role"] = f"delegate of {acting['name']}"
        summary["counterpart"] = views.display_name(node, contract.freelancer)
        summary["counterpart_did"] = contract.freelancer
    return acting


def summaries(node: Node, state: str | None = None) -> list[dict[str, Any]]:
    """The owner's contracts as `views.contract_summary`, with the price in words and the
    next step."""
    committed = {(c.author, c.contract) for c in node.market.evidence.commits()}
    briefs = {b.id: b for b in node.briefs()}
    found = []
    for contract in node.market.contracts(state):
        summary = views.contract_summary(node, contract, briefs)
        as_delegate(node, contract, summary)
        summary["price_text"] = money(summary["price"])
        summary["next"] = next_step(summary["actions"], (node.did, contract.id) in committed)
        found.append(summary)
    return found


@router.get("/contracts")
def contract_list(request: Request, node: NodeDep, state: str | None = None) -> HTMLResponse:
    chosen = state if state in STATES else None
    every = summaries(node)
    counts = {s: sum(1 for c in every if c["state"] == s) for s in STATES}
    return render(
        request,
        "contracts.html",
        contracts=[c for c in every if chosen is None or c["state"] == chosen],
        state=chosen or "",
        states=[{"name": s, "count": counts[s]} for s in STATES],
        total=len(every),
    )


def timeline(node: Node, view: dict[str, Any]) -> list[dict[str, Any]]:
    """The contract's records and time events, with its receipts, feedback commitments and
    revealed feedback, in time order."""
    contract_id = view["id"]
    entries = [dict(e) for e in view["timeline"]]
    for receipt in node.market.evidence.receipts(contract_id):
        body = receipt.body
        entries.append(
            {"at": receipt.created_at, "kind": "receipt",
             "who": views.display_name(node, receipt.author),
             "summary": f"Receipt: the contract {body['outcome']}; payment "
                        f"{str(body['payment']).replace('_', ' ')}.",
             "effect": True, "problem": None}
        )  # fmt: skip
    for commit in view["commitments"]:
        entries.append(
            {"at": commit["at"], "kind": "commit", "who": commit["from"],
             "summary": "Committed to feedback, sealed until both parties have committed "
                        "(or 14 days have passed).",
             "effect": True, "problem": None}
        )  # fmt: skip
    for given in view["feedback"]:
        dims = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in given.get("dimensions", {}).items()
        )
        text = f"Feedback revealed: rating {given['rating']} of 3" + (f" ({dims})" if dims else "")
        entries.append(
            {"at": given["at"], "kind": "feedback", "who": given["from"],
             "summary": text + ".", "statement": given.get("statement", ""),
             "effect": given["counts"],
             "problem": None if given["counts"] else "it does not match a counting commitment"}
        )  # fmt: skip
    return sorted(entries, key=lambda e: e["at"])


def counter_defaults(contract: Contract) -> dict[str, str]:
    terms = contract.terms
    currency = terms["price"]["currency"]
    starts = parse_timestamp(terms["starts"])
    rows = []
    for m in terms["milestones"]:
        due = (parse_timestamp(m["due"]) - starts) // DAY
        rows.append(f"{m['title']} | {plain(m['amount'], currency)} | {due}")
    return {
        "scope": terms["scope"],
        "milestones": "\n".join(rows),
        "days": str((parse_timestamp(terms["ends"]) - starts) // DAY),
        "respond_days": "7",
    }


def contract_page(
    request: Request,
    node: Node,
    contract_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    failed: str = "",
) -> HTMLResponse:
    try:
        contract = node.market.contract(contract_id)
    except NodeError as exc:
        raise PageError(exc.status, "No such contract", f"{exc.detail} ({exc.code})") from None
    view = views.contract_view(node, contract)
    acting = as_delegate(node, contract, view)
    withheld: dict[str, str] = {}
    if acting is not None:
        withheld = {name: f"{why} ({code})" for name, (code, why) in acting["withheld"].items()}
    allowed = set(view["actions"])
    committed = any(c["author"] == node.did for c in view["commitments"])
    revealed = any(f["author"] == node.did for f in view["feedback"])
    for milestone in view["milestones"]:
        milestone["price_text"] = money(milestone["price"])
        keys = [(name, f"{name} {milestone['index']}") for name in MILESTONE_ACTIONS]
        milestone["actions"] = [name for name, key in keys if key in allowed]
        milestone["withheld"] = list(dict.fromkeys(withheld[k] for _, k in keys if k in withheld))
    for offer in view["offers"]:
        offer["price_text"] = money(offer["price"])
    defaults = {"counter": counter_defaults(contract), "feedback": {}}
    me = node.member(node.did)
    guilds = [(g.charter.id, g.charter.name) for g in node.guilds() if g.is_member(me)]
    return render(
        request,
        "contract.html",
        status=status,
        contract=view,
        price_text=money(view["price"]),
        latest_offer=contract.offers[-1].id,
        allowed=allowed,
        acting=acting,
        withheld=withheld,
        committed=committed,
        revealed=revealed,
        next=next_step(view["actions"], committed),
        timeline=timeline(node, view),
        dimensions=DIMENSIONS,
        failed=failed,
        errors=errors or {},
        values=values or {},
        defaults=defaults,
        dispute_guilds=guilds,
        can_dispute=acting is None and contract.state not in NOT_STARTED,
        conversation=conversations.list_threads(node, contract_id),
        can_ask=acting is None,  # a delegate is no party to the contract's threads (§16)
    )


@router.get("/contracts/{contract_id}")
def contract(request: Request, node: NodeDep, contract_id: str) -> HTMLResponse:
    return contract_page(request, node, contract_id)


def action_fields(
    name: str, contract: Contract, values: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """The arguments of the work action `name` from a form, and which form it was
    ("submit 0" for a milestone's)."""
    ref: dict[str, Any] = {"contract": contract.id}
    offer = values.get("offer") or contract.offers[-1].id
    if name in ("accept", "decline", "counter"):
        fields: dict[str, Any] = {"offer": offer}
        if name == "decline" and values.get("reason"):
            fields["reason"] = values["reason"]
        if name == "counter":
            currency = contract.terms["price"]["currency"]
            fields |= {
                "scope": values.get("scope") or None,
                "milestones": milestone_lines(values, "milestones", currency, to_minor),
                "days": whole_number(values, "days", "The contract's length", 1, 180),
                "respond_days": whole_number(values, "respond_days", "Days to respond", 1, 30, 7),
            }
        return fields, name
    if name in MILESTONE_ACTIONS:
        index = whole_number(values, "milestone", "The milestone", 0, 999)
        if index is None:
            raise Refused({"_form": "Say which milestone."})
        fields = ref | {"milestone": index}
        if name in ("submit", "approve") and values.get("note"):
            fields["note"] = values["note"]
        return fields, f"{name} {index}"
    if name == "complete":
        return ref | ({"note": values["note"]} if values.get("note") else {}), name
    if name == "dispute":
        mediators = [line.strip() for line in values.get("mediators", "").splitlines()]
        fields = ref | {
            "guild": values.get("guild", ""),
            "mediators": [did for did in mediators if did],
            "statement": values.get("statement", ""),
        }
        if not fields["mediators"]:
            raise Refused({"mediators": "Name at least one mediator, by DID."})
        if not fields["statement"]:
            raise Refused({"statement": "Say what the dispute is about."})
        return fields, name
    if name == "cancel":
        if not values.get("reason"):
            raise Refused({"reason": "Say why you cancel: the other party will read it."})
        return ref | {"reason": values["reason"]}, name
    rating = whole_number(values, "rating", "The rating", 1, 3)
    if rating is None:
        raise Refused({"rating": "Choose a rating: 1, 2 or 3."})
    fields = ref | {"rating": rating}
    for dimension, label in DIMENSIONS:
        score = whole_number(values, dimension, label, 1, 3)
        if score is not None:
            fields[dimension] = score
    if values.get("statement"):
        fields["statement"] = values["statement"]
    return fields, name


@router.post("/contracts/{contract_id}/{action}")
async def act(
    request: Request, node: NodeDep, contract_id: str, action: str, session: SessionDep
) -> Response:
    if action not in STEPS:
        raise PageError(404, "No such action", f"A contract has no action {action!r}.")
    values = await read_form(request)
    try:
        contract = node.market.contract(contract_id)
    except NodeError as exc:
        raise PageError(exc.status, "No such contract", f"{exc.detail} ({exc.code})") from None
    failed = action
    # SPEC §15.6: on a contract the owner is no party to, a step is the organisation's, which
    # `actions.run` refuses (`not_delegated`, `outside_scope`) unless a grant allows it now.
    acting_for = delegating.reading_for(node, contract) if action in ACTION_SCOPES else None
    try:
        fields, failed = action_fields(action, contract, values)
        if acting_for is not None:
            fields["organisation"] = acting_for
        try:
            await run_in_threadpool(lambda: actions.run(node, action, fields))
        except NodeError as exc:
            detail = delegating.explained(node, acting_for, action, exc)
            raise work_refusal(exc.code, detail, FIELDS) from None
        except ProtocolError as exc:
            raise work_refusal(exc.code, exc.detail, FIELDS) from None
    except Refused as problem:
        errors = problem.errors
        return await run_in_threadpool(
            lambda: contract_page(
                request, node, contract_id, status=400, errors=errors, values=values, failed=failed
            )
        )
    done = step_words(failed, done=True)
    if acting_for is not None:
        done = f"{done[:-1]} for {views.display_name(node, acting_for)}."
    session.say(done)
    return RedirectResponse(f"/contracts/{contract_id}", status_code=303)
