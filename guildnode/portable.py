"""The owner's reputation, exported as Verifiable Credentials (SPEC §19).

Picks out of the node's derived state what the owner has earned — vouches received that
count now, the guilds it is a member of, contracts both parties' receipts call completed with
the feedback that counts on them — and hands each with its signed records to the pure
`protocol.credentials`, which builds and secures the credential with the owner's current key.
Verifying needs no node: `protocol.credentials.verify_file`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import derive, feedback
from .errors import NodeError
from .protocol import VerifiedRecord, parse_json, verify_record
from .protocol.credentials import (
    CONTRACT,
    MAX_VOUCH_SECONDS,
    MEMBERSHIP,
    VOUCH,
    credential,
    presentation,
)
from .protocol.dataintegrity import CredentialError

if TYPE_CHECKING:
    from .node import Node

Candidate = tuple[str, list[VerifiedRecord]]


def export(node: Node) -> dict[str, Any]:
    """The owner's credentials file (SPEC §19.5), every credential signed now."""
    now = node.now()
    made = []
    for kind, records in candidates(node):
        try:
            made.append(credential(kind, node.identity, records, now))
        except CredentialError as exc:
            # SPEC §19.4: only what the records say about the current key itself is exported
            # (a vouch for an earlier key, a receipt naming one, is left out).
            if exc.code != "evidence_mismatch":
                raise
    return presentation(node.did, made)


def summary(exported: dict[str, Any]) -> dict[str, Any]:
    """How many credentials of each type a file holds."""
    counts = dict.fromkeys((VOUCH, MEMBERSHIP, CONTRACT), 0)
    for item in exported["verifiableCredential"]:
        counts[item["type"][1]] += 1
    return {
        "holder": exported["holder"],
        "credentials": len(exported["verifiableCredential"]),
        "vouches": counts[VOUCH],
        "memberships": counts[MEMBERSHIP],
        "contracts": counts[CONTRACT],
    }


def _record(node: Node, record_id: str) -> VerifiedRecord:
    canonical = node.store.get(record_id)
    if canonical is None:  # the derivations read only held records
        raise NodeError("internal_error", f"Record {record_id} is derived from but not held.", 500)
    return verify_record(parse_json(canonical), record_id)


def candidates(node: Node) -> Iterator[Candidate]:
    """(credential type, evidence records) for everything the owner has earned, in a
    stable order: vouches by record id, guilds by charter id, contracts by id."""
    me = node.member(node.did)
    counting = _counting_vouches(node)
    for vouch in sorted(counting, key=lambda r: r.id):
        yield VOUCH, [vouch]
    for guild in node.guilds():
        if not guild.is_member(me):
            continue
        gid = guild.charter.id
        applies = [
            _record(node, item["id"])
            for item in node.records(author=node.did, kind="apply")
            if item["record"]["body"]["guild"] == gid
        ]
        admitting = [v for v in counting if v.body.get("context") == f"guild:{gid}"]
        yield MEMBERSHIP, [_record(node, gid), *applies[-1:], *admitting]
    yield from _contracts(node, me)


def _counting_vouches(node: Node) -> list[VerifiedRecord]:
    """The vouches for the owner's current key that count now: with effect (SPEC §14.6),
    not revoked, not expired, not past 365 days (§6.2), by another member."""
    now = node.now()
    ids = node.identities()
    vouches = derive.vouches(node.store, ids)
    revoked = derive.revoked(node.store, vouches, ids)
    me = ids.member(node.did)
    found = []
    for vouch in vouches:
        if vouch.subject != me or vouch.author == me or vouch.id in revoked:
            continue
        if vouch.created_at + MAX_VOUCH_SECONDS < now or (
            vouch.expires_at is not None and vouch.expires_at < now
        ):
            continue
        record = _record(node, vouch.id)
        if record.body["subject"] == node.did:
            found.append(record)
    return found


def _contracts(node: Node, me: str) -> Iterator[Candidate]:
    evidence = node.market.evidence
    parties = evidence.parties()
    pairs = feedback.receipt_pairs(evidence.receipts(), parties)
    counted = evidence.counted_feedback()
    for contract, (org, freelancer) in sorted(pairs.items()):
        if me not in (org.author, freelancer.author):
            continue
        if not org.body["outcome"] == freelancer.body["outcome"] == "completed":
            continue
        records = [_record(node, org.id), _record(node, freelancer.id)]
        for c in counted:
            if c.contract == contract and c.subject == me:
                records += [_record(node, c.commit), _record(node, c.id)]
        yield CONTRACT, records
