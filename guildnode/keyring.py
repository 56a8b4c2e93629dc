"""The node's keys over time (SPEC §14): the current key and the earlier ones it keeps,
switching to a new key after a rotation, signing with another key the owner holds (a paper
recovery key), and finishing a rotation a crash cut short. `node.keyring`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .protocol import Identity, VerifiedRecord, parse_json

if TYPE_CHECKING:
    from .node import Node


class Keyring:
    def __init__(self, node: Node) -> None:
        self.node = node
        self._held = [node.identity, *reversed(node.datadir.previous_identities())]
        self.on_rotate: list[Callable[[Identity], None]] = []

    def held(self) -> list[Identity]:
        """The node's keys: the current one, then the earlier ones, newest first (SPEC
        §14.6: what was sealed to an earlier key still opens)."""
        return list(self._held)

    def switch(self, new: Identity) -> None:
        """Sign with `new` from now on (SPEC §14.9); the data directory keeps the old key.
        Called between a `rotate` and the new key's `succeed`."""
        node = self.node
        node.datadir.replace_identity(new)
        node.identity = new
        self._held = [new, *(k for k in self._held if k.did != new.did)]
        node.forget_derived()
        for listener in self.on_rotate:
            listener(new)

    def publish_as(self, identity: Identity, kind: str, body: dict[str, Any]) -> VerifiedRecord:
        """Sign a record with another key the owner holds (a paper recovery key, SPEC §14.3)
        and append it to that key's chain here, as any held chain."""
        return self.node.publish(kind, body, signer=identity)

    def finish_rotation(self) -> None:
        """A rotation interrupted after the key file changed (SPEC §14.9): the new key has no
        record yet and the last earlier key's last record rotates to it. Publish the
        `succeed` now, so the rotation takes effect."""
        node = self.node
        earlier = node.datadir.previous_identities()
        if node.store.head(node.did) is not None or not earlier:
            return
        last = node.store.latest(earlier[-1].did, "rotate")
        head = node.store.head(earlier[-1].did)
        if last is None or head is None:
            return
        rotation = parse_json(last)
        if head.seq == rotation["seq"] and rotation["body"]["successor"] == node.did:
            node.publish("succeed", {"predecessor": earlier[-1].did, "via": head.id})
