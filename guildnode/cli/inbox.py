"""`guildnode inbox`: what waits on the owner (the web UI's Notifications, as text)."""

from __future__ import annotations

from typing import Any

from . import main
from .context import Context, backend, emit, json_option, pass_context


def _inbox_text(data: dict[str, Any]) -> str:
    if not data["notices"]:
        return "Nothing waits on you."
    count = data["count"]
    lines = [f"{count} thing waits on you:" if count == 1 else f"{count} things wait on you:"]
    for notice in data["notices"]:
        lines.append(f"- {notice['title']}")
        lines.append(f"  {notice['action']}: {notice['link']} in the web UI (guildnode ui)")
    return "\n".join(lines)


@main.command()
@json_option
@pass_context
def inbox(ctx: Context, as_json: bool) -> None:
    """What waits on you: proposals, offers and counters to answer, milestones to approve,
    payments to confirm, feedback windows closing, guild applications to vouch on, unread
    messages, disputes to mediate or answer, motions to vote on."""
    with backend(ctx) as node:
        data = node.inbox()
    emit(data, as_json, _inbox_text)
