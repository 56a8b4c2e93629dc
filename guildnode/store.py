"""The node's database: SQLite through sqlite-utils, the one place that writes it.

The store never decides validity. It accepts only `VerifiedRecord`s, appends each author's
records strictly in chain order, and commits a batch (appends and fork proofs together) in
one transaction, so a crash leaves either all of it or none. Reads give back the exact
canonical bytes that were verified, so serving a feed needs no re-encoding.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .protocol import ChainHead, VerifiedRecord


class ChainOrderError(RuntimeError):
    """A caller tried to append out of chain order: a bug in the caller, never bad input."""


@dataclass(frozen=True, slots=True)
class ForkProof:
    """Two different signed records by one author for one seq (SPEC §7.5)."""

    author: str
    seq: int
    first: bytes
    second: bytes


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


# Each migration runs once, in order, inside a transaction; PRAGMA user_version counts them.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1,)


class Store:
    """One node's SQLite database. Thread-safe: every call holds one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._version = 0
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
            heads: dict[str, tuple[int, str]] = {}
            for record in appends:
                if record.author not in heads:
                    row = self.db.execute(
                        "SELECT seq, id FROM heads WHERE author = ?", [record.author]
                    ).fetchone()
                    heads[record.author] = (row[0], row[1]) if row else (0, "")
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
                "INSERT OR IGNORE INTO forks (author, seq, first, second) VALUES (?, ?, ?, ?)",
                [(p.author, p.seq, p.first, p.second) for p in forks],
            )
        self._version += 1

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

    def heads(self) -> dict[str, tuple[int, str]]:
        """author → (seq, id) of every held chain, frozen chains at their freeze (SPEC §7.5)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT h.author, h.seq, h.id, f.seq, r.id FROM heads h"
                " LEFT JOIN forks f ON f.author = h.author"
                " LEFT JOIN records r ON r.author = h.author AND r.seq = f.seq - 1"
                " ORDER BY h.author"
            ).fetchall()
        heads: dict[str, tuple[int, str]] = {}
        for author, seq, rid, fork_seq, frozen_id in rows:
            if fork_seq is None:
                heads[author] = (seq, rid)
            elif frozen_id is not None:
                heads[author] = (fork_seq - 1, frozen_id)
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
