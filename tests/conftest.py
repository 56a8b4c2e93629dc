"""Shared fixtures: factories for nodes served over ASGI, and signing helpers."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
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

from guildnode.app import create_app
from guildnode.errors import NodeError
from guildnode.indexer.cluster import ClusterError, TempCluster
from guildnode.node import Node
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.protocol.httpsig import sign_request
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


PEER = Identity(bytes([200]) * 32)  # signs test requests to inboxes, as a peer node would


class Router(httpx.AsyncBaseTransport):
    """Routes requests by host to ASGI apps in this process: a network without sockets.

    Counts every exchange so tests can measure round trips and bytes on the wire.
    """

    def __init__(self) -> None:
        self.hosts: dict[str, httpx.AsyncBaseTransport] = {}
        self.exchanges: list[tuple[str, str, int, int]] = []  # method, url, sent, received
        self._loopback = httpx.AsyncHTTPTransport()

    def add(self, host: str, app: Any) -> None:
        self.hosts[host] = httpx.ASGITransport(app=app)

    async def aclose(self) -> None:
        await self._loopback.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.hosts.get(request.url.host)
        if transport is None and request.url.host == "127.0.0.1":
            transport = self._loopback  # real sockets, for faults ASGI cannot show (timeouts)
        if transport is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        response = await transport.handle_async_request(request)
        body = await response.aread()
        sent = len(request.content) + sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
        received = len(body) + sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
        self.exchanges.append((request.method, str(request.url), sent, received))
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request
        )


def signed_headers(
    url: str, body: bytes, signer: Identity = PEER, now: int | None = None
) -> dict[str, str]:
    """RFC 9421 headers for a POST of `body` to `url`, as a peer node sends them."""
    import time

    return sign_request(
        signer,
        method="POST",
        url=url,
        headers={"content-type": "application/json"},
        body=body,
        now=int(time.time()) if now is None else now,
        nonce=secrets.token_urlsafe(12),
    ) | {"content-type": "application/json"}


@dataclass
class ServedNode:
    """A node app in this process, reachable at `url` through the shared `Router`."""

    node: Node
    client: httpx.AsyncClient
    token: str
    data_dir: Path
    url: str
    app: Any

    @property
    def owner(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def federation(self) -> Any:
        return self.app.state.federation

    def welcome(self, *dids: str) -> None:
        """The owner vouches for each DID not yet in scope, so the inbox takes their records."""
        for did in dids:
            if did != self.node.did and did not in self.node.scope():
                with contextlib.suppress(NodeError):  # not a valid DID: nothing to welcome
                    self.node.vouch(did, level=1)

    async def post_inbox(self, body: bytes, signer: Identity = PEER) -> httpx.Response:
        url = f"{self.url}/inbox"
        return await self.client.post(url, content=body, headers=signed_headers(url, body, signer))

    async def inbox(self, records: list[Any], *, welcome: bool = True) -> list[dict[str, Any]]:
        """POST records to the inbox, signed by a peer; by default the owner first vouches
        for their authors, so that scope is not what the test is about."""
        if welcome:
            self.welcome(*{r["author"] for r in records if isinstance(r, dict) and "author" in r})
        response = await self.post_inbox(json.dumps({"records": records}).encode())
        assert response.status_code == 200, response.text
        return response.json()["results"]  # type: ignore[no-any-return]


@pytest.fixture
async def router() -> AsyncIterator[Router]:
    routes = Router()
    yield routes
    await routes.aclose()


@pytest.fixture
async def make_node(tmp_path: Path, router: Router) -> AsyncIterator[Callable[..., Any]]:
    """`await make_node("name")` → a fresh `ServedNode` at http://name.test, with its own
    data directory, its outgoing requests routed through `router`. Periodic sync is off:
    tests drive sync by push and "sync now". `clock` replaces the node's `time.time`
    (everywhere: records, expiry, HTTP signatures), so tests move time instead of sleeping."""
    async with AsyncExitStack() as stack:

        async def factory(
            name: str = "node", clock: Callable[[], float] = time.time, **settings: Any
        ) -> ServedNode:
            data_dir = tmp_path / name
            url = f"http://{name}.test"
            settings = {
                "public_url": url,
                "sync_interval": 0,
                "allow_private_peers": True,
            } | settings
            app = create_app(Settings(data_dir=data_dir, **settings), transport=router, clock=clock)
            manager = await stack.enter_async_context(LifespanManager(app))
            router.add(httpx.URL(settings["public_url"]).host, manager.app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=router, base_url=settings["public_url"])
            )
            node: Node = app.state.node
            return ServedNode(
                node,
                client,
                app.state.owner_token,
                data_dir,
                settings["public_url"].rstrip("/"),
                app,
            )

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


# -- a real PostgreSQL for the indexer's tests ----------------------------------------------
# `GUILDNODE_TEST_DATABASE` (set by .ci/run) names a database whose role may create databases;
# without it the tests start a throwaway cluster of their own (needs Debian's `postgresql`).
# Where neither works the tests skip, except in CI, where they fail. Each test gets a fresh
# database, dropped afterwards.


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
