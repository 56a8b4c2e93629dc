"""The indexers the owner named (issue 12): private to this node, never published."""

from __future__ import annotations

from typing import Any

from .connection import Connection


class IndexersMixin(Connection):
    def add_indexer(self, url: str, did: str, now: int, allow_private: bool = False) -> bool:
        """Name an indexer (or update its identity or its leave to be private). Returns
        False if it was known at that URL with that identity and leave."""
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute(
                "SELECT did, allow_private FROM indexers WHERE url = ?", [url]
            ).fetchone()
            if row and row[0] == did and bool(row[1]) == allow_private:
                return False
            self.db.execute(
                "INSERT INTO indexers (url, did, added_at, allow_private) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET did = excluded.did,"
                " allow_private = excluded.allow_private",
                [url, did, now, int(allow_private)],
            )
        return True

    def remove_indexer(self, url: str) -> bool:
        with self._lock, self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute("DELETE FROM indexers WHERE url = ?", [url])
        return bool(cursor.rowcount)

    def indexers(self) -> list[dict[str, Any]]:
        """Every named indexer, oldest first: url, did, added_at, allow_private."""
        with self._lock:
            rows = self.db.execute(
                "SELECT url, did, added_at, allow_private FROM indexers ORDER BY added_at, url"
            ).fetchall()
        return [
            {"url": url, "did": did, "added_at": added, "allow_private": bool(private)}
            for url, did, added, private in rows
        ]
