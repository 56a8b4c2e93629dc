"""The store's schema: its migrations, and applying the ones a database has not had yet."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


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


def _migration_3(db: sqlite_utils.Database) -> None:
    # The owner's UI sessions, so that a restart does not sign the owner out. Only the
    # sha256 of a session's cookie value is kept: a copy of the database signs no one in.
    db.execute(
        """
        CREATE TABLE ui_sessions (
            digest TEXT PRIMARY KEY,
            expires_at REAL NOT NULL
        )
        """
    )


def _migration_4(db: sqlite_utils.Database) -> None:
    # A peer the owner added with --allow-private may sit on a private or loopback address.
    db.execute("ALTER TABLE peers ADD COLUMN allow_private INTEGER NOT NULL DEFAULT 0")


def _migration_5(db: sqlite_utils.Database) -> None:
    # The indexers the owner named (issue 12): asked by `guildnode search` and the UI's
    # search; never published. `did` is the identity the indexer answered with when added.
    db.execute(
        """
        CREATE TABLE indexers (
            url TEXT PRIMARY KEY,
            did TEXT NOT NULL,
            added_at INTEGER NOT NULL,
            allow_private INTEGER NOT NULL DEFAULT 0
        )
        """
    )


def _migration_6(db: sqlite_utils.Database) -> None:
    # The messages the owner has read (SPEC §16.5): local, never published.
    db.execute(
        """
        CREATE TABLE read_messages (
            message_id TEXT PRIMARY KEY,
            read_at INTEGER NOT NULL
        )
        """
    )


# Each migration runs once, in order, inside a transaction; PRAGMA user_version counts them.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
)


def migrate(db: sqlite_utils.Database) -> None:
    """Bring `db` up to the last migration; the caller holds the store's lock."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
        with db.conn:
            db.execute("BEGIN IMMEDIATE")
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")
