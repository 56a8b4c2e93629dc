"""Shared fixtures: factories for nodes served over ASGI, and signing helpers."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from guildnode.app import create_app
from guildnode.node import Node
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(name: str) -> str:
    """The path of an external tool; skips the test without it, but fails in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(message + " (CI must install it)")
        pytest.skip(message)
    return path


@dataclass
class ServedNode:
    """A node app in this process, with a client speaking to it over ASGI."""

    node: Node
    client: httpx.AsyncClient
    token: str
    data_dir: Path

    @property
    def owner(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def inbox(self, records: list[Any]) -> list[dict[str, Any]]:
        response = await self.client.post("/inbox", json={"records": records})
        assert response.status_code == 200, response.text
        return response.json()["results"]  # type: ignore[no-any-return]


@pytest.fixture
async def make_node(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await make_node("name")` → a fresh `ServedNode` with its own data directory."""
    async with AsyncExitStack() as stack:

        async def factory(name: str = "node", **settings: Any) -> ServedNode:
            data_dir = tmp_path / name
            app = create_app(Settings(data_dir=data_dir, **settings))
            manager = await stack.enter_async_context(LifespanManager(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=manager.app), base_url="http://node.test"
                )
            )
            node: Node = app.state.node
            return ServedNode(node, client, app.state.owner_token, data_dir)

        yield factory


class Author:
    """A signing identity outside any node, writing its own chain, for feeding inboxes."""

    def __init__(self, n: int, start: int = 1_790_000_000) -> None:
        self.identity = Identity(bytes([n]) * 32)
        self.did = self.identity.did
        self.records: list[VerifiedRecord] = []
        self.clock = start

    def next(
        self,
        kind: str = "vouch",
        body: dict[str, Any] | None = None,
        *,
        created_at: int | None = None,
        expires_at: int | None = None,
        seq: int | None = None,
        prev: str | bool | None = False,
    ) -> VerifiedRecord:
        """Sign the next record of the chain (or, with seq/prev given, any record)."""
        head = self.records[-1] if self.records else None
        self.clock += 1
        record = sign_record(
            self.identity,
            kind=kind,
            body=body
            if body is not None
            else {"subject": Identity(bytes([255]) * 32).did, "level": 2},
            seq=seq if seq is not None else (head.seq + 1 if head else 1),
            prev=(head.id if head else None) if prev is False else prev,  # type: ignore[arg-type]
            created_at=created_at if created_at is not None else self.clock,
            expires_at=expires_at,
        )
        if seq is None and prev is False:
            self.records.append(record)
        return record


@pytest.fixture
def author() -> Callable[[int], Author]:
    return Author


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
