"""Read models: the values that trust and guilds derive from, loaded from the store.

Kept apart from the pure derivations (`trust`, `guilds`) so those never touch SQLite.
"""

from __future__ import annotations

from .guilds import Application, Charter
from .protocol import parse_json
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


def charters(store: Store) -> dict[str, Charter]:
    """Every guild charter held, by id."""
    found: dict[str, Charter] = {}
    for rid, canonical in store.records(kind="guild"):
        record = parse_json(canonical)
        body = record["body"]
        admission = body["admission"]
        created = store.refs("guild", record_ids=[rid])
        if not created:  # beyond a fork's freeze: no effect
            continue
        found[rid] = Charter(
            id=rid,
            author=record["author"],
            name=body["name"],
            purpose=body["purpose"],
            founders=tuple(body["founders"]),
            vouches_required=admission["vouches_required"],
            created_at=created[0].created_at,
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
