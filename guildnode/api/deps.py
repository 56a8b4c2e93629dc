"""Dependencies shared by the routers."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from ..federation import Federation
from ..node import Node
from .errors import ApiError


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]


def get_federation(request: Request) -> Federation:
    federation: Federation = request.app.state.federation
    return federation


FederationDep = Annotated[Federation, Depends(get_federation)]


def require_owner(request: Request) -> None:
    """The local API acts in the owner's name: only the token from the data directory opens it."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected: str = request.app.state.owner_token
    if scheme.lower() != "bearer" or not token:
        raise ApiError("unauthorized", "This API needs the owner's token: Authorization: Bearer …")
    if not secrets.compare_digest(token.strip().encode(), expected.encode()):
        raise ApiError("unauthorized", "The token is not this node's owner token.")


OwnerDep = Depends(require_owner)
