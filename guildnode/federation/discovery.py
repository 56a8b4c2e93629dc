"""Which peers the node knows: added by hand (checked against the peer's `/.well-known`),
or learnt from the `endpoints` of in-scope profiles, a few after each clean round."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from ..addresses import is_private_host
from ..peers import PeerError, normalise_url
from ..protocol import ProtocolError, public_key_from_did
from .base import FederationBase

log = logging.getLogger("guildnode.federation")

DISCOVERIES_PER_ROUND = 5


class DiscoveryMixin(FederationBase):
    """Adding, listing and removing peers, and discovering them from profiles."""

    _failed_discoveries: dict[str, int]  # endpoint → when it may be tried again

    async def _check_url(self, url: str, source: str) -> str:
        url = normalise_url(url)
        host = httpx.URL(url).host
        # The owner may add any address by hand; learnt endpoints must be public (DESIGN).
        # (Name resolution blocks, so it runs off the event loop.)
        if (
            source != "manual"
            and not self.settings.allow_private_peers
            and await asyncio.to_thread(is_private_host, host)
        ):
            raise PeerError(
                "private_address",
                f"{url} is a private or loopback address; allow_private_peers is off.",
            )
        return url

    async def add_peer(
        self,
        url: str,
        *,
        source: str = "manual",
        expect: str | None = None,
        allow_private: bool = False,
    ) -> dict[str, Any]:
        """Ask `url` who it is and remember it as a peer. With `expect`, the node there must
        name that DID (peers learnt from a profile must be the profile's author). Only with
        `allow_private` (the owner's `--allow-private`) may it sit on a private address."""
        url = await self._check_url(url, source)
        if allow_private:
            self.client.allow_private_origin(url)
        info = await self.client.well_known(url)
        did = info["did"]
        try:
            public_key_from_did(did)
        except ProtocolError as exc:
            raise PeerError("bad_response", f"{url} names an invalid DID: {exc.detail}") from None
        if expect is not None and did != expect:
            raise PeerError("identity_mismatch", f"{url} is {did}, not {expect}.")
        if did == self.node.did:
            raise PeerError("identity_mismatch", f"{url} is this node itself.")
        self.node.store.add_peer(did, url, source, self.node.now(), allow_private)
        return next(p for p in self.node.store.peers() if p["did"] == did)

    def remove_peer(self, did_or_url: str) -> bool:
        return self.node.store.remove_peer(did_or_url.rstrip("/"))

    def peers(self) -> list[dict[str, Any]]:
        return self.node.store.peers()

    async def _discover_peers(self) -> None:
        """Learn peers from the `endpoints` of in-scope profiles (a few per round)."""
        known = {p["did"] for p in self.node.store.peers()} | {self.node.did}
        now = self.node.now()
        tried = 0
        for did in sorted(self.node.scope().core - known):
            if tried >= DISCOVERIES_PER_ROUND:
                return
            profile = self.node.profile(did)
            for endpoint in (profile or {}).get("endpoints", [])[:2]:
                if self._failed_discoveries.get(endpoint, 0) > now:
                    continue
                tried += 1
                try:
                    await self.add_peer(endpoint, source="profile", expect=did)
                    break
                except PeerError as exc:
                    log.info("peer %s from %s's profile refused: %s", endpoint, did, exc)
                    self._failed_discoveries[endpoint] = now + 3600
