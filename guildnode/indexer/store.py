"""The indexer's PostgreSQL store: chains as a member node's store keeps them, plus the
search tables (SPEC §13.1).

`IndexStore` offers what `guildnode.ingest.Ingest` asks of a node's store — `chain_states`,
`id_at`, `canonical_at`, `heads`, `commit` and `appending` — so the indexer verifies and
places records with the member node's own code. Every write goes through one connection
under one lock, one transaction per batch: records, heads, fork proofs and search rows of a
batch commit together or not at all. Searches read through a small pool of other connections
(`reader`), never blocking ingest.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..protocol import ChainHead, VerifiedRecord, verify_record
from ..store import ChainOrderError, ForkProof
from .project import (
    BRIEF_COLUMNS,
    GUILD_COLUMNS,
    PROFILE_COLUMNS,
    brief_row,
    guild_row,
    kept_canonical,
    profile_row,
)
from .schema import migrate

Conn = psycopg.Connection[tuple[Any, ...]]
READERS = 4


class Appender:
    """Appends to an open transaction of `IndexStore.appending`: each record the next link
    of its author's chain as held (counting those appended before), else `ChainOrderError`."""

    def __init__(self, store: IndexStore, conn: Conn) -> None:
        self._store = store
        self._conn = conn
        self._heads: dict[str, tuple[int, str]] = {}
        self.appended = 0

    def append(self, appends: Sequence[VerifiedRecord]) -> None:
        if not appends:
            return
        heads = self._heads
        unseen = {r.author for r in appends} - heads.keys()
        for author, (head, _) in self._store.chain_states(unseen).items():
            heads[author] = (head.seq, head.id) if head else (0, "")
        for r in appends:
            seq, prev = heads[r.author]
            if r.seq != seq + 1 or (r.prev or "") != prev:
                raise ChainOrderError(f"{r.id} is not the next link of {r.author}'s chain")
            heads[r.author] = (r.seq, r.id)
        cur = self._conn.cursor()
        with cur.copy(
            "COPY records (author, seq, id, kind, created_at, expires_at, canonical) FROM STDIN"
        ) as copy:
            for r in appends:
                copy.write_row(
                    (r.author, r.seq, r.id, r.kind, r.created_at, r.expires_at, kept_canonical(r))
                )
        last = {r.author: r for r in appends}
        cur.executemany(
            "INSERT INTO heads (author, seq, id, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (author) DO UPDATE SET"
            " seq = excluded.seq, id = excluded.id, created_at = excluded.created_at",
            [(r.author, r.seq, r.id, r.created_at) for r in last.values()],
        )
        briefs = [row for r in appends if (row := brief_row(r)) is not None]
        if briefs:
            with cur.copy(f"COPY briefs ({BRIEF_COLUMNS}) FROM STDIN") as copy:
                for row in briefs:
                    copy.write_row(row)
        guilds = [row for r in appends if (row := guild_row(r)) is not None]
        if guilds:
            cur.executemany(
                f"INSERT INTO guilds ({GUILD_COLUMNS}) VALUES ({_marks(GUILD_COLUMNS)})", guilds
            )
        profiles = {r.author: r for r in appends if r.kind == "profile"}  # the latest each
        if profiles:
            cur.executemany(
                f"INSERT INTO profiles ({PROFILE_COLUMNS}) VALUES ({_marks(PROFILE_COLUMNS)})"
                " ON CONFLICT (author) DO UPDATE SET"
                f" ({PROFILE_COLUMNS}) = ({_excluded(PROFILE_COLUMNS)})"
                " WHERE excluded.seq > profiles.seq",
                [row for r in profiles.values() if (row := profile_row(r)) is not None],
            )
        self.appended += len(appends)

    def keep(self, forks: Sequence[ForkProof]) -> None:
        """Keep fork proofs (SPEC §7.5: per author the lowest seq wins) and drop from search
        what the freeze puts beyond the served chain."""
        if not forks:
            return
        cur = self._conn.cursor()
        cur.executemany(
            "INSERT INTO forks (author, seq, first, second) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (author) DO UPDATE SET seq = excluded.seq,"
            " first = excluded.first, second = excluded.second WHERE excluded.seq < forks.seq",
            [(p.author, p.seq, p.first, p.second) for p in forks],
        )
        for proof in forks:
            frozen = proof.seq - 1
            for table in ("briefs", "guilds"):
                cur.execute(
                    f"DELETE FROM {table} WHERE author = %s AND seq > %s", [proof.author, frozen]
                )
            cur.execute(
                "DELETE FROM profiles WHERE author = %s AND seq > %s", [proof.author, frozen]
            )
            row = cur.execute(
                "SELECT canonical FROM records WHERE author = %s AND kind = 'profile'"
                " AND seq <= %s ORDER BY seq DESC LIMIT 1",
                [proof.author, frozen],
            ).fetchone()
            if row is not None and not _has_profile(cur, proof.author):
                # Bytes this store verified when it took them in.
                cur.execute(
                    f"INSERT INTO profiles ({PROFILE_COLUMNS}) VALUES ({_marks(PROFILE_COLUMNS)})",
                    profile_row(verify_record(bytes(row[0]))),
                )


