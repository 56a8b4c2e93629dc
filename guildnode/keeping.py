"""Keeping one's identity (SPEC §14): rotate the node's key, name recovery keys, mark a key
compromised, vote to recover another member's key, and continue a member on a fresh key.

The use cases behind `guildnode identity …`, `POST /api/identity/{action}` and the UI. Each
refuses, with a stable code, what would have no effect (SPEC §14.9); what it publishes is
checked again by nobody at ingest — validity is not effect.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, validate_call

from . import actions
from .errors import NodeError
from .identities import Identities
from .node import Node
from .protocol import Identity, parse_json
from .views import published


def state(node: Node) -> dict[str, Any]:
    """The owner's member as this node derives it: keys oldest first, the current key, each
    key's cut, the recovery set in force, and whether this node signs as the current key."""
    ids = node.identities()
    keys = ids.keys(node.did)
    recovery = _recovery_in_force(node, ids, node.did)
    return {
        "did": node.did,
        "member": ids.member(node.did),
        "keys": [{"did": key, "cut": ids.cut(key)} for key in keys],
        "recovery": recovery,
        "signing_key_is_current": ids.member(node.did) == node.did,
    }


def show(node: Node, did: str) -> dict[str, Any]:
    """Any identity's member: its keys and their cuts (SPEC §14)."""
    node.check_did(did)
    ids = node.identities()
    return {
        "did": did,
        "member": ids.member(did),
        "keys": [{"did": key, "cut": ids.cut(key)} for key in ids.keys(did)],
    }


def rotate(node: Node, reason: str | None = None) -> dict[str, Any]:
    """Rotate the node's key: the `rotate` signed by the old key, then the new key's
    `succeed` citing it as its first record (SPEC §6.14, §6.15). The node signs with the new
    key from then on and keeps the old one to open what was sealed to it."""
    ids = node.identities()
    if node.did in ids.successors:
        raise NodeError("already_rotated", "This key already has a successor.")
    if ids.member(node.did) != node.did:
        raise NodeError("already_rotated", "This key's member continues on another key.")
    new = Identity.generate()
    body: dict[str, Any] = {"successor": new.did}
    if reason:
        body["reason"] = reason
    old = node.did
    profile = node.profile(old)
    rotation = node.publish("rotate", body)
    node.keyring.switch(new)
    succeed = node.publish("succeed", {"predecessor": old, "via": rotation.id})
    if profile is not None:  # the new key's chain starts without one: carry it over
        node.publish("profile", profile)
    return {
        "old": old,
        "new": new.did,
        "rotate": published(rotation),
        "succeed": published(succeed),
    }


def set_recovery(
    node: Node, keys: list[str] | None = None, threshold: int = 1, paper: bool = False
) -> dict[str, Any]:
    """Name recovery keys and a threshold (SPEC §6.16). With `paper`, a new key is made and
    added; its seed is in the answer, once, for the owner to print and keep offline."""
    keys = keys or []
    for did in keys:
        node.check_did(did)
    paper_key = Identity.generate() if paper else None
    named = list(dict.fromkeys([*keys, *([paper_key.did] if paper_key else [])]))
    own = set(node.identities().keys(node.did))
    if not named:
        raise NodeError("invalid_recovery", "Name at least one recovery key (or --paper).")
    if own & set(named):
        raise NodeError("invalid_recovery", "A recovery key must not be one of your own keys.")
    if not 1 <= threshold <= len(named) or len(named) > 10:
        raise NodeError(
            "invalid_recovery",
            f"The threshold must be between 1 and the {len(named)} keys named (at most 10).",
        )
    record = node.publish("recovery", {"keys": named, "threshold": threshold})
    answer = published(record)
    if paper_key is not None:
        seed = base64.urlsafe_b64encode(paper_key.secret_seed()).decode("ascii")
        answer["paper_key"] = {"did": paper_key.did, "seed": seed}
    return answer


