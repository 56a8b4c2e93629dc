"""How the CLI reaches a node: through its local API when it runs, else the data directory.

A running node holds the data directory's lock (one writer per directory), so the CLI
then speaks to it over HTTP with the owner's token. When no node runs, the CLI takes the
lock itself and opens the node directly. Both answer with the same JSON shapes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx

from . import actions, conversations, delegating, keeping, notices, portable, views
from . import indexers as indexing
from .datadir import DataDir, DataDirError, DataDirLocked
from .errors import NodeError
from .federation import Federation
from .node import Node
from .peers import PeerError
from .protocol import ProtocolError
from .search import SearchError, make_query
from .settings import Settings
from .views import peer_view, published, whoami


class BackendError(Exception):
    """An operation failed; `code` and `detail` come from the node or the API."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class Backend(Protocol):
    def me(self) -> dict[str, Any]: ...
    def set_profile(self, **fields: Any) -> dict[str, Any]: ...
    def vouch(self, **fields: Any) -> dict[str, Any]: ...
    def revoke(self, **fields: Any) -> dict[str, Any]: ...
    def records(self, author: str | None, kind: str | None) -> dict[str, Any]: ...
    def check(self) -> dict[str, Any]: ...
    def peers(self) -> dict[str, Any]: ...
    def add_peer(self, url: str, allow_private: bool = False) -> dict[str, Any]: ...
    def remove_peer(self, did_or_url: str) -> dict[str, Any]: ...
    def sync(self) -> dict[str, Any]: ...
    def trust(self, did: str, context: str | None) -> dict[str, Any]: ...
    def people(self, context: str | None) -> dict[str, Any]: ...
    def block(self, did: str) -> dict[str, Any]: ...
    def unblock(self, did: str) -> dict[str, Any]: ...
    def found_guild(self, **fields: Any) -> dict[str, Any]: ...
    def apply_guild(self, guild_id: str, note: str | None) -> dict[str, Any]: ...
    def leave_guild(self, guild_id: str, note: str | None) -> dict[str, Any]: ...
    def guilds(self) -> dict[str, Any]: ...
    def guild(self, guild_id: str) -> dict[str, Any]: ...
    def motions(self, guild_id: str) -> dict[str, Any]: ...
    def propose(self, guild_id: str, **fields: Any) -> dict[str, Any]: ...
    def vote(self, motion_id: str, choice: str) -> dict[str, Any]: ...
    def post_brief(self, **fields: Any) -> dict[str, Any]: ...
    def briefs(self, guild: str | None, skill: str | None) -> dict[str, Any]: ...
    def brief(self, brief_id: str) -> dict[str, Any]: ...
    def work(self, action: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    def proposals(self, brief: str | None) -> dict[str, Any]: ...
    def contracts(self, state: str | None) -> dict[str, Any]: ...
    def contract(self, contract_id: str) -> dict[str, Any]: ...
    def inbox(self) -> dict[str, Any]: ...
    def disputes(self) -> dict[str, Any]: ...
    def dispute(self, dispute_id: str) -> dict[str, Any]: ...
    def indexers(self) -> dict[str, Any]: ...
    def add_indexer(self, url: str, allow_private: bool = False) -> dict[str, Any]: ...
    def remove_indexer(self, url: str) -> dict[str, Any]: ...
    def search(self, what: str, params: dict[str, str]) -> dict[str, Any]: ...
    def follow(self, record: str, author: str, source: str | None) -> dict[str, Any]: ...
    def identity(self, action: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    def identity_state(self, did: str | None) -> dict[str, Any]: ...
    def credentials(self) -> dict[str, Any]: ...
    def thread(self, action: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    def threads(self, on: str | None) -> dict[str, Any]: ...
    def show_thread(self, thread_id: str) -> dict[str, Any]: ...
    def delegates(self) -> dict[str, Any]: ...
    def delegate(self, action: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    def close(self) -> None: ...


class DirectBackend:
    """Opens the node in this process, holding the data directory's lock until `close`."""

    def __init__(self, datadir: DataDir, settings: Settings) -> None:
        datadir.acquire()
        try:
            self.node = Node(datadir, public_url=settings.url)
        except BaseException:
            datadir.release()
            raise
        self.datadir = datadir
        self.settings = settings

    def _federate(self, work: Callable[[Federation], Awaitable[Any]]) -> Any:
        """Run `work` with a federation that lives only for this command."""

        async def run() -> Any:
            federation = Federation(self.node, self.settings)
            try:
                return await work(federation)
            except (PeerError, SearchError) as exc:
                raise BackendError(exc.code, exc.detail) from None
            finally:
                await federation.stop()

        return asyncio.run(run())

    def peers(self) -> dict[str, Any]:
        return {"peers": [peer_view(p) for p in self.node.store.peers()]}

    def add_peer(self, url: str, allow_private: bool = False) -> dict[str, Any]:
        async def add(federation: Federation) -> dict[str, Any]:
            return peer_view(await federation.add_peer(url, allow_private=allow_private))

        return self._federate(add)  # type: ignore[no-any-return]

    def remove_peer(self, did_or_url: str) -> dict[str, Any]:
        if not self.node.store.remove_peer(did_or_url.rstrip("/")):
            raise BackendError("not_found", f"No peer {did_or_url} is known.")
        return {"removed": did_or_url}

    def sync(self) -> dict[str, Any]:
        async def sync(federation: Federation) -> dict[str, Any]:
            return {"rounds": [r.as_dict() for r in await federation.sync_all()]}

        return self._federate(sync)  # type: ignore[no-any-return]

    def _call(self, operation: Any) -> dict[str, Any]:
        try:
            return operation()  # type: ignore[no-any-return]
        except (NodeError, ProtocolError) as exc:
            raise BackendError(exc.code, exc.detail) from None

    def me(self) -> dict[str, Any]:
        return whoami(self.node)

    def set_profile(self, **fields: Any) -> dict[str, Any]:
        return self._call(lambda: published(self.node.set_profile(**fields)))

    def vouch(self, **fields: Any) -> dict[str, Any]:
        subject = fields.pop("subject")
        return self._call(lambda: published(self.node.vouch(subject, **fields)))

    def revoke(self, **fields: Any) -> dict[str, Any]:
        target = fields.pop("target")
        return self._call(lambda: published(self.node.revoke(target, **fields)))

    def records(self, author: str | None, kind: str | None) -> dict[str, Any]:
        return {"records": self.node.records(author=author, kind=kind)}

    def check(self) -> dict[str, Any]:
        return self.node.check().as_dict()

    def trust(self, did: str, context: str | None) -> dict[str, Any]:
        return self._call(lambda: views.trust_of(self.node, did, context))

    def people(self, context: str | None) -> dict[str, Any]:
        return views.people(self.node, context)

    def block(self, did: str) -> dict[str, Any]:
        self._call(lambda: self.node.block(did))
        return {"blocked": did}

    def unblock(self, did: str) -> dict[str, Any]:
        self._call(lambda: self.node.unblock(did))
        return {"unblocked": did}

    def found_guild(self, **fields: Any) -> dict[str, Any]:
        name, purpose = fields.pop("name"), fields.pop("purpose")
        return self._call(lambda: published(self.node.found_guild(name, purpose, **fields)))

    def apply_guild(self, guild_id: str, note: str | None) -> dict[str, Any]:
        return self._call(lambda: published(self.node.apply_guild(guild_id, note)))

    def leave_guild(self, guild_id: str, note: str | None) -> dict[str, Any]:
        return self._call(lambda: published(self.node.leave_guild(guild_id, note)))

    def guilds(self) -> dict[str, Any]:
        return {"guilds": [views.guild_view(self.node, g) for g in self.node.guilds()]}

    def guild(self, guild_id: str) -> dict[str, Any]:
        return self._call(lambda: views.guild_view(self.node, self.node.guild(guild_id)))

    def motions(self, guild_id: str) -> dict[str, Any]:
        return self._call(lambda: views.motions(self.node, guild_id))

    def propose(self, guild_id: str, **fields: Any) -> dict[str, Any]:
        return self._call(lambda: published(self.node.assembly.propose(guild_id, **fields)))

    def vote(self, motion_id: str, choice: str) -> dict[str, Any]:
        return self._call(lambda: published(self.node.assembly.vote(motion_id, choice)))

    def post_brief(self, **fields: Any) -> dict[str, Any]:
        return self._call(lambda: published(self.node.post_brief(**fields)))

    def briefs(self, guild: str | None, skill: str | None) -> dict[str, Any]:
        return views.briefs(self.node, guild, skill)

    def brief(self, brief_id: str) -> dict[str, Any]:
        return self._call(lambda: views.brief_view(self.node, self.node.brief(brief_id)))

    def work(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call(lambda: published(actions.run(self.node, action, fields)))

    def identity(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call(lambda: keeping.run(self.node, action, fields))

    def identity_state(self, did: str | None) -> dict[str, Any]:
        if did is None:
            return self._call(lambda: keeping.state(self.node))
        return self._call(lambda: keeping.show(self.node, did))

    def credentials(self) -> dict[str, Any]:
        return self._call(lambda: portable.export(self.node))

    def delegates(self) -> dict[str, Any]:
        return self._call(lambda: delegating.state(self.node))

    def delegate(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call(lambda: delegating.run(self.node, action, fields))

    def proposals(self, brief: str | None) -> dict[str, Any]:
        return views.proposals(self.node, brief)

    def thread(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call(lambda: conversations.run(self.node, action, fields))

    def threads(self, on: str | None) -> dict[str, Any]:
        return self._call(lambda: conversations.list_threads(self.node, on))

    def show_thread(self, thread_id: str) -> dict[str, Any]:
        return self._call(lambda: conversations.show_thread(self.node, thread_id))

    def contracts(self, state: str | None) -> dict[str, Any]:
        return self._call(lambda: views.contracts(self.node, state))

    def contract(self, contract_id: str) -> dict[str, Any]:
        return self._call(
            lambda: views.contract_view(self.node, self.node.market.contract(contract_id))
        )

    def inbox(self) -> dict[str, Any]:
        return notices.inbox(self.node)

    def disputes(self) -> dict[str, Any]:
        return self._call(lambda: views.disputes(self.node))

    def dispute(self, dispute_id: str) -> dict[str, Any]:
        mediation = self.node.market.mediation
        return self._call(lambda: views.dispute_view(self.node, mediation.dispute(dispute_id)))

    def indexers(self) -> dict[str, Any]:
        return indexing.list_indexers(self.node.store)

    def add_indexer(self, url: str, allow_private: bool = False) -> dict[str, Any]:
        return self._federate(lambda f: indexing.add_indexer(f, url, allow_private))  # type: ignore[no-any-return]

    def remove_indexer(self, url: str) -> dict[str, Any]:
        try:
            return indexing.remove_indexer(self.node.store, url)
        except SearchError as exc:
            raise BackendError(exc.code, exc.detail) from None

    def search(self, what: str, params: dict[str, str]) -> dict[str, Any]:
        async def search(federation: Federation) -> dict[str, Any]:
            query = make_query(what, params)
            return (await indexing.search(federation, query)).as_dict()

        return self._federate(search)  # type: ignore[no-any-return]

    def follow(self, record: str, author: str, source: str | None) -> dict[str, Any]:
        return self._federate(lambda f: indexing.follow(f, record, author, source))  # type: ignore[no-any-return]

    def close(self) -> None:
        self.node.close()
        self.datadir.release()


class RemoteBackend:
    """Speaks to the running node's local API with the owner's token."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0, connect=5.0),
            trust_env=False,  # the owner's token goes to the local node, never via a proxy
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendError(
                "node_unreachable",
                f"The running node at {self.client.base_url} did not answer: {exc}",
            ) from None
        try:
            data = response.json()
        except ValueError:
            raise BackendError(
                "bad_response",
                f"{self.client.base_url} answered {response.status_code} without JSON: "
                "is it this node? (node.json may be stale)",
            ) from None
        if response.is_error:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise BackendError(error.get("code", "http_error"), error.get("detail", response.text))
        return data  # type: ignore[no-any-return]

    def me(self) -> dict[str, Any]:
        return self._call("GET", "/api/me")

    def set_profile(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/api/profile", json=fields)

    def vouch(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/api/vouch", json=fields)

    def revoke(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/api/revoke", json=fields)

    def records(self, author: str | None, kind: str | None) -> dict[str, Any]:
        params = {k: v for k, v in (("author", author), ("kind", kind)) if v}
        return self._call("GET", "/api/records", params=params)

    def check(self) -> dict[str, Any]:
        return self._call("GET", "/api/check")

    def peers(self) -> dict[str, Any]:
        return self._call("GET", "/api/peers")

    def add_peer(self, url: str, allow_private: bool = False) -> dict[str, Any]:
        return self._call("POST", "/api/peers", json={"url": url, "allow_private": allow_private})

    def remove_peer(self, did_or_url: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/peers/{did_or_url}")

    def sync(self) -> dict[str, Any]:
        return self._call("POST", "/api/sync")

    def trust(self, did: str, context: str | None) -> dict[str, Any]:
        return self._call("GET", f"/api/trust/{did}", params=_present(context=context))

    def people(self, context: str | None) -> dict[str, Any]:
        return self._call("GET", "/api/people", params=_present(context=context))

    def block(self, did: str) -> dict[str, Any]:
        return self._call("POST", "/api/block", json={"did": did})

    def unblock(self, did: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/block/{did}")

    def found_guild(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/api/guilds", json=fields)

    def apply_guild(self, guild_id: str, note: str | None) -> dict[str, Any]:
        return self._call("POST", f"/api/guilds/{guild_id}/apply", json={"note": note})

    def leave_guild(self, guild_id: str, note: str | None) -> dict[str, Any]:
        return self._call("POST", f"/api/guilds/{guild_id}/leave", json={"note": note})

    def guilds(self) -> dict[str, Any]:
        return self._call("GET", "/api/guilds")

    def guild(self, guild_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/guilds/{guild_id}")

    def motions(self, guild_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/guilds/{guild_id}/motions")

    def propose(self, guild_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/api/guilds/{guild_id}/motions", json=fields)

    def vote(self, motion_id: str, choice: str) -> dict[str, Any]:
        return self._call("POST", f"/api/motions/{motion_id}/vote", json={"choice": choice})

    def post_brief(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/api/briefs", json=fields)

    def briefs(self, guild: str | None, skill: str | None) -> dict[str, Any]:
        return self._call("GET", "/api/briefs", params=_present(guild=guild, skill=skill))

    def brief(self, brief_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/briefs/{brief_id}")

    def work(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/api/work/{action}", json=fields)

    def identity(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/api/identity/{action}", json=fields)

    def identity_state(self, did: str | None) -> dict[str, Any]:
        return self._call("GET", "/api/identity" + (f"/{did}" if did else ""))

    def credentials(self) -> dict[str, Any]:
        return self._call("GET", "/api/credentials")

    def delegates(self) -> dict[str, Any]:
        return self._call("GET", "/api/delegates")

    def delegate(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/api/delegates/{action}", json=fields)

    def proposals(self, brief: str | None) -> dict[str, Any]:
        return self._call("GET", "/api/proposals", params=_present(brief=brief))

    def thread(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/api/thread/{action}", json=fields)

    def threads(self, on: str | None) -> dict[str, Any]:
        return self._call("GET", "/api/threads", params=_present(on=on))

    def show_thread(self, thread_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/threads/{thread_id}")

    def contracts(self, state: str | None) -> dict[str, Any]:
        return self._call("GET", "/api/contracts", params=_present(state=state))

    def contract(self, contract_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/contracts/{contract_id}")

    def inbox(self) -> dict[str, Any]:
        return self._call("GET", "/api/notifications")

    def disputes(self) -> dict[str, Any]:
        return self._call("GET", "/api/disputes")

    def dispute(self, dispute_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/disputes/{dispute_id}")

    def indexers(self) -> dict[str, Any]:
        return self._call("GET", "/api/indexers")

    def add_indexer(self, url: str, allow_private: bool = False) -> dict[str, Any]:
        return self._call(
            "POST", "/api/indexers", json={"url": url, "allow_private": allow_private}
        )

    def remove_indexer(self, url: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/indexers/{url}")

    def search(self, what: str, params: dict[str, str]) -> dict[str, Any]:
        return self._call("GET", f"/api/search/{what}", params=params)

    def follow(self, record: str, author: str, source: str | None) -> dict[str, Any]:
        body = {"record": record, "author": author, "source": source}
        return self._call("POST", "/api/search/follow", json=body)

    def close(self) -> None:
        self.client.close()


def _present(**params: str | None) -> dict[str, str]:
    return {key: value for key, value in params.items() if value}


def open_backend(datadir: DataDir, settings: Settings | None = None) -> Backend:
    """The running node's API if one holds the directory, else the directory itself."""
    if not datadir.has_identity():
        raise DataDirError(f"{datadir.path} holds no identity: run `guildnode init` first.")
    try:
        return DirectBackend(datadir, settings or Settings.from_env(data_dir=datadir.path))
    except DataDirLocked:
        running = datadir.running()
        if running is None or not isinstance(running.get("url"), str):
            raise DataDirError(
                f"{datadir.path} is locked by another process that announced no address."
            ) from None
        return RemoteBackend(running["url"], datadir.token())
