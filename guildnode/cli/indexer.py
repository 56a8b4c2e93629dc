"""The `indexer` commands: `indexer run` serves an indexer node (SPEC §13) on PostgreSQL.

The member side (`indexer add`, `list`, `remove`: the indexers a member node asks) adds its
commands to this group from its own module.
"""

from __future__ import annotations

from . import main


@main.group()
def indexer() -> None:
    """Indexers: run one (`indexer run`), or name those your node asks when you search."""
