"""One member of the demo's network: their node's address and its local API, as they would
use it with the CLI. Any error answer stops the story with a `DemoError`."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


class DemoError(Exception):
    """A step of the story failed; the message says which and why."""


@dataclass
class Member:
    name: str
    skills: list[str]
    organisation: bool
    data_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    did: str = ""
    client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def short(self) -> str:
        return self.name.split()[0]

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self.client is not None
        response = await self.client.request(method, path, **kwargs)
        return self._answer(method, path, response)

    async def find(self, path: str, **kwargs: Any) -> Any | None:
        """GET `path`, or None when the node holds no such thing (404)."""
        assert self.client is not None
        response = await self.client.get(path, **kwargs)
        return None if response.status_code == 404 else self._answer("GET", path, response)

    async def act(self, action: str, **fields: Any) -> str:
        """One work action through the local API (as `guildnode <action>` would); its id."""
        published: dict[str, Any] = await self.call("POST", f"/api/work/{action}", json=fields)
        return str(published["id"])

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        data = response.json()
        if response.is_error:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise DemoError(
                f"{self.short}: {method} {path} failed: {error.get('code')}: {error.get('detail')}"
            )
        return data
