"""The error the owner's use cases raise (node, market): a stable code and a sentence."""

from __future__ import annotations


class NodeError(Exception):
    """The owner asked for something the node refuses. `code` is stable, `detail` human."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