def _has_profile(cur: psycopg.Cursor[tuple[Any, ...]], author: str) -> bool:
    return cur.execute("SELECT 1 FROM profiles WHERE author = %s", [author]).fetchone() is not None


def _marks(columns: str) -> str:
    return ", ".join(["%s"] * len(columns.split(",")))


def _excluded(columns: str) -> str:
    return ", ".join(f"excluded.{c.strip()}" for c in columns.split(","))


class IndexStore:
    """One indexer's PostgreSQL database (`dsn`), migrated on open."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Conn = psycopg.connect(dsn, autocommit=True)
        self._lock = threading.RLock()
        self._readers: queue.LifoQueue[Conn] = queue.LifoQueue()
        self._opened = 0
        self._open_lock = threading.Lock()
        self.schema_version = migrate(self._conn)

    def __repr__(self) -> str:
        return "IndexStore(<database>)"  # the DSN may carry a password

    def close(self) -> None:
        self._conn.close()
        while not self._readers.empty():
            self._readers.get_nowait().close()

    @contextmanager
    def reader(self) -> Iterator[Conn]:
        """A connection for reads (searches), from a pool of at most `READERS`."""
        conn: Conn | None = None
        with self._open_lock:
            if self._readers.empty() and self._opened < READERS:
                self._opened += 1
                conn = psycopg.connect(self.dsn, autocommit=True)
        if conn is None:
            conn = self._readers.get()
        try:
            yield conn
        except psycopg.OperationalError:
            conn.close()
            with self._open_lock:
                self._opened -= 1
            raise
        else:
            self._readers.put(conn)

    # -- what Ingest reads -------------------------------------------------------------

    def chain_states(
        self, authors: Iterable[str]
    ) -> dict[str, tuple[ChainHead | None, int | None]]:
        """author → (head, seq a proven fork froze the chain at), for many authors at once."""
        wanted = sorted(set(authors))
        states: dict[str, tuple[ChainHead | None, int | None]] = {a: (None, None) for a in wanted}
        if not wanted:
            return states
        with self._lock:
            rows = self._conn.execute(
                "SELECT a.author, h.seq, h.id, h.created_at, f.seq"
                " FROM unnest(%s::text[]) AS a (author)"
                " LEFT JOIN heads h ON h.author = a.author"
                " LEFT JOIN forks f ON f.author = a.author",
                [wanted],
            ).fetchall()
        for author, seq, rid, created_at, fork_seq in rows:
            head = ChainHead(seq, rid, created_at) if seq is not None else None
            states[author] = (head, fork_seq - 1 if fork_seq is not None else None)
        return states

    def head(self, author: str) -> ChainHead | None:
        return self.chain_states([author])[author][0]

    def id_at(self, author: str, seq: int) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM records WHERE author = %s AND seq = %s", [author, seq]
            ).fetchone()
        return str(row[0]) if row else None

    def canonical_at(self, author: str, seq: int) -> bytes | None:
        """The canonical bytes held at `author`'s `seq`; `b""` for a record whose body is not
        kept (SPEC §13.1), so a fork at that seq still freezes the chain here, though this
        indexer cannot show the first record of the proof."""
        with self._lock:
            row = self._conn.execute(
                "SELECT canonical FROM records WHERE author = %s AND seq = %s", [author, seq]
            ).fetchone()
        if row is None:
            return None
        return bytes(row[0]) if row[0] is not None else b""

    def heads(self) -> dict[str, tuple[int, str | None, bool]]:
        """author → (seq, id, forked) of every chain held."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT h.author, h.seq, h.id, f.seq FROM heads h"
                " LEFT JOIN forks f ON f.author = h.author"
            ).fetchall()
        return {a: (s, i, f is not None) for a, s, i, f in rows}

    def fork(self, author: str) -> ForkProof | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT seq, first, second FROM forks WHERE author = %s", [author]
            ).fetchone()
        return ForkProof(author, row[0], bytes(row[1]), bytes(row[2])) if row else None

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def appending(self) -> Iterator[Appender]:
        """One write transaction for a batch appended in parts; commits on leaving, or rolls
        back everything appended through it on an exception."""
        with self._lock, self._conn.transaction():
            yield Appender(self, self._conn)

    def commit(self, appends: Sequence[VerifiedRecord], forks: Sequence[ForkProof] = ()) -> None:
        """Append records and keep fork proofs, in one transaction."""
        if not appends and not forks:
            return
        with self.appending() as appender:
            appender.append(appends)
            appender.keep(forks)

    # -- reading -----------------------------------------------------------------------

    def count(self, table: str = "records") -> int:
        if table not in ("records", "briefs", "profiles", "guilds", "heads", "forks"):
            raise ValueError(table)
        with self.reader() as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    def endpoints(self) -> dict[str, list[str]]:
        """author → endpoints of its current profile, for every profile naming some."""
        with self.reader() as conn:
            rows = conn.execute(
                "SELECT author, endpoints FROM profiles WHERE cardinality(endpoints) > 0"
            ).fetchall()
        return {author: list(endpoints) for author, endpoints in rows}

    # -- peers -------------------------------------------------------------------------

    def add_peer(self, url: str, did: str, source: str, now: int) -> None:
        """Remember a peer (a URL already known keeps its first source)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO peers (url, did, source, added_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (url) DO UPDATE SET did = excluded.did",
                [url, did, source, now],
            )

    def peers(self) -> list[dict[str, Any]]:
        with self.reader() as conn:
            rows = conn.execute(
                "SELECT url, did, source, added_at, last_round_at, last_error,"
                " records_received, rejections FROM peers ORDER BY added_at, url"
            ).fetchall()
        names = ("url", "did", "source", "added_at", "last_round_at", "last_error")
        return [
            {
                **dict(zip(names, row[:6], strict=True)),
                "records_received": row[6],
                "rejections": dict(row[7]),
            }
            for row in rows
        ]

    def note_round(
        self, url: str, now: int, received: int, rejections: dict[str, int], error: str | None
    ) -> None:
        """The outcome of one round with a peer: counts add up, the error is the last one."""
        with self._lock:
            self._conn.execute(
                "UPDATE peers SET last_round_at = %s, last_error = %s,"
                " records_received = records_received + %s,"
                " rejections = (SELECT coalesce(jsonb_object_agg(key, total), '{}') FROM ("
                "   SELECT key, sum(value::bigint) AS total FROM ("
                "     SELECT * FROM jsonb_each_text(rejections)"
                "     UNION ALL SELECT * FROM jsonb_each_text(%s::jsonb)) AS pairs"
                "   GROUP BY key) AS sums)"
                " WHERE url = %s",
                [now, error, received, Jsonb(rejections), url],
            )
