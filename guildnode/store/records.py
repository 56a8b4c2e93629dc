"""Records, chain heads and fork proofs: appending verified records and reading them back.

`commit` appends each author's records strictly in chain order and keeps fork proofs, in one
transaction together with the records' references (see `refs`), so a crash leaves either
all of a batch or none. Reads give back the exact canonical bytes that were verified.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..protocol import ChainHead, VerifiedRecord
from ..protocol.kinds import references
from .connection import Connection


class ChainOrderError(RuntimeError):
    """A caller tried to append out of chain order: a bug in the caller, never bad input."""


@dataclass(frozen=True, slots=True)
class ForkProof:
    """Two different signed records by one author for one seq (SPEC §7.5)."""

    author: str
    seq: int
    first: bytes
    second: bytes


class RecordsMixin(Connection):
    """The `records`, `heads` and `forks` tables."""

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
