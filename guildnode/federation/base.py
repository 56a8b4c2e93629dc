"""What every part of `Federation` shares: the node, its settings, the peer client, the page size.

The parts (`rounds`, `discovery`, `push`) are mixins over `FederationBase`; each declares the
state it uses, and `Federation.__init__` sets all of it.
"""

from __future__ import annotations

from ..node import Node
from ..peers import PeerClient
from ..settings import Settings

PAGE = 200


class FederationBase:
    """The attributes every part of `Federation` reads."""

    node: Node
    settings: Settings
    client: PeerClient
