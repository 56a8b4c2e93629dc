"""A node's data directory: its key, its owner token, its database, and its lock.

Files: `identity.key` (the Ed25519 seed, mode 0600), `token` (the owner's API token, 0600),
`node.db` (SQLite), `node.lock` (held by the one process that writes), `node.json` (where
a running node listens, so the CLI can reach it), `previous-keys.json` (the seeds of earlier
keys after a rotation, 0600).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import IO, Any

from .protocol import Identity

KEY_FILE = "identity.key"
TOKEN_FILE = "token"
DB_FILE = "node.db"
LOCK_FILE = "node.lock"
RUNNING_FILE = "node.json"
PREVIOUS_KEYS_FILE = (
    "previous-keys.json"  # SPEC §14.6: earlier keys, to open what was sealed to them
)


class DataDirError(Exception):
    """The data directory is missing, damaged, or in use. The message says which."""


class DataDirLocked(DataDirError):
    """Another process holds this data directory."""


def _write_private(path: Path, text: str) -> None:
    """Create `path` with mode 0600 from the start; refuse to replace an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _seed_text(identity: Identity) -> str:
    return base64.urlsafe_b64encode(identity.secret_seed()).decode("ascii")


class DataDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        self._lock_handle: IO[str] | None = None

    def __repr__(self) -> str:
        return f"DataDir({str(self.path)!r})"

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    def has_identity(self) -> bool:
        return (self.path / KEY_FILE).exists()

    def create(self, identity: Identity | None = None) -> Identity:
        """Write a new identity (or the one given, when restoring) and a new owner token.
        Refuses to overwrite an existing identity."""
        if self.has_identity():
            raise DataDirError(f"{self.path} already holds an identity; refusing to overwrite it.")
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        identity = identity or Identity.generate()
        seed = base64.urlsafe_b64encode(identity.secret_seed()).decode("ascii")
        _write_private(self.path / KEY_FILE, json.dumps({"did": identity.did, "seed": seed}))
        token_path = self.path / TOKEN_FILE
        if token_path.exists():
            token_path.unlink()
        _write_private(token_path, secrets.token_urlsafe(32))
        return identity

    def load_identity(self) -> Identity:
        path = self.path / KEY_FILE
        try:
            data = json.loads(path.read_text())
            identity = Identity(base64.urlsafe_b64decode(data["seed"]))
        except FileNotFoundError as exc:
            raise DataDirError(f"{self.path} holds no identity: run `guildnode init`.") from exc
        except (ValueError, KeyError, TypeError):
            raise DataDirError(f"{path} is damaged: it holds no valid key.") from None
        if data.get("did") != identity.did:
            raise DataDirError(f"{path} is damaged: its key does not match its DID.")
        return identity

    def replace_identity(self, new: Identity) -> None:
        """Make `new` the node's key (SPEC §14.9: after a rotation or a recovery), keeping the
        current one among the earlier keys first. Each file is written whole at mode 0600
        and moved into place, so a crash leaves the old key or the new one, never neither."""
        old = self.load_identity()
        kept = self.previous_identities()
        if old.did not in {k.did for k in kept}:
            kept.append(old)
        self.keep_previous(kept)
        self._replace_private(KEY_FILE, json.dumps({"did": new.did, "seed": _seed_text(new)}))

    def keep_previous(self, earlier: list[Identity]) -> None:
        """Write the earlier keys (oldest first), as a restore brings them (0600)."""
        self._replace_private(
            PREVIOUS_KEYS_FILE,
            json.dumps([{"did": k.did, "seed": _seed_text(k)} for k in earlier]),
        )

    def previous_identities(self) -> list[Identity]:
        """The node's earlier keys, oldest first."""
        path = self.path / PREVIOUS_KEYS_FILE
        try:
            rows = json.loads(path.read_text())
            found = [Identity(base64.urlsafe_b64decode(row["seed"])) for row in rows]
        except FileNotFoundError:
            return []
        except (ValueError, KeyError, TypeError):
            raise DataDirError(f"{path} is damaged: it holds no valid keys.") from None
        return found

    def _replace_private(self, name: str, text: str) -> None:
        temporary = self.path / f".{name}.new"
        temporary.unlink(missing_ok=True)
        _write_private(temporary, text)
        os.replace(temporary, self.path / name)

    def token(self) -> str:
        try:
            return (self.path / TOKEN_FILE).read_text().strip()
        except FileNotFoundError as exc:
            raise DataDirError(f"{self.path} holds no owner token.") from exc

    # -- one writer per data directory ------------------------------------------------

    def acquire(self) -> None:
        """Take the writer's lock, or raise `DataDirLocked` if another process has it."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(self.path / LOCK_FILE, "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DataDirLocked(f"{self.path} is in use by another guildnode process.") from None
        self._lock_handle = handle

    def release(self) -> None:
        if self._lock_handle is not None:
            (self.path / RUNNING_FILE).unlink(missing_ok=True)
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def is_locked(self) -> bool:
        """True when another process holds the writer's lock."""
        if self._lock_handle is not None:
            return False
        try:
            self.acquire()
        except DataDirLocked:
            return True
        self.release()
        return False

    def announce(self, url: str) -> None:
        """Record where this (locked) node's local API listens, for the CLI."""
        (self.path / RUNNING_FILE).write_text(json.dumps({"url": url, "pid": os.getpid()}))

    def running(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / RUNNING_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None
