"""Read models: the values that trust and guilds derive from, loaded from the store.

Kept apart from the pure derivations (`trust`, `guilds`) so those never touch SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .briefs import Brief
from .delegation import KINDS as DELEGATION_KINDS
from .delegation import DelegationRecord, Delegations
from .delegation import resolve as resolve_delegations
from .governance import Ballot, Governance, Motion, govern
from .guilds import Application, Charter
from .identities import KINDS, Identities, IdentityRecord, resolve
from .protocol import parse_json, parse_timestamp
from .protocol.kinds import references
from .store import Store
from .trust import Vouch

_NONE = Identities()


def identities(store: Store) -> Identities:
    """Which keys form one member and where each key's effect ends (SPEC §14), from the
    records of the four identity kinds in served chains."""
    records = [
        IdentityRecord(
            rid, record["kind"], record["author"], record["seq"], created, record["body"]
        )
        for kind in KINDS
        for rid, record, created in served(store, kind)
    ]
    if not records:
        return _NONE

    def created_at(key: str, seq: int) -> int | None:
        frozen = store.frozen_at(key)
        canonical = None if frozen is not None and seq > frozen else store.canonical_at(key, seq)
        return None if canonical is None else parse_timestamp(parse_json(canonical)["created"])

    return resolve(records, created_at)


def vouches(store: Store, ids: Identities = _NONE) -> list[Vouch]:
    """Every vouch held in a served chain that has effect (SPEC §14.6), its author and
    subject read as their members' current keys."""
    return [
        Vouch(
            id=ref.record_id,
            author=ids.member(ref.author),
            subject=ids.member(ref.value),
            level=ref.level or 1,
            created_at=ref.created_at,
            context=ref.context,
            expires_at=ref.expires_at,
            evidence=ref.evidence,
        )
        for ref in store.refs("vouch")
        if ids.has_effect(ref.author, ref.seq)
    ]


def revoked(store: Store, targets: list[Vouch], ids: Identities = _NONE) -> set[str]:
    """Ids among `targets` revoked by their own author (a key of the same member)."""
    authors = {v.id: v.author for v in targets}
    return {
        ref.value
        for ref in store.refs("revoke")
        if ids.has_effect(ref.author, ref.seq) and authors.get(ref.value) == ids.member(ref.author)
    }


def served(store: Store, kind: str) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(id, wire record, created_at) of every `kind` record in a served chain — not beyond
    a fork's freeze — in one query for the chains and one for the records."""
    created = {ref.record_id: ref.created_at for ref in store.refs(kind)}
    for rid, canonical in store.records(kind=kind):
        if rid in created:
            yield rid, parse_json(canonical), created[rid]


def served_naming(store: Store, kind: str, value: str) -> Iterator[tuple[str, dict[str, Any], int]]:
    """`served` of the `kind` records that reference `value` alone (a guild, say): found by
    the references' index and read by id, never a scan of every `kind` record held."""
    created = {ref.record_id: ref.created_at for ref in store.refs(kind, values=[value])}
    for rid, at in created.items():
        canonical = store.get(rid)
        if canonical is not None:
            yield rid, parse_json(canonical), at


def delegations(store: Store, ids: Identities = _NONE) -> Delegations:
    """The grants and revocations of organisation delegates (SPEC §15.1)."""
    return resolve_delegations(
        (
            DelegationRecord(
                rid,
                record["kind"],
                record["author"],
                record["seq"],
                created,
                parse_timestamp(record["expires"]) if "expires" in record else None,
                record["body"],
            )
            for kind in DELEGATION_KINDS
            for rid, record, created in served(store, kind)
        ),
        ids,
    )


def briefs(store: Store, ids: Identities = _NONE, grants: Delegations | None = None) -> list[Brief]:
    """Every brief held in a served chain that has effect (SPEC §14.6). A brief that names
    another `organisation` is that organisation's when its author is a delegate with scope
    `briefs` (SPEC §15.4), and has no effect otherwise."""
    grants = delegations(store, ids) if grants is None else grants
    found = (
        _brief(rid, record, created_at, ids, grants)
        for rid, record, created_at in served(store, "brief")
    )
    return [b for b in found if b is not None]


