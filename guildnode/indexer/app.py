"""The indexer node: its settings, its app (search API and `/.well-known/guildnode`, SPEC
§13.2–§13.3) and the lifespan that opens its identity, its database and its rounds.

Records come in through the member node's own `Ingest` (same verification, same rejection
codes), over a host object that gives it the indexer's PostgreSQL store and clock. An
indexer keeps no replication scope (it takes every author it is shown) and is party to no
contract, so the parts of a node that scope and contracts need are absent from the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from .. import __version__
from ..api.errors import install_error_handlers
from ..datadir import DataDir
from ..ingest import Ingest
from ..peers import PeerClient, PeerError
from ..protocol import PROTOCOL_VERSION, VerifiedRecord, format_timestamp
from ..settings import Settings
from ..store import ForkProof
from . import DEFAULT_PORT
from .follow import Follower, PeerRound
from .search import parse_query, search
from .store import IndexStore

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("guildnode.indexer")


@dataclass(frozen=True, slots=True)
class IndexerSettings:
    database: str = field(repr=False)  # a DSN may carry a password
    data_dir: Path
    peers: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str | None = None
    interval: float = 30.0  # seconds between rounds; 0: only the rounds asked for
    allow_private_peers: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 10.0

    @property
    def url(self) -> str:
        """The URL clients reach the indexer at, in the form a member node's would be."""
        return Settings(self.data_dir, self.host, self.port, self.public_url).url


class _NoMarket:
    def settle(self) -> None:
        """An indexer is party to no contract: nothing to publish."""


class _Host:
    """What `Ingest` reads of its node, for the indexer."""

    def __init__(self, store: IndexStore, did: str, clock: Callable[[], float]) -> None:
        self.store = store
        self.did = did
        self._clock = clock
        self.market = _NoMarket()
        self.on_ingest: list[Callable[[Sequence[VerifiedRecord]], None]] = []  # none listen

    def now(self) -> int:
        return int(self._clock())

    def scope(self) -> Any:
        raise RuntimeError("an indexer keeps no replication scope")


def _no_scope(appends: Sequence[VerifiedRecord], forks: Sequence[ForkProof]) -> None:
    """An indexer has no scope to advance."""


def indexer_ingest(store: IndexStore, did: str, clock: Callable[[], float]) -> Ingest:
    """The member node's `Ingest`, over the indexer's store."""
    host = cast("Node", _Host(store, did, clock))
    return Ingest(host, write_lock=threading.Lock(), advance_scope=_no_scope)


class Indexer:
    """One running indexer: its identity, store, ingest and follower."""

    def __init__(
        self,
        settings: IndexerSettings,
        datadir: DataDir,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.identity = datadir.load_identity()
        self.clock = clock
        self.store = IndexStore(settings.database)
        self.ingest = indexer_ingest(self.store, self.identity.did, clock)
        self.client = PeerClient(
            self.identity,
            clock,
            transport=transport,
            allow_private=settings.allow_private_peers,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )
        self.follower = Follower(
            self.store,
            self.ingest,
            self.client,
            clock,
        )
        self._given = list(settings.peers)

    async def add_given_peers(self) -> None:
        """Follow the peers the operator gave; one that does not answer is tried again
        before the next round."""
        waiting = []
        for url in self._given:
            try:
                await self.follower.add_peer(url)
            except PeerError as exc:
                log.warning("peer %s not added yet: %s", url, exc)
                waiting.append(url)
        self._given = waiting

    async def round(self) -> list[PeerRound]:
        """Follow the given peers not yet added, then one round with every peer."""
        await self.add_given_peers()
        return await self.follower.round()

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except Exception:  # a bug in one round must not end following for good
                log.exception("an indexer round failed")
            await asyncio.sleep(self.settings.interval)

    async def close(self) -> None:
        await self.client.aclose()
        self.ingest.close()
        self.store.close()

    def answer(self, what: str, request: Request) -> Response:
        """A search answer (SPEC §13.3): records spliced in as the canonical bytes held."""
        query = parse_query(what, request.query_params.multi_items())
        found = search(self.store, query, int(self.clock()))
        as_of = self.follower.as_of
        head = (
            b'{"indexer":{"did":"'
            + self.identity.did.encode()
            + b'","url":'
            + _json_string(self.settings.url)
            + b'},"as_of":'
            + (_json_string(format_timestamp(as_of)) if as_of is not None else b"null")
            + b',"results":['
        )
        body = head + b",".join(b'{"record":' + r + b"}" for r in found) + b"]}"
        return Response(body, media_type="application/json")


def _json_string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode()


def create_indexer_app(
    settings: IndexerSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """An app serving the indexer whose data directory and database `settings` name. The
    lifespan takes the data directory's lock (creating an identity in an empty one), opens
    the database (migrating it) and runs rounds every `settings.interval` seconds."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        datadir = DataDir(settings.data_dir)
        datadir.acquire()
        try:
            if not datadir.has_identity():
                datadir.create()
            indexer = await run_in_threadpool(
                Indexer, settings, datadir, transport=transport, clock=clock
            )
            app.state.indexer = indexer
            task = asyncio.create_task(indexer.run()) if settings.interval > 0 else None
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await indexer.close()
        finally:
            datadir.release()

    app = FastAPI(
        title="Guildnode indexer",
        version=__version__,
        summary="Search over the public records of many Guildnode nodes (SPEC §13).",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    def indexer_of(request: Request) -> Indexer:
        return cast(Indexer, request.app.state.indexer)

    @app.get("/.well-known/guildnode", summary="Who this indexer is")
    def well_known(request: Request) -> dict[str, Any]:
        indexer = indexer_of(request)
        return {
            "did": indexer.identity.did,
            "name": "",
            "url": settings.url,
            "protocol": PROTOCOL_VERSION,
            "software": {"name": "guildnode", "version": __version__},
            "role": "indexer",
        }

    @app.get("/search/briefs", summary="Open briefs, by words and filters")
    def search_briefs(request: Request) -> Response:
        return indexer_of(request).answer("briefs", request)

    @app.get("/search/people", summary="People, by words of their current profile")
    def search_people(request: Request) -> Response:
        return indexer_of(request).answer("people", request)

    @app.get("/search/guilds", summary="Listed guilds, by words of their charter")
    def search_guilds(request: Request) -> Response:
        return indexer_of(request).answer("guilds", request)

    return app
