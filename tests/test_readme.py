"""The README is part of the product: every CLI command is documented there and has help."""

from __future__ import annotations

from pathlib import Path

import click

from guildnode.cli import main

README = (Path(__file__).parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(main, "guildnode")


def test_the_cli_has_commands() -> None:
    assert {path for path, _ in COMMANDS} >= {"guildnode init", "guildnode run", "guildnode check"}


def test_every_command_has_help_text_and_appears_in_the_readme() -> None:
    for path, command in COMMANDS:
        assert (command.help or "").strip(), f"{path} has no help text"
        assert f"`{path}" in README, f"{path} is not in the README"


def test_the_readme_shows_the_two_commands() -> None:
    assert "uv run pytest" in README
    assert "uv run guildnode" in README
