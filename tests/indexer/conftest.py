"""Indexers served in this process, on the real PostgreSQL of `tests/postgres.py`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from guildnode.indexer.app import Indexer, IndexerSettings, create_indexer_app


@dataclass
class ServedIndexer:
    indexer: Indexer
    client: httpx.AsyncClient
    url: str
    database: str

    async def round(self) -> None:
        await self.indexer.round()

    async def search(self, what: str, **params: Any) -> httpx.Response:
        return await self.client.get(f"/search/{what}", params=params)

    async def found(self, what: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.search(what, **params)
        assert response.status_code == 200, response.text
        return [r["record"] for r in response.json()["results"]]


@pytest.fixture
async def make_indexer(
    tmp_path: Path, router: Any, database: str
) -> AsyncIterator[Callable[..., Any]]:
    """`await make_indexer(peers=[url, …])` → an indexer at http://indexer.test on the test's
    database, its requests routed through `router`; rounds run when the test asks."""
    async with AsyncExitStack() as stack:

        async def factory(
            name: str = "indexer",
            peers: tuple[str, ...] = (),
            clock: Callable[[], float] = time.time,
            dsn: str | None = None,
        ) -> ServedIndexer:
            url = f"http://{name}.test"
            settings = IndexerSettings(
                database=dsn or database,
                data_dir=tmp_path / name,
                peers=tuple(peers),
                public_url=url,
                interval=0,
                allow_private_peers=True,
            )
            app = create_indexer_app(settings, transport=router, clock=clock)
            manager = await stack.enter_async_context(LifespanManager(app))
            router.add(httpx.URL(url).host, manager.app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=router, base_url=url)
            )
            return ServedIndexer(app.state.indexer, client, url, dsn or database)

        yield factory
