"""Plain JSON views of the node's objects, shared by the local API and the CLI."""

from __future__ import annotations

from typing import Any

from .node import Node
from .protocol import VerifiedRecord


def published(record: VerifiedRecord) -> dict[str, Any]:
    """The answer to a publishing call: the new record and its id."""
    return {"id": record.id, "record": record.to_wire()}


def whoami(node: Node) -> dict[str, Any]:
    return {
        "did": node.did,
        "name": node.name,
        "url": node.public_url,
        "records": node.store.count(),
    }


def peer_view(row: dict[str, Any]) -> dict[str, Any]:
    """A peer as the CLI and UI show it."""
    return {key: row[key] for key in (
        "did", "url", "source", "added_at", "last_sync_at", "last_success_at", "last_error",
        "failures", "records_received", "rejections",
    )}  # fmt: skip
