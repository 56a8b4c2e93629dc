"""The `guildnode` command line: a thin layer over the node (directly, or its local API).

`main` is the group; each module below adds its area's commands to it when imported.
"""

from __future__ import annotations

from pathlib import Path

import click

from .context import Context


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GUILDNODE_DATA",
    help="The node's data directory (default: $GUILDNODE_DATA, else the user data directory).",
)
@click.version_option(package_name="guildnode")
@click.pass_context
def main(click_ctx: click.Context, data: Path | None) -> None:
    """Guildnode: your own node in a decentralised guild network for gig workers."""
    click_ctx.obj = Context(data)


# Imported for their commands, which register themselves on `main`.
from . import (  # noqa: E402, F401
    backup,
    briefs,
    credentials,
    delegates,
    demo,
    disputes,
    guilds,
    identity,
    inbox,
    indexer,
    keeping,
    motions,  # after `guilds`: it adds `guild propose|vote|motions` to that group
    peers,
    search,  # after `indexer`: it adds `indexer add|list|remove` to that group
    threads,
    trust,
    work,
)