def brief(
    store: Store, brief_id: str, ids: Identities = _NONE, grants: Delegations | None = None
) -> Brief | None:
    """The brief `brief_id` when `briefs` would list it (a `brief` with references, in a
    served chain, with effect), by its id alone: no scan of the references."""
    canonical = store.get(brief_id)
    if canonical is None:
        return None
    record = parse_json(canonical)
    if record["kind"] != "brief" or not references("brief", record["body"]):
        return None
    frozen = store.frozen_at(record["author"])
    if frozen is not None and record["seq"] > frozen:
        return None
    grants = delegations(store, ids) if grants is None else grants
    return _brief(brief_id, record, parse_timestamp(record["created"]), ids, grants)


def _brief(
    rid: str, record: dict[str, Any], created_at: int, ids: Identities, grants: Delegations
) -> Brief | None:
    """The brief of one wire record, or None when it has no effect (SPEC §14.6, §15.4)."""
    author, body = record["author"], record["body"]
    if not ids.has_effect(author, record["seq"]):
        return None
    delegate = None
    if "organisation" in body and ids.member(body["organisation"]) != ids.member(author):
        organisation = ids.member(body["organisation"])
        if not grants.speaks_for(author, record["seq"], created_at, "briefs", organisation):
            return None
        author, delegate = organisation, author
    return Brief(
        id=rid,
        author=author,
        created_at=created_at,
        expires_at=parse_timestamp(record["expires"]) if "expires" in record else None,
        body=body,
        delegate=delegate,
    )


def charters(store: Store, ids: Identities = _NONE) -> dict[str, Charter]:
    """Every guild charter held that has effect, by id; its author and founders read as
    their members' current keys (SPEC §14.6)."""
    found: dict[str, Charter] = {}
    for rid, record, created_at in served(store, "guild"):
        if not ids.has_effect(record["author"], record["seq"]):
            continue
        body = record["body"]
        admission = body["admission"]
        found[rid] = Charter(
            id=rid,
            author=ids.member(record["author"]),
            name=body["name"],
            purpose=body["purpose"],
            founders=tuple(dict.fromkeys(ids.member(f) for f in body["founders"])),
            vouches_required=admission["vouches_required"],
            created_at=created_at,
            cooling_days=admission.get("cooling_days", 7),
            skills=tuple(admission.get("skills", ())),
            listing=body.get("listing"),
        )
    return found


def applications(
    store: Store, guild: str | None = None, ids: Identities = _NONE
) -> list[Application]:
    """`apply` and `leave` records with effect, by member, ordered across the member's keys
    by `Identities.position` (SPEC §14.6)."""
    values = None if guild is None else [guild]
    return [
        Application(
            ref.record_id,
            ids.member(ref.author),
            ref.value,
            kind,
            ids.position(ref.author, ref.seq),
            ref.created_at,
        )
        for kind in ("apply", "leave")
        for ref in store.refs(kind, values=values)
        if ids.has_effect(ref.author, ref.seq)
    ]


def motions(store: Store, guild: str, ids: Identities = _NONE) -> list[Motion]:
    """`motion` records for `guild` with effect (SPEC §14.6), authors and the member to
    remove read as their members' current keys."""
    found = []
    for rid, record, created_at in served_naming(store, "motion", guild):
        if not ids.has_effect(record["author"], record["seq"]):
            continue
        body = record["body"]
        found.append(
            Motion(
                id=rid,
                author=ids.member(record["author"]),
                guild=body["guild"],
                created_at=created_at,
                action=body["action"],
                changes=body.get("changes"),
                member=ids.member(body["member"]) if "member" in body else None,
                reason=body.get("reason", ""),
            )
        )
    return found


def ballots(store: Store, guild: str, ids: Identities = _NONE) -> list[Ballot]:
    """`vote` records for `guild` with effect, ordered across a member's keys by
    `Identities.position` (SPEC §14.6)."""
    return [
        Ballot(
            id=rid,
            author=ids.member(record["author"]),
            guild=record["body"]["guild"],
            motion=record["body"]["motion"],
            seq=ids.position(record["author"], record["seq"]),
            created_at=created_at,
            choice=record["body"]["choice"],
        )
        for rid, record, created_at in served_naming(store, "vote", guild)
        if ids.has_effect(record["author"], record["seq"])
    ]


def governance(
    store: Store,
    charter: Charter,
    ids: Identities,
    vouches: list[Vouch],
    revoked: set[str],
    now: int,
) -> Governance:
    """The guild of `charter` at `now` with its governance applied (SPEC §12.5): the
    amended charter, the removals and the membership every other derivation reads."""
    return govern(
        charter,
        applications(store, charter.id, ids),
        vouches,
        motions(store, charter.id, ids),
        ballots(store, charter.id, ids),
        now=now,
        revoked=revoked,
    )
