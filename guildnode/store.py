"""The node's database: SQLite through sqlite-utils, the one place that writes it.

The store never decides validity. It accepts only `VerifiedRecord`s, appends each author's
records strictly in chain order, and commits a batch (appends and fork proofs together) in
one transaction, so a crash leaves either all of it or none. Reads give back the exact
canonical bytes that were verified, so serving a feed needs no re-encoding.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from .protocol import ChainHead, VerifiedRecord
from .protocol.kinds import references


class ChainOrderError(RuntimeError):
    """A caller tried to append out of chain order: a bug in the caller, never bad input."""


@dataclass(frozen=True, slots=True)
class ForkProof:
    """Two different signed records by one author for one seq (SPEC §7.5)."""

    author: str
    seq: int
    first: bytes
    second: bytes


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


def _migration_1(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE records (
            id TEXT PRIMARY KEY,
            author TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            canonical BLOB NOT NULL,
            UNIQUE (author, seq)
        )
        """
    )
    db.execute("CREATE INDEX records_kind ON records (kind)")
    db.execute(
        """
        CREATE TABLE heads (
            author TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )
        """
    )
    # What each record points at (protocol.kinds.references), for scope and derivations.
    db.execute(
        """
        CREATE TABLE refs (
            record_id TEXT NOT NULL REFERENCES records (id),
            author TEXT NOT NULL,
            kind TEXT NOT NULL,
            role TEXT NOT NULL,
            value TEXT NOT NULL,
            context TEXT,
            level INTEGER,
            evidence TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER
        )
        """
    )
    db.execute("CREATE INDEX refs_value ON refs (value, kind)")
    db.execute("CREATE INDEX refs_author ON refs (author, kind)")
    db.execute(
        """
        CREATE TABLE peers (
            did TEXT PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            added_at INTEGER NOT NULL,
            last_sync_at INTEGER,
            last_success_at INTEGER,
            last_error TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            records_received INTEGER NOT NULL DEFAULT 0,
            rejections TEXT NOT NULL DEFAULT '{}',
            heads_etag TEXT
        )
        """
    )
    # The owner's private block list: never published, only read by trust.
    db.execute("CREATE TABLE blocked (did TEXT PRIMARY KEY, added_at INTEGER NOT NULL)")
    db.execute(
        """
        CREATE TABLE forks (
            author TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            first BLOB NOT NULL,
            second BLOB NOT NULL
        )
        """
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    # Feedback the owner committed to and has not revealed yet (SPEC §12.4): private to
    # this node until `feedback` publishes it.
    db.execute(
        """
        CREATE TABLE drafts (
            commit_id TEXT PRIMARY KEY,
            body TEXT NOT NULL
        )
        """
    )


# Each migration runs once, in order, inside a transaction; PRAGMA user_version counts them.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1, _migration_2)


class Store:
    """One node's SQLite database. Thread-safe: every call holds one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._version = 0
        self._refs_version = 0
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the inbox answers "accepted" (DESIGN: crash safety).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            current = self.db.execute("PRAGMA user_version").fetchone()[0]
            for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
                with self.db.conn:
                    self.db.execute("BEGIN IMMEDIATE")
                    migration(self.db)
                    self.db.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @property
    def refs_version(self) -> int:
        """A counter that changes when what derivations read changes: records that
        reference others (vouches, revokes, guilds…), fork proofs, the block list."""
        return self._refs_version

    @property
    def version(self) -> int:
        """A counter that changes whenever a batch commits (for caching derived views)."""
        return self._version

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    # -- chain state ---------------------------------------------------------------

    def head(self, author: str) -> ChainHead | None:
        """The latest record held for `author`, ignoring any fork freeze."""
        with self._lock:
            row = self.db.execute(
                "SELECT seq, id, created_at FROM heads WHERE author = ?", [author]
            ).fetchone()
        return ChainHead(row[0], row[1], row[2]) if row else None

    def chain_states(
        self, authors: Iterable[str]
    ) -> dict[str, tuple[ChainHead | None, int | None]]:
        """author → (head, seq a proven fork froze the chain at), for many authors at once."""
        wanted = sorted(set(authors))
        states: dict[str, tuple[ChainHead | None, int | None]] = {a: (None, None) for a in wanted}
        with self._lock:
            for start in range(0, len(wanted), 5000):
                chunk = wanted[start : start + 5000]
                rows = self.db.execute(
                    "SELECT a.author, h.seq, h.id, h.created_at, f.seq FROM"
                    " (SELECT value AS author FROM json_each(?)) a"
                    " LEFT JOIN heads h ON h.author = a.author"
                    " LEFT JOIN forks f ON f.author = a.author",
                    [json.dumps(chunk)],
                ).fetchall()
                for author, seq, rid, created_at, fork_seq in rows:
                    head = ChainHead(seq, rid, created_at) if seq is not None else None
                    states[author] = (head, fork_seq - 1 if fork_seq is not None else None)
        return states

    def id_at(self, author: str, seq: int) -> str | None:
        with self._lock:
            row = self.db.execute(
                "SELECT id FROM records WHERE author = ? AND seq = ?", [author, seq]
            ).fetchone()
        return row[0] if row else None

    def canonical_at(self, author: str, seq: int) -> bytes | None:
        with self._lock:
            row = self.db.execute(
                "SELECT canonical FROM records WHERE author = ? AND seq = ?", [author, seq]
            ).fetchone()
        return bytes(row[0]) if row else None

    def fork(self, author: str) -> ForkProof | None:
        with self._lock:
            row = self.db.execute(
                "SELECT seq, first, second FROM forks WHERE author = ?", [author]
            ).fetchone()
        return ForkProof(author, row[0], bytes(row[1]), bytes(row[2])) if row else None

    def frozen_at(self, author: str) -> int | None:
        """SPEC §7.5: the seq a proven fork froze `author`'s chain at, if any."""
        proof = self.fork(author)
        return proof.seq - 1 if proof else None

    # -- writing -------------------------------------------------------------------

    def commit(self, appends: Sequence[VerifiedRecord], forks: Sequence[ForkProof] = ()) -> None:
        """Append records and keep fork proofs, all in one transaction.

        Each appended record must be the next link of its author's chain as held (counting
        earlier records of the same batch). Raises `ChainOrderError` otherwise, and then
        nothing of the batch is written.
        """
        if not appends and not forks:
            return
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            held = self.chain_states({r.author for r in appends})
            heads: dict[str, tuple[int, str]] = {
                author: (state[0].seq, state[0].id) if state[0] else (0, "")
                for author, state in held.items()
            }
            for record in appends:
                seq, prev = heads[record.author]
                if record.seq != seq + 1 or (record.prev or "") != prev:
                    raise ChainOrderError(
                        f"{record.id} is not the next link of {record.author}'s chain"
                    )
                heads[record.author] = (record.seq, record.id)
            self.db.conn.executemany(
                "INSERT INTO records (id, author, seq, kind, created_at, expires_at, canonical)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.id, r.author, r.seq, r.kind, r.created_at, r.expires_at, r.canonical)
                    for r in appends
                ],
            )
            last = {r.author: r for r in appends}
            self.db.conn.executemany(
                "INSERT INTO heads (author, seq, id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (author) DO UPDATE SET"
                " seq = excluded.seq, id = excluded.id, created_at = excluded.created_at",
                [(r.author, r.seq, r.id, r.created_at) for r in last.values()],
            )
            self.db.conn.executemany(
                "INSERT INTO refs (record_id, author, kind, role, value, context, level,"
                " evidence, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.id,
                        r.author,
                        r.kind,
                        role,
                        value,
                        r.body.get("context") if r.kind == "vouch" else None,
                        r.body.get("level") if r.kind == "vouch" else None,
                        r.body.get("evidence") if r.kind == "vouch" else None,
                        r.created_at,
                        r.expires_at,
                    )
                    for r in appends
                    for role, value in references(r.kind, r.body)
                ],
            )
            # SPEC §7.5: one proof per author, the one with the lowest seq, so that every
            # node holding proofs converges on the same freeze whatever order they came in.
            self.db.conn.executemany(
                "INSERT INTO forks (author, seq, first, second) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (author) DO UPDATE SET seq = excluded.seq,"
                " first = excluded.first, second = excluded.second"
                " WHERE excluded.seq < forks.seq",
                [(p.author, p.seq, p.first, p.second) for p in forks],
            )
        self._version += 1
        if forks or any(references(r.kind, r.body) for r in appends):
            self._refs_version += 1

    # -- reading -------------------------------------------------------------------

    def get(self, record_id: str) -> bytes | None:
        """The canonical bytes of a held record, by id (whether or not its chain is frozen)."""
        with self._lock:
            row = self.db.execute(
                "SELECT canonical FROM records WHERE id = ?", [record_id]
            ).fetchone()
        return bytes(row[0]) if row else None

    def latest(self, author: str, kind: str) -> bytes | None:
        """The canonical bytes of `author`'s latest record of `kind` in the served chain."""
        with self._lock:
            frozen = self.frozen_at(author)
            row = self.db.execute(
                "SELECT canonical FROM records WHERE author = ? AND kind = ? AND seq <= ?"
                " ORDER BY seq DESC LIMIT 1",
                [author, kind, frozen if frozen is not None else 2**63 - 1],
            ).fetchone()
        return bytes(row[0]) if row else None

    def feed(self, author: str, after: int, limit: int, max_bytes: int) -> list[bytes]:
        """`author`'s records with seq > `after`, in order, stopping at a proven fork's freeze,
        at `limit` records, or before the page would pass `max_bytes` (at least one record)."""
        with self._lock:
            frozen = self.frozen_at(author)
            ceiling = frozen if frozen is not None else 2**63 - 1
            rows = self.db.execute(
                "SELECT canonical FROM records WHERE author = ? AND seq > ? AND seq <= ?"
                " ORDER BY seq LIMIT ?",
                [author, after, ceiling, limit],
            ).fetchall()
        page: list[bytes] = []
        size = 0
        for (canonical,) in rows:
            size += len(canonical) + 1
            if page and size > max_bytes:
                break
            page.append(bytes(canonical))
        return page

    def heads(self) -> dict[str, tuple[int, str | None, bool]]:
        """author → (seq, id, forked) of every held chain, frozen chains at their freeze
        (SPEC §7.5)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT h.author, h.seq, h.id, f.seq, r.seq, r.id FROM heads h"
                " LEFT JOIN forks f ON f.author = h.author"
                " LEFT JOIN records r ON r.author = h.author AND r.seq = min(h.seq, f.seq - 1)"
                " ORDER BY h.author"
            ).fetchall()
        heads: dict[str, tuple[int, str | None, bool]] = {}
        for author, seq, rid, fork_seq, frozen_seq, frozen_id in rows:
            if fork_seq is None:
                heads[author] = (seq, rid, False)
            else:  # the last record held before the fork; a fork at seq 1 leaves (0, None)
                heads[author] = (frozen_seq or 0, frozen_id, True)
        return heads

    def records(
        self, author: str | None = None, kind: str | None = None
    ) -> Iterator[tuple[str, bytes]]:
        """(id, canonical bytes) of held records, by author then seq, optionally filtered."""
        clauses, params = [], []
        if author is not None:
            clauses.append("author = ?")
            params.append(author)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self.db.execute(
                f"SELECT id, canonical FROM records{where} ORDER BY author, seq", params
            ).fetchall()
        for rid, canonical in rows:
            yield rid, bytes(canonical)

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

    # -- the owner's unrevealed feedback ---------------------------------------------

    def save_draft(self, commit_id: str, body: dict[str, Any]) -> None:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT OR REPLACE INTO drafts (commit_id, body) VALUES (?, ?)",
                [commit_id, json.dumps(body, sort_keys=True)],
            )

    def drafts(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self.db.execute("SELECT commit_id, body FROM drafts").fetchall()
        return {commit_id: json.loads(body) for commit_id, body in rows}

    def drop_draft(self, commit_id: str) -> None:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM drafts WHERE commit_id = ?", [commit_id])

    # -- the owner's block list -----------------------------------------------------

    def block(self, did: str, now: int) -> None:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT OR IGNORE INTO blocked (did, added_at) VALUES (?, ?)", [did, now]
            )
        self._version += 1
        self._refs_version += 1

    def unblock(self, did: str) -> bool:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute("DELETE FROM blocked WHERE did = ?", [did])
        self._version += 1
        self._refs_version += 1
        return bool(cursor.rowcount)

    def blocked(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self.db.execute("SELECT did FROM blocked")}

    # -- peers ---------------------------------------------------------------------

    def add_peer(self, did: str, url: str, source: str, now: int) -> bool:
        """Record a peer (or its new URL). Returns False if it was known at that URL."""
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute("SELECT url FROM peers WHERE did = ?", [did]).fetchone()
            if row and row[0] == url:
                return False
            self.db.execute("DELETE FROM peers WHERE url = ? AND did != ?", [url, did])
            self.db.execute(
                "INSERT INTO peers (did, url, source, added_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (did) DO UPDATE SET url = excluded.url, heads_etag = NULL",
                [did, url, source, now],
            )
        self._version += 1
        return True

    def remove_peer(self, did_or_url: str) -> bool:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute(
                "DELETE FROM peers WHERE did = ? OR url = ?", [did_or_url, did_or_url]
            )
        return bool(cursor.rowcount)

    def peers(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.execute("SELECT * FROM peers ORDER BY added_at, did")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["rejections"] = json.loads(row["rejections"])
        return rows

    def note_sync(
        self,
        did: str,
        now: int,
        *,
        received: int,
        rejections: dict[str, int],
        error: str | None,
        etag: str | None,
    ) -> None:
        """Add one sync round's outcome to a peer's record."""
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute("SELECT rejections FROM peers WHERE did = ?", [did]).fetchone()
            if row is None:
                return
            counts: dict[str, int] = json.loads(row[0])
            for code, n in rejections.items():
                counts[code] = counts.get(code, 0) + n
            self.db.execute(
                "UPDATE peers SET last_sync_at = ?, records_received = records_received + ?,"
                " rejections = ?, last_error = ?,"
                " failures = CASE WHEN ? IS NULL THEN 0 ELSE failures + 1 END,"
                " last_success_at = CASE WHEN ? IS NULL THEN ? ELSE last_success_at END,"
                " heads_etag = ? WHERE did = ?",
                [
                    now,
                    received,
                    json.dumps(counts, sort_keys=True),
                    error,
                    error,
                    error,
                    now,
                    etag,
                    did,
                ],
            )

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

    def forks(self) -> list[ForkProof]:
        with self._lock:
            rows = self.db.execute("SELECT author, seq, first, second FROM forks").fetchall()
        return [ForkProof(a, s, bytes(f), bytes(x)) for a, s, f, x in rows]

    def count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM records").fetchone()[0])

    def heads_rows(self) -> list[tuple[str, int, str, int]]:
        """Raw heads table, for `check`."""
        with self._lock:
            return list(self.db.execute("SELECT author, seq, id, created_at FROM heads"))
