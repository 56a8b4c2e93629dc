"""One run of the demo: a directory (kept with `--dir`, else temporary), the network
started, the story played and reported, then — unless `--once` — the nodes left up until
Ctrl-C. The nodes are stopped however the run ends."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click

from .founding import play
from .member import DemoError
from .network import Network
from .summary import Story, login_links, show_network, trust_table, write_summary


def run_demo(base: Path | None, freelancers: int, once: bool, echo: Callable[[str], None]) -> bool:
    """Start the network, play the story, then wait for Ctrl-C (or exit with `once`)."""
    if freelancers < 4:
        raise click.BadParameter("the story needs at least 4 freelancers", param_hint="--nodes")
    with contextlib.ExitStack() as stack:
        kept = base is not None
        if base is None:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="guildnode-demo-")))
        network = Network(base, freelancers)
        story = Story()
        echo(f"Starting {len(network.members)} Guildnode nodes in {base} …")
        try:
            network.start()

            async def main() -> tuple[list[str], list[str]]:
                try:
                    await play(network, story)
                    return await trust_table(network), await login_links(network)
                finally:
                    await network.close_clients()

            table, links = asyncio.run(main())
            show_network(network, table, links, echo, lasting=kept or not once)
            if once:
                write_summary(story, network, base, kept, echo)
                return story.ok
            echo("\nThe network stays up. Press Ctrl-C to stop every node.")
            with contextlib.suppress(KeyboardInterrupt):
                while all(m.process and m.process.poll() is None for m in network.members):
                    time.sleep(0.5)
            return story.ok
        except DemoError as exc:
            echo(click.style(f"\nThe demo stopped: {exc}", fg="red"))
            return False
        finally:
            echo("Stopping the nodes …")
            network.stop()