def compromise(
    node: Node,
    key: str,
    from_seq: int,
    successor: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Mark one of the owner's keys compromised from `from_seq`; or, for another member's key
    and with `successor`, vote as one of its recovery keys to recover it (SPEC §6.17, §14.3)."""
    node.check_did(key)
    ids = node.identities()
    mine = set(ids.keys(node.did))
    body: dict[str, Any] = {"key": key, "from_seq": from_seq}
    if reason:
        body["reason"] = reason
    if key in mine:
        if successor is not None:
            raise NodeError(
                "invalid_argument", "A mark of your own key names no successor: use rotate."
            )
        return published(node.publish("compromise", body))
    recovery = _recovery_in_force(node, ids, key, before=from_seq)
    if recovery is None or not mine & set(recovery["keys"]):
        raise NodeError(
            "not_recovery_key",
            f"None of your keys is a recovery key of {key} before its record {from_seq}.",
        )
    if successor is not None:
        node.check_did(successor)
        body["successor"] = successor
    return published(node.publish("compromise", body))


def succeed(node: Node, predecessor: str, via: str) -> dict[str, Any]:
    """Continue `predecessor`'s member on this node's fresh key, citing the record that names
    this key: a `rotate`, or a recovery vote (SPEC §6.15)."""
    node.check_did(predecessor)
    _fresh(node)
    canonical = node.store.get(via)
    if canonical is None:
        raise NodeError("not_found", f"No record {via} is held here.", 404)
    cited = parse_json(canonical)
    names = cited["body"].get("successor") == node.did and (
        (cited["kind"] == "rotate" and cited["author"] == predecessor)
        or (cited["kind"] == "compromise" and cited["body"].get("key") == predecessor)
    )
    if not names:
        raise NodeError(
            "not_named_successor",
            f"Record {via} is not a rotate or recovery vote naming this key for {predecessor}.",
        )
    return published(node.publish("succeed", {"predecessor": predecessor, "via": via}))


def recover_with_paper(node: Node, seed: str, key: str, from_seq: int) -> dict[str, Any]:
    """On a fresh node: the paper key votes to recover `key` from `from_seq` to this node's
    key, and this key's first record continues the member (SPEC §14.3)."""
    node.check_did(key)
    _fresh(node)
    try:
        paper = Identity(base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4)))
    except (ValueError, binascii.Error):
        raise NodeError(
            "invalid_argument", "The paper key is not a 32-byte base64url seed."
        ) from None
    # A fresh node may hold nothing of the old chain yet: its `succeed` brings the old key
    # into scope (SPEC §14.8) and the next sync fetches it. What it does hold is checked.
    checked = node.store.head(key) is not None
    if checked:
        recovery = _recovery_in_force(node, node.identities(), key, before=from_seq)
        if recovery is None or paper.did not in recovery["keys"]:
            raise NodeError(
                "not_recovery_key",
                f"That paper key is not a recovery key of {key} before its record {from_seq}.",
            )
    vote = node.keyring.publish_as(
        paper, "compromise", {"key": key, "from_seq": from_seq, "successor": node.did}
    )
    claim = node.publish("succeed", {"predecessor": key, "via": vote.id})
    return {"vote": published(vote), "succeed": published(claim), "checked": checked}


def _fresh(node: Node) -> None:
    if node.store.head(node.did) is not None:
        raise NodeError(
            "key_already_used",
            "This node's key has records already; only a fresh key can continue a member "
            "(run `guildnode init` in a new data directory).",
        )


def _recovery_in_force(
    node: Node, ids: Identities, key: str, before: int | None = None
) -> dict[str, Any] | None:
    """SPEC §14.3 step 1, as held here: the last `recovery` of `key` below `before` (or with
    effect), else that of its predecessors."""
    chain: list[str] = list(ids.keys(key))
    chain = chain[: chain.index(key) + 1]
    limit: Callable[[str], int | None] = lambda k: ids.cut(k)  # noqa: E731
    for index, k in enumerate(reversed(chain)):
        last = before - 1 if index == 0 and before is not None else limit(k)
        found = None
        for rid, canonical in node.store.records(author=k, kind="recovery"):
            record = parse_json(canonical)
            if last is None or record["seq"] <= last:
                found = {"id": rid, **record["body"], "author": k}
        if found is not None:
            return found
    return None


_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)

# SPEC §14.9: POST /api/identity/{action}, `guildnode identity …`.
ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    name: validate_call(config=_STRICT)(fn)
    for name, fn in (
        ("rotate", rotate),
        ("recovery", set_recovery),
        ("compromise", compromise),
        ("succeed", succeed),
        ("recover", recover_with_paper),
    )
}


def run(node: Node, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Run the identity action `name` with `fields`; a bad name or field is a `NodeError`."""
    return actions.invoke(ACTIONS, node, name, fields)
