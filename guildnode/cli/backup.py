"""Backups: export an identity (its key sealed by a passphrase) with every record, and import
it into an empty data directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from . import main
from .context import Context, fail, pass_context


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    """From --passphrase-file, else $GUILDNODE_PASSPHRASE, else a hidden prompt."""
    if passphrase_file is not None:
        return passphrase_file.read_text().rstrip("\n")
    from_env = os.environ.get("GUILDNODE_PASSPHRASE")
    if from_env:
        return from_env
    return str(click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm))


passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read the passphrase from this file (else $GUILDNODE_PASSPHRASE, else a prompt).",
)


@main.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@passphrase_option
@pass_context
def export_command(ctx: Context, file: Path, passphrase_file: Path | None) -> None:
    """Back up your identity (key sealed by a passphrase) and every record to FILE."""
    from ..archive import ArchiveError, export_archive
    from ..node import Node

    datadir = ctx.datadir
    if not datadir.has_identity():
        fail(f"{datadir.path} holds no identity to export.")
    if file.exists():
        fail(f"{file} exists; refusing to overwrite it.")
    passphrase = _passphrase(passphrase_file, confirm=True)
    node = Node(datadir)  # reading only: safe beside a running node
    try:
        archive = export_archive(node, passphrase)
    except ArchiveError as exc:
        fail(f"{exc.code}: {exc.detail}")
    finally:
        node.close()
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(archive, handle)
    click.echo(f"Exported {archive['did']} with {len(archive['records'])} records to {file}")


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@passphrase_option
@pass_context
def import_command(ctx: Context, file: Path, passphrase_file: Path | None) -> None:
    """Restore an exported identity and its records into an empty data directory."""
    from ..archive import ArchiveError, import_archive

    try:
        archive = json.loads(file.read_text())
    except ValueError:
        fail(f"damaged_archive: {file} is not JSON.")
    if not isinstance(archive, dict):
        fail(f"damaged_archive: {file} is not an archive.")
    passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        node = import_archive(ctx.data_dir, archive, passphrase)
    except ArchiveError as exc:
        fail(f"{exc.code}: {exc.detail}")
    try:
        count = node.store.count()
        did = node.did
    finally:
        node.close()
        node.datadir.release()
    click.echo(f"Restored {did} with {count} records into {ctx.data_dir}")
