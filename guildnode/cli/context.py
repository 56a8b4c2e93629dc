"""What every command shares: the data directory it works on, the backend it opens, and how
answers (text or JSON) and errors reach the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..backend import Backend, BackendError, open_backend
from ..datadir import DataDir, DataDirError
from ..settings import default_data_dir


class Context:
    def __init__(self, data: Path | None) -> None:
        self.data_dir = data or default_data_dir()

    @property
    def datadir(self) -> DataDir:
        return DataDir(self.data_dir)


pass_context = click.make_pass_decorator(Context)


def complain(message: str) -> None:
    """An error line on stderr. Errors may quote what others wrote (a key of a file, a
    peer's answer), so they lose control characters as `emit`'s text does."""
    click.echo(f"error: {message}".translate(_CONTROL), err=True)


def fail(message: str) -> None:
    complain(message)
    sys.exit(1)


@contextmanager
def backend(ctx: Context) -> Iterator[Backend]:
    try:
        handle = open_backend(ctx.datadir)
    except DataDirError as exc:
        fail(str(exc))
    try:
        yield handle
    except BackendError as exc:
        fail(f"{exc.code}: {exc.detail}")
    finally:
        handle.close()


# Text others wrote (pitches, names, reasons) reaches the terminal: no control characters
# but newlines and tabs, so nobody can move the cursor or recolour the screen.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)])


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(text(data).translate(_CONTROL))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
