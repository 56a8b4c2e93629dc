"""The app factory: one FastAPI app around one `Node`, opened by the lifespan.

Nothing is built at import time, so several nodes can live in one process (the network
tests do that).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from . import __version__
from .api import federation, local, search, threads
from .api.errors import install_error_handlers
from .api.guard import InboxGuard
from .datadir import DataDir
from .federation import Federation
from .node import Clock, Node
from .settings import Settings
from .ui import install_ui
from .ui.live import Live


def create_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
) -> FastAPI:
    """An app serving the node whose data directory `settings` names.

    The lifespan takes the data directory's writer lock (initialising the directory first
    if it is empty), opens the node and its federation, and releases all on shutdown.
    `transport` carries the node's outgoing requests (tests route them to other apps).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        datadir = DataDir(settings.data_dir)
        datadir.acquire()
        try:
            if not datadir.has_identity():
                datadir.create()
            node = Node(datadir, public_url=settings.url, clock=clock)
            federation = Federation(node, settings, transport=transport)
            app.state.node = node
            app.state.federation = federation
            app.state.inbox_guard = InboxGuard()
            app.state.owner_token = datadir.token()
            node.on_publish.append(live.wake)
            node.on_ingest.append(live.wake)
            node.on_read.append(live.wake)  # a thread read drops its notice (SPEC §9.11)
            await federation.start()
            datadir.announce(settings.local_url)
            try:
                yield
            finally:
                live.close()
                await federation.stop()
                node.close()
        finally:
            datadir.release()

    app = FastAPI(
        title="Guildnode",
        version=__version__,
        summary="One member's node of the Guildnode network: federation API, local API, web UI.",
        lifespan=lifespan,
    )
    live = Live()  # the owner's notification streams; `guildnode run` closes it on exit
    app.state.live = live
    install_error_handlers(app)
    app.include_router(federation.router)
    app.include_router(local.router)
    app.include_router(search.router)
    app.include_router(threads.router)
    install_ui(app, settings, clock=clock)
    return app
