"""The owner's reputation, exported as Verifiable Credentials (SPEC §18).

Picks out of the node's derived state what the owner has earned — vouches received that
count now, the guilds it is a member of, contracts both parties' receipts call completed with
the feedback that counts on them — and hands each with its signed records to the pure
`protocol.credentials`, which builds and secures the credential with the owner's current key.
Verifying needs no node: `protocol.credentials.verify_file`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import derive, feedback
from .errors import NodeError
from .governance import Governance, first_ballots
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
    """The owner's credentials file (SPEC §18.5), every credential signed now."""
    now = node.now()
    links = key_links(node)
    made = []
    for kind, records in candidates(node, _linked(node, links)):
        try:
            made.append(credential(kind, node.identity, [*records, *links], now))
        except CredentialError as exc:
            # SPEC §18.4: only what names a key linked to the current one by a rotation is
            # exported (a vouch for a key before a recovery, say, is left out).
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


def key_links(node: Node) -> list[VerifiedRecord]:
    """The `rotate` and `succeed` records that link the owner's earlier keys to its current
    one, nearest first (SPEC §18.4), back to the first link that is no rotation (a recovery,
    whose votes are by other keys and not carried)."""
    keys = node.identities().keys(node.did)
    keys = keys[: keys.index(node.did) + 1]  # the node signs with its own key, current or not
    links: list[VerifiedRecord] = []
    for old, new in reversed(list(itertools.pairwise(keys))):
        canonical = node.store.canonical_at(new, 1)
        first = None if canonical is None else verify_record(parse_json(canonical))
        if first is None or first.kind != "succeed" or first.body["predecessor"] != old:
            break
        rotate = _record(node, first.body["via"])
        if rotate.kind != "rotate" or rotate.author != old:
            break
        links += [rotate, first]
    return links


def _linked(node: Node, links: list[VerifiedRecord]) -> frozenset[str]:
    return frozenset({node.did, *(r.author for r in links)})


def candidates(node: Node, linked: frozenset[str]) -> Iterator[Candidate]:
    """(credential type, evidence records) for everything the owner has earned under its
    `linked` keys, in a stable order: vouches by record id, guilds by charter id, contracts
    by id."""
    me = node.member(node.did)
    ids = node.identities()
    counting = _counting_vouches(node, linked)
    for vouch in sorted(counting, key=lambda r: r.id):
        yield VOUCH, [vouch]
    for gid in sorted(node.charters()):
        governance = node.governance(gid)  # once per guild: membership and removals alike
        if not governance.membership.is_member(me):
            continue
        applies = [
            _record(node, item["id"])
            for key in ids.keys(node.did)
            if key in linked
            for item in node.records(author=key, kind="apply")
            if item["record"]["body"]["guild"] == gid
        ]
        # SPEC §12.5: a removed member's vouches dated at or before its removal are set aside.
        admitting = [
            v
            for v in counting
            if v.body.get("context") == f"guild:{gid}"
            and v.created_at > governance.removed.get(ids.member(v.author), -1)
        ]
        amendments = _amendments(node, governance)
        yield MEMBERSHIP, [_record(node, gid), *amendments, *applies[-1:], *admitting]
    yield from _contracts(node, me)


def _amendments(node: Node, governance: Governance) -> list[VerifiedRecord]:
    """The guild's adopted amendments in order of adoption (SPEC §12.5 step 1), each motion
    followed by the yes votes of the other members that adopted it (SPEC §18.4)."""
    ballots = first_ballots(
        derive.ballots(node.store, governance.charter.id, node.identities()), node.now()
    )
    adopted = [
        (o.adopted_at, position, o)
        for position, o in enumerate(governance.outcomes)
        if o.status == "adopted" and o.adopted_at is not None and o.motion.action == "amend"
    ]
    records = []
    for _, _, outcome in sorted(adopted, key=lambda item: (item[0], item[1])):
        motion = outcome.motion
        records.append(_record(node, motion.id))
        for voter in outcome.yes:
            ballot = ballots.get((motion.id, voter))
            if voter != motion.author and ballot is not None:
                records.append(_record(node, ballot.id))
    return records


def _counting_vouches(node: Node, linked: frozenset[str]) -> list[VerifiedRecord]:
    """The vouches for the owner's `linked` keys that count now: with effect (SPEC §14.6),
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
        if record.body["subject"] in linked:
            found.append(record)
    return found


def _contracts(node: Node, me: str) -> Iterator[Candidate]:
    evidence = node.market.evidence
    parties = evidence.parties()
    pairs = feedback.receipt_pairs(evidence.receipts(), parties)
    counted = evidence.counted_feedback()
    decided = evidence.decided()
    for contract, (org, freelancer) in sorted(pairs.items()):
        if me not in (org.author, freelancer.author):
            continue
        if not org.body["outcome"] == freelancer.body["outcome"] == "completed":
            continue
        records = [_record(node, org.id), _record(node, freelancer.id)]
        # SPEC §18.4, §17.5: the outcome that counts on the contract is evidence too; the
        # feedback it voids is not presented as if it counted.
        outcome = decided.get(contract)
        voided = frozenset() if outcome is None else outcome.void_feedback
        if outcome is not None:
            records.append(_record(node, outcome.id))
        for c in counted:
            if c.contract == contract and c.subject == me and c.author not in voided:
                records += [_record(node, c.commit), _record(node, c.id)]
        yield CONTRACT, records
