"""Timestamps on the wire: exactly `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds (SPEC §3.3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import ProtocolError

_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def parse_timestamp(text: object, field: str = "timestamp") -> int:
    """Seconds since the Unix epoch of a canonical timestamp.

    Raises `invalid_timestamp` when `text` is not a string of exactly that form, or names a
    time that does not exist (month 13, 30 February, second 60).
    """
    if not isinstance(text, str) or not _FORM.fullmatch(text):
        raise ProtocolError("invalid_timestamp", f"`{field}` must be exactly YYYY-MM-DDTHH:MM:SSZ.")
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as exc:
        raise ProtocolError("invalid_timestamp", f"`{field}` names no real time.") from exc
    return int(moment.timestamp())


def format_timestamp(epoch_seconds: int) -> str:
    """The canonical form of a Unix time in whole seconds."""
    t = datetime.fromtimestamp(epoch_seconds, UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
