"""The node's own state beside the records: the owner's unrevealed feedback drafts, the
owner's private block list, and the peers this node syncs with. None of it is signed
records; changing the block list bumps `refs_version`, since trust reads it."""

from __future__ import annotations

import json
from typing import Any

from .connection import Connection


class OwnerMixin(Connection):
    """The `drafts`, `read_messages`, `blocked`, `ui_sessions` and `peers` tables."""

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

    # -- the messages the owner has read (SPEC §16.5) ------------------------------

    def mark_read(self, message_ids: list[str], now: int) -> None:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO read_messages (message_id, read_at) VALUES (?, ?)",
                [(mid, now) for mid in message_ids],
            )

    def read_messages(self) -> set[str]:
        with self._lock:
            rows = self.db.execute("SELECT message_id FROM read_messages").fetchall()
        return {row[0] for row in rows}

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

    # -- the owner's UI sessions (hashed) ----------------------------------------------

    def save_session(self, digest: str, expires_at: float, now: float, most: int) -> None:
        """Keep a session's digest; drop expired ones and, beyond `most`, the oldest."""
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM ui_sessions WHERE expires_at <= ?", [now])
            self.db.execute(
                "DELETE FROM ui_sessions WHERE digest NOT IN "
                "(SELECT digest FROM ui_sessions ORDER BY expires_at DESC LIMIT ?)",
                [most - 1],
            )
            self.db.execute(
                "INSERT OR REPLACE INTO ui_sessions (digest, expires_at) VALUES (?, ?)",
                [digest, expires_at],
            )

    def session_expiry(self, digest: str) -> float | None:
        with self._lock:
            row = self.db.execute(
                "SELECT expires_at FROM ui_sessions WHERE digest = ?", [digest]
            ).fetchone()
        return None if row is None else float(row[0])

    def end_session(self, digest: str) -> None:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM ui_sessions WHERE digest = ?", [digest])

    # -- peers ---------------------------------------------------------------------

    def add_peer(
        self, did: str, url: str, source: str, now: int, allow_private: bool = False
    ) -> bool:
        """Record a peer (or its new URL, or its leave to be private). Returns False if it
        was known at that URL with that leave."""
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute(
                "SELECT url, allow_private FROM peers WHERE did = ?", [did]
            ).fetchone()
            if row and row[0] == url and bool(row[1]) == allow_private:
                return False
            self.db.execute("DELETE FROM peers WHERE url = ? AND did != ?", [url, did])
            self.db.execute(
                "INSERT INTO peers (did, url, source, added_at, allow_private)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (did) DO UPDATE SET url = excluded.url,"
                " allow_private = excluded.allow_private, heads_etag = NULL",
                [did, url, source, now, int(allow_private)],
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
