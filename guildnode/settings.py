"""Settings of one node, as a value: built from arguments, then `GUILDNODE_*` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import platformdirs

DEFAULT_PORT = 8547


def default_data_dir() -> Path:
    """`$GUILDNODE_DATA`, else the platform's user data directory for guildnode."""
    env = os.environ.get("GUILDNODE_DATA")
    return Path(env) if env else Path(platformdirs.user_data_dir("guildnode"))


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str | None = None
    sync_interval: float = 30.0  # seconds between anti-entropy rounds; 0 turns them off
    allow_private_peers: bool = False  # contact loopback/private addresses (tests, demo)
    connect_timeout: float = 5.0
    read_timeout: float = 10.0

    @property
    def url(self) -> str:
        """The URL other nodes reach this one at: `public_url`, else host and port."""
        if self.public_url:
            # The form senders sign (httpx's): lower-case host, no default port.
            return str(httpx.URL(self.public_url)).rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def local_url(self) -> str:
        """Where the owner's CLI reaches the node on this machine."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @classmethod
    def from_env(
        cls,
        data_dir: Path | None = None,
        host: str | None = None,
        port: int | None = None,
        public_url: str | None = None,
        sync_interval: float | None = None,
        allow_private_peers: bool | None = None,
    ) -> Settings:
        env = os.environ
        return cls(
            data_dir=data_dir or default_data_dir(),
            host=host or env.get("GUILDNODE_HOST", "127.0.0.1"),
            port=port if port is not None else int(env.get("GUILDNODE_PORT", DEFAULT_PORT)),
            public_url=public_url or env.get("GUILDNODE_PUBLIC_URL") or None,
            sync_interval=sync_interval
            if sync_interval is not None
            else float(env.get("GUILDNODE_SYNC_INTERVAL", 30.0)),
            allow_private_peers=allow_private_peers
            if allow_private_peers is not None
            else env.get("GUILDNODE_ALLOW_PRIVATE_PEERS", "").lower() in {"1", "true", "yes"},
        )
