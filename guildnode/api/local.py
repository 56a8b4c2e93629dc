"""The local API: what the owner's CLI (and later the web UI) asks of the node.

Every route needs the owner's token. The routes call the node's use cases and return the
same shapes the CLI prints with `--json`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from .. import actions, delegating, keeping, notices, portable, views
from ..peers import PeerError
from ..views import peer_view, published, whoami
from .deps import FederationDep, NodeDep, OwnerDep
from .errors import error_response

router = APIRouter(prefix="/api", tags=["local"], dependencies=[OwnerDep])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileIn(_Strict):
    name: str | None = None
    organisation: bool | None = None
    skills: list[str] | None = None
    bio: str | None = None
    endpoints: list[str] | None = None


class VouchIn(_Strict):
    subject: str
    level: int = Field(ge=1, le=3)
    context: str | None = None
    statement: str | None = None
    expires_days: int | None = None
    evidence: str | None = None


class RevokeIn(_Strict):
    target: str
    reason: str | None = None


@router.get("/me", summary="The owner's identity")
def me(node: NodeDep) -> dict[str, Any]:
    return whoami(node)


@router.post("/profile", summary="Publish a new profile (given fields replace the current ones)")
async def set_profile(payload: ProfileIn, node: NodeDep) -> dict[str, Any]:
    record = await run_in_threadpool(lambda: node.set_profile(**payload.model_dump()))
    return published(record)


@router.post("/vouch", summary="Vouch for someone")
async def vouch(payload: VouchIn, node: NodeDep) -> dict[str, Any]:
    data = payload.model_dump()
    subject = data.pop("subject")
    record = await run_in_threadpool(lambda: node.vouch(subject, **data))
    return published(record)


@router.post("/revoke", summary="Revoke one of your records")
async def revoke(payload: RevokeIn, node: NodeDep) -> dict[str, Any]:
    record = await run_in_threadpool(lambda: node.revoke(payload.target, reason=payload.reason))
    return published(record)


@router.get("/notifications", summary="What needs the owner now, newest first")
def notifications(node: NodeDep) -> dict[str, Any]:
    return notices.inbox(node)


@router.get("/records", summary="Records held, by author then seq")
def records(
    node: NodeDep, author: str | None = Query(None), kind: str | None = Query(None)
) -> dict[str, Any]:
    return {"records": node.records(author=author, kind=kind)}


@router.get("/check", summary="Re-verify every stored record and chain")
def check(node: NodeDep) -> dict[str, Any]:
    return node.check().as_dict()


class PeerIn(_Strict):
    url: str
    allow_private: bool = False


@router.get("/peers", summary="Peers and how syncing with each goes")
def list_peers(federation: FederationDep) -> dict[str, Any]:
    return {"peers": [peer_view(p) for p in federation.peers()]}


@router.post("/peers", summary="Add a peer by URL (its /.well-known/guildnode names it)")
async def add_peer(payload: PeerIn, federation: FederationDep) -> Any:
    try:
        return peer_view(
            await federation.add_peer(payload.url, allow_private=payload.allow_private)
        )
    except PeerError as exc:
        return error_response(400 if exc.code in LOCAL_PEER_CODES else 502, exc.code, exc.detail)


LOCAL_PEER_CODES = {"invalid_url", "private_address", "identity_mismatch"}


@router.delete("/peers/{did_or_url:path}", summary="Forget a peer, by DID or URL")
def remove_peer(did_or_url: str, federation: FederationDep) -> Any:
    if not federation.remove_peer(did_or_url):
        return error_response(404, "not_found", f"No peer {did_or_url} is known.")
    return {"removed": did_or_url}


@router.post("/sync", summary="Run one sync round with every peer now")
async def sync_now(federation: FederationDep) -> dict[str, Any]:
    await federation.flush()
    reports = await federation.sync_all()
    return {"rounds": [report.as_dict() for report in reports]}


@router.get("/trust/{did}", summary="Someone's trust from your point of view, and why")
def trust_of(did: str, node: NodeDep, context: str | None = Query(None)) -> dict[str, Any]:
    return views.trust_of(node, did, context)


@router.get("/people", summary="Everyone you trust, ranked")
def people(node: NodeDep, context: str | None = Query(None)) -> dict[str, Any]:
    return views.people(node, context)


class BlockIn(_Strict):
    did: str


@router.post("/block", summary="Zero someone's trust for yourself (never published)")
def block(payload: BlockIn, node: NodeDep) -> dict[str, Any]:
    node.block(payload.did)
    return {"blocked": payload.did}


@router.delete("/block/{did}", summary="Lift a block")
def unblock(did: str, node: NodeDep) -> dict[str, Any]:
    node.unblock(did)
    return {"unblocked": did}


class GuildIn(_Strict):
    name: str
    purpose: str
    vouches_required: int = 2
    cofounders: list[str] = []
    skills: list[str] = []
    cooling_days: int = Field(7, ge=0, le=365)
    listing: dict[str, Any] | None = None  # {description, skills, apply}: a listed guild


class NoteIn(_Strict):
    note: str | None = None


@router.post("/guilds", summary="Found a guild")
async def found_guild(payload: GuildIn, node: NodeDep) -> dict[str, Any]:
    data = payload.model_dump()
    name, purpose = data.pop("name"), data.pop("purpose")
    record = await run_in_threadpool(lambda: node.found_guild(name, purpose, **data))
    return published(record)


@router.post("/guilds/{guild_id}/apply", summary="Apply to a guild")
async def apply_guild(guild_id: str, payload: NoteIn, node: NodeDep) -> dict[str, Any]:
    record = await run_in_threadpool(lambda: node.apply_guild(guild_id, payload.note))
    return published(record)


@router.post("/guilds/{guild_id}/leave", summary="Leave a guild")
async def leave_guild(guild_id: str, payload: NoteIn, node: NodeDep) -> dict[str, Any]:
    record = await run_in_threadpool(lambda: node.leave_guild(guild_id, payload.note))
    return published(record)


@router.get("/guilds", summary="Guilds known here, with members and applicants")
def list_guilds(node: NodeDep) -> dict[str, Any]:
    return {"guilds": [views.guild_view(node, g) for g in node.guilds()]}


@router.get("/guilds/{guild_id}", summary="One guild: charter, members, applicants")
def show_guild(guild_id: str, node: NodeDep) -> dict[str, Any]:
    return views.guild_view(node, node.guild(guild_id))


class MotionIn(_Strict):
    action: str
    changes: dict[str, Any] | None = None  # name, purpose, vouches_required, listing, unlist
    member: str | None = None
    reason: str | None = None


class VoteIn(_Strict):
    choice: str


@router.get("/guilds/{guild_id}/motions", summary="A guild's motions and where each stands")
def guild_motions(guild_id: str, node: NodeDep) -> dict[str, Any]:
    return views.motions(node, guild_id)


@router.post("/guilds/{guild_id}/motions", summary="Propose a motion (SPEC §12.5)")
async def propose_motion(guild_id: str, payload: MotionIn, node: NodeDep) -> dict[str, Any]:
    fields = payload.model_dump()
    record = await run_in_threadpool(lambda: node.assembly.propose(guild_id, **fields))
    return published(record)


@router.post("/motions/{motion_id}/vote", summary="Vote on a motion (SPEC §12.5)")
async def vote_motion(motion_id: str, payload: VoteIn, node: NodeDep) -> dict[str, Any]:
    record = await run_in_threadpool(lambda: node.assembly.vote(motion_id, payload.choice))
    return published(record)


class BriefIn(_Strict):
    guilds: list[str] = Field(min_length=1)
    title: str
    description: str
    acceptance_criteria: list[str] = Field(min_length=1)
    budget_min: int = Field(ge=0)
    budget_max: int = Field(ge=0)
    currency: str
    engagement: str = "fixed"
    skills: list[str] = []
    deadline_days: int | None = Field(None, ge=1, le=365)
    expires_days: int = 30
    organisation: str | None = None  # as a delegate, the organisation posted for (SPEC §15)


@router.post("/briefs", summary="Post a gig brief to guilds")
async def post_brief(payload: BriefIn, node: NodeDep) -> dict[str, Any]:
    record = await run_in_threadpool(lambda: node.post_brief(**payload.model_dump()))
    return published(record)


@router.get("/briefs", summary="Open briefs, those matching your skills first")
def list_briefs(
    node: NodeDep, guild: str | None = Query(None), skill: str | None = Query(None)
) -> dict[str, Any]:
    return views.briefs(node, guild, skill)


@router.get("/briefs/{brief_id}", summary="One brief")
def show_brief(brief_id: str, node: NodeDep) -> dict[str, Any]:
    return views.brief_view(node, node.brief(brief_id))


@router.post(
    "/work/{action}",
    summary="Propose, offer, counter, accept, decline, submit, approve, paid, received, "
    "complete, cancel or feedback (SPEC §9.11); dispute, disclose or outcome (SPEC §17.6)",
)
async def work(
    action: str, node: NodeDep, fields: Annotated[dict[str, Any], Body(default_factory=dict)]
) -> dict[str, Any]:
    record = await run_in_threadpool(lambda: actions.run(node, action, fields))
    return published(record)


@router.get("/proposals", summary="Proposals you sent or received, for one brief if asked")
def list_proposals(node: NodeDep, brief: str | None = Query(None)) -> dict[str, Any]:
    return views.proposals(node, brief)


@router.get("/contracts", summary="Your contracts, in one state if asked")
def list_contracts(node: NodeDep, state: str | None = Query(None)) -> dict[str, Any]:
    return views.contracts(node, state)


@router.get("/contracts/{contract_id}", summary="One contract, with its timeline")
def show_contract(contract_id: str, node: NodeDep) -> dict[str, Any]:
    return views.contract_view(node, node.market.contract(contract_id))


@router.get("/disputes", summary="Disputes you are party to or mediate (SPEC §17.6)")
def list_disputes(node: NodeDep) -> dict[str, Any]:
    return views.disputes(node)


@router.get("/disputes/{dispute_id}", summary="One dispute: statement, disclosures, outcomes")
def show_dispute(dispute_id: str, node: NodeDep) -> dict[str, Any]:
    return views.dispute_view(node, node.market.mediation.dispute(dispute_id))


@router.get("/identity", summary="Your member: its keys, their cut-offs, the recovery set (§14)")
def identity_state(node: NodeDep) -> dict[str, Any]:
    return keeping.state(node)


@router.get("/identity/{did}", summary="Anyone's member: its keys and their cut-offs (§14)")
def identity_of(did: str, node: NodeDep) -> dict[str, Any]:
    return keeping.show(node, did)


@router.post(
    "/identity/{action}",
    summary="rotate, recovery (set), compromise (a mark, or a recovery vote), succeed or "
    "recover (with a paper key) (SPEC §14.9)",
)
async def identity_action(
    action: str, node: NodeDep, fields: Annotated[dict[str, Any], Body(default_factory=dict)]
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: keeping.run(node, action, fields))


@router.get("/credentials", summary="Your reputation as W3C Verifiable Credentials (SPEC §18)")
async def credentials(node: NodeDep) -> dict[str, Any]:
    return await run_in_threadpool(lambda: portable.export(node))


@router.get("/delegates", summary="Your delegates, and the organisations you act for (§15)")
def delegates_state(node: NodeDep) -> dict[str, Any]:
    return delegating.state(node)


@router.post(
    "/delegates/{action}",
    summary="add (authorise a staff key with a scope and an expiry) or revoke (SPEC §15.6)",
)
async def delegates_action(
    action: str, node: NodeDep, fields: Annotated[dict[str, Any], Body(default_factory=dict)]
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: delegating.run(node, action, fields))
