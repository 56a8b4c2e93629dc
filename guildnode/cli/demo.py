"""The demo command: a small guild network on this machine (see `guildnode.demo`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import main


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the nodes' data here (default: a temporary folder, removed afterwards).",
)
@click.option("--once", is_flag=True, help="Play the story, print a summary and exit.")
@click.option(
    "--nodes",
    type=click.IntRange(4, 30),
    default=5,
    show_default=True,
    help="How many freelancers (besides the organisation).",
)
def demo(directory: Path | None, once: bool, nodes: int) -> None:
    """A small guild network on this machine that tells the whole story."""
    from ..demo import run_demo

    ok = run_demo(directory, nodes, once, click.echo)
    if not ok:
        sys.exit(1)
