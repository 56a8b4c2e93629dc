"""A real PostgreSQL for the indexer tests, and indexers served in this process.

`GUILDNODE_TEST_DATABASE` (set by .ci/run) names a database whose role may create
databases; without it the tests start a throwaway cluster of their own (needs Debian's
`postgresql` installed). Where neither works the tests skip — except in CI, where they fail.
Each test gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from guildnode.indexer.app import Indexer, IndexerSettings, create_indexer_app
from guildnode.indexer.cluster import ClusterError, TempCluster

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[str]:
    """A DSN through which the tests create and drop their databases."""
    given = os.environ.get("GUILDNODE_TEST_DATABASE")
    if given:
        yield given
        return
    cluster = TempCluster(durable=False)
    try:
        cluster.start()
    except ClusterError as exc:
        cluster.stop()
        if IN_CI:
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(str(exc))
    try:
        yield cluster.dsn()
    finally:
        cluster.stop()


def _with_database(dsn: str, database: str) -> str:
    return str(psycopg.conninfo.make_conninfo(dsn, dbname=database))


@pytest.fixture
def database(pg_admin: str) -> Iterator[str]:
    """A fresh, empty database; its DSN."""
    name = f"gn_test_{secrets.token_hex(6)}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield _with_database(pg_admin, name)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)'.encode())


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
