"""`guildnode export-credentials` and `guildnode verify-credentials`: the owner's reputation
as W3C Verifiable Credentials, and checking such a file offline (SPEC §18)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from .. import portable
from ..protocol.credentials import Report, verify_file
from ..protocol.dataintegrity import CredentialError
from . import main
from .context import Context, backend, complain, emit, fail, json_option, pass_context


def _summary_text(data: dict[str, Any]) -> str:
    return (
        f"Wrote {data['credentials']} credentials to {data['file']}: {data['vouches']} vouches, "
        f"{data['memberships']} guild memberships, {data['contracts']} completed contracts."
    )


@main.command(name="export-credentials")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the file here (default: print it).",
)
@json_option
@pass_context
def export_credentials(ctx: Context, out: Path | None, as_json: bool) -> None:
    """Export your vouches, guild memberships and completed contracts as W3C Verifiable
    Credentials (eddsa-jcs-2022), signed by your key, with the signed records as evidence."""
    with backend(ctx) as node:
        exported = node.credentials()
    if out is None:
        click.echo(json.dumps(exported, indent=2, ensure_ascii=False))
        return
    out.write_text(json.dumps(exported, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    emit({**portable.summary(exported), "file": str(out)}, as_json, _summary_text)


def _report_text(report: Report) -> str:
    lines = [f"holder: {report.holder}"]
    for item in report.credentials:
        if item.error is None:
            lines.append(f"  ok    {item.type} {item.id}")
        else:
            lines.append(f"  FAIL  {item.type} {item.id}: {item.error.code}: {item.error.detail}")
    lines.append("All credentials verify." if report.ok else "Some credentials do not verify.")
    return "\n".join(lines)


@main.command(name="verify-credentials")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def verify_credentials(file: Path, as_json: bool) -> None:
    """Check a credentials file offline: every proof, every embedded record's signature, and
    that each claim is what the records say. Exits 1 if anything fails."""
    try:
        report = verify_file(file.read_bytes(), now=int(time.time()))
    except CredentialError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "error": exc.as_dict()}, indent=2))
            sys.exit(1)
        fail(f"{exc.code}: {exc.detail}")
        return
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        emit(report, False, _report_text)
    if not report.ok:
        for item in report.credentials:
            if item.error is not None and not as_json:
                complain(f"{item.error.code}: {item.error.detail}")
        sys.exit(1)
