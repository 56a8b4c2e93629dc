"""What every part of the store shares: one connection, one lock, the change counters.

The mixins of `records`, `refs` and `owner` subclass `Connection`, so each reads and writes
through the same `db` under the same `_lock`, and bumps the same `_version`/`_refs_version`.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils

from .schema import migrate


class Connection:
    """One node's SQLite connection, migrated on open. Thread-safe: every call holds one lock."""

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
        with self._lock:
            migrate(self.db)

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
