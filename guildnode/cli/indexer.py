"""The `indexer` commands: `indexer run` serves an indexer node (SPEC §13) on PostgreSQL.

The member side (`indexer add`, `list`, `remove`: the indexers a member node asks) adds its
commands to this group from its own module.
"""

from __future__ import annotations

from pathlib import Path

import click
import platformdirs

from ..datadir import DataDir
from ..indexer import DEFAULT_PORT
from . import main
from .context import fail


@main.group()
def indexer() -> None:
    """Indexers: run one (`indexer run`), or name those your node asks when you search."""


@indexer.command(name="run")
@click.option(
    "--database",
    envvar="GUILDNODE_INDEXER_DATABASE",
    required=True,
    help="The PostgreSQL database, as postgresql://user:password@host/dbname "
    "(default: $GUILDNODE_INDEXER_DATABASE).",
)
@click.option("--peer", "peers", multiple=True, help="A node to follow (repeatable).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port.")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GUILDNODE_INDEXER_DATA",
    help="The indexer's own data directory: its identity (default: "
    "$GUILDNODE_INDEXER_DATA, else guildnode-indexer in the user data directory).",
)
@click.option("--public-url", help="The URL clients reach the indexer at, when it differs.")
@click.option(
    "--interval",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds between rounds with every peer.",
)
@click.option(
    "--allow-private-peers",
    is_flag=True,
    help="Follow private and loopback addresses, given or learnt (local networks, tests).",
)
def indexer_run(
    database: str,
    peers: tuple[str, ...],
    host: str,
    port: int,
    data_dir: Path | None,
    public_url: str | None,
    interval: float,
    allow_private_peers: bool,
) -> None:
    """Serve an indexer: follow the public feeds of the peers given and learnt, keep their
    public records in PostgreSQL, and answer /search/briefs, /search/people, /search/guilds."""
    import psycopg
    import uvicorn

    from ..indexer.app import IndexerSettings, create_indexer_app

    settings = IndexerSettings(
        database=database,
        data_dir=data_dir or Path(platformdirs.user_data_dir("guildnode-indexer")),
        peers=peers,
        host=host,
        port=port,
        public_url=public_url,
        interval=interval if interval > 0 else 30.0,
        allow_private_peers=allow_private_peers,
    )
    datadir = DataDir(settings.data_dir)
    if datadir.is_locked():
        fail(f"{datadir.path} is already served by another process.")
    try:
        psycopg.connect(database, connect_timeout=10).close()
    except psycopg.Error as exc:
        fail(f"cannot open the database: {str(exc).strip().splitlines()[0]}")
    if not datadir.has_identity():
        datadir.acquire()
        identity = datadir.create()
        datadir.release()
        click.echo(f"Created a new indexer identity: {identity.did}")
    click.echo(f"Guildnode indexer {datadir.load_identity().did}")
    click.echo(f"Listening on http://{host}:{port} (clients reach it at {settings.url})")
    uvicorn.run(create_indexer_app(settings), host=host, port=port, log_level="warning")
