"""Read models: the values that trust and guilds derive from, loaded from the store.

Kept apart from the pure derivations (`trust`, `guilds`) so those never touch SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .briefs import Brief
from .guilds import Application, Charter
from .protocol import parse_json, parse_timestamp
from .store import Store
from .trust import Vouch


def vouches(store: Store) -> list[Vouch]:
    """Every vouch held in a served chain."""
    return [
        Vouch(
            id=ref.record_id,
            author=ref.author,
            subject=ref.value,
            level=ref.level or 1,
            created_at=ref.created_at,
            context=ref.context,
            expires_at=ref.expires_at,
            evidence=ref.evidence,
        )
        for ref in store.refs("vouch")
    ]


def revoked(store: Store, targets: list[Vouch]) -> set[str]:
    """Ids among `targets` revoked by their own author."""
    authors = {v.id: v.author for v in targets}
    return {ref.value for ref in store.refs("revoke") if authors.get(ref.value) == ref.author}


def served(store: Store, kind: str) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(id, wire record, created_at) of every `kind` record in a served chain — not beyond
    a fork's freeze — in one query for the chains and one for the records."""
    created = {ref.record_id: ref.created_at for ref in store.refs(kind)}
    for rid, canonical in store.records(kind=kind):
        if rid in created:
            yield rid, parse_json(canonical), created[rid]


def briefs(store: Store) -> list[Brief]:
    """Every brief held in a served chain."""
    return [
        Brief(
            id=rid,
            author=record["author"],
            created_at=created_at,
            expires_at=parse_timestamp(record["expires"]) if "expires" in record else None,
            body=record["body"],
        )
        for rid, record, created_at in served(store, "brief")
    ]


def charters(store: Store) -> dict[str, Charter]:
    """Every guild charter held, by id."""
    found: dict[str, Charter] = {}
    for rid, record, created_at in served(store, "guild"):
        body = record["body"]
        admission = body["admission"]
        found[rid] = Charter(
            id=rid,
            author=record["author"],
            name=body["name"],
            purpose=body["purpose"],
            founders=tuple(body["founders"]),
            vouches_required=admission["vouches_required"],
            created_at=created_at,
            cooling_days=admission.get("cooling_days", 7),
            skills=tuple(admission.get("skills", ())),
        )
    return found


def applications(store: Store, guild: str | None = None) -> list[Application]:
    values = None if guild is None else [guild]
    return [
        Application(ref.record_id, ref.author, ref.value, kind, ref.seq, ref.created_at)
        for kind in ("apply", "leave")
        for ref in store.refs(kind, values=values)
    ]
