"""Queries over the references of stored records (`protocol.kinds.references`).

The `refs` rows are written by `RecordsMixin.commit`, in the same transaction as their
records; here they are read for scope and derivations, only within served chains.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from .connection import Connection


@dataclass(frozen=True, slots=True)
class Ref:
    """One reference of a stored record (see `protocol.kinds.references`)."""

    record_id: str
    author: str
    role: str
    value: str
    context: str | None
    created_at: int
    expires_at: int | None
    seq: int
    level: int | None = None  # vouches only
    evidence: str | None = None  # vouches only


class RefsMixin(Connection):
    """Reads of the `refs` table, joined with `records` and `forks`."""

    def refs(
        self,
        kind: str,
        *,
        authors: Iterable[str] | None = None,
        values: Iterable[str] | None = None,
        record_ids: Iterable[str] | None = None,
        contexts: Iterable[str] | None = None,
    ) -> list[Ref]:
        """References of `kind` records in served chains (not past a fork's freeze),
        filtered by author, value, record id and (vouch) context; in chain order."""
        clauses, params = ["x.kind = ?"], [kind]
        for column, wanted in (
            ("x.author", authors),
            ("x.value", values),
            ("x.record_id", record_ids),
            ("x.context", contexts),
        ):
            if wanted is not None:
                items = list(wanted)
                if not items:
                    return []
                clauses.append(f"{column} IN ({', '.join('?' * len(items))})")
                params.extend(items)
        sql = (
            "SELECT x.record_id, x.author, x.role, x.value, x.context, x.created_at,"
            " x.expires_at, r.seq, x.level, x.evidence"
            " FROM refs x JOIN records r ON r.id = x.record_id"
            " LEFT JOIN forks f ON f.author = x.author"
            f" WHERE {' AND '.join(clauses)} AND (f.seq IS NULL OR r.seq < f.seq)"
            " ORDER BY x.author, r.seq"
        )
        with self._lock:
            rows = self.db.execute(sql, params).fetchall()
        return [Ref(*row) for row in rows]

    def vouch_pairs(
        self,
        now: int,
        *,
        authors: Iterable[str] | None = None,
        subjects: Iterable[str] | None = None,
        contexts: Iterable[str] | None = None,
        max_life: int,
    ) -> set[tuple[str, str]]:
        """(author, subject) of active vouches in served chains: not revoked by their author,
        and `now` before both `expires` and `created` + `max_life` (SPEC §9.7). The
        filtering runs in SQLite, so only distinct pairs come back."""
        clauses, params = ["x.kind = 'vouch'"], []
        for column, wanted in (
            ("x.author", authors),
            ("x.value", subjects),
            ("x.context", contexts),
        ):
            if wanted is not None:
                items = list(wanted)
                if not items:
                    return set()
                clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(items))
        sql = (
            "SELECT DISTINCT x.author, x.value FROM refs x"
            " JOIN records r ON r.id = x.record_id"
            " LEFT JOIN forks f ON f.author = x.author"
            f" WHERE {' AND '.join(clauses)} AND (f.seq IS NULL OR r.seq < f.seq)"
            " AND ? < x.created_at + ? AND (x.expires_at IS NULL OR ? < x.expires_at)"
            " AND NOT EXISTS (SELECT 1 FROM refs v WHERE v.kind = 'revoke'"
            " AND v.value = x.record_id AND v.author = x.author)"
        )
        with self._lock:
            rows = self.db.execute(sql, [*params, now, max_life, now]).fetchall()
        return {(author, subject) for author, subject in rows}

    def refs_since(
        self, mark: int, kinds: Iterable[str], parties: Iterable[str], public: Iterable[str]
    ) -> tuple[int, list[tuple[str, str, str, str, int, bytes | None]]]:
        """What reached the store after `mark` (a `refs` rowid; rows are never deleted, so
        rowids grow in commit order): the new mark, and (record id, kind, value, author, seq,
        canonical) of the new references in served chains of `kinds` naming one of `parties`,
        and of the `public` kinds whatever they name (canonical None for those). One scan
        of the new rows, however many are held: what keeps the owner's contracts current
        (`ledger`)."""
        wanted, named, seen = list(kinds), list(parties), list(public)
        with self._lock:
            top = self.db.execute("SELECT coalesce(max(rowid), 0) FROM refs").fetchone()[0]
            if top <= mark:
                return mark, []
            rows = self.db.execute(
                "SELECT x.record_id, x.kind, x.value, x.author, r.seq,"
                " CASE WHEN x.kind IN (SELECT value FROM json_each(?)) THEN r.canonical END"
                " FROM refs x NOT INDEXED JOIN records r ON r.id = x.record_id"
                " LEFT JOIN forks f ON f.author = x.author"
                " WHERE x.rowid > ? AND x.rowid <= ? AND (f.seq IS NULL OR r.seq < f.seq)"
                " AND ((x.kind IN (SELECT value FROM json_each(?))"
                " AND x.value IN (SELECT value FROM json_each(?)))"
                " OR x.kind IN (SELECT value FROM json_each(?)))"
                " ORDER BY x.rowid",
                [
                    json.dumps(wanted),
                    mark,
                    top,
                    json.dumps(wanted),
                    json.dumps(named),
                    json.dumps(seen),
                ],
            ).fetchall()
        return top, [
            (rid, kind, value, author, seq, None if canonical is None else bytes(canonical))
            for rid, kind, value, author, seq, canonical in rows
        ]
