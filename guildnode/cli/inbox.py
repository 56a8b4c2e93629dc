"""`guildnode inbox`: what waits on the owner (the web UI's Notifications, as text)."""

from __future__ import annotations

from ..notices import inbox_text
from . import main
from .context import Context, backend, emit, json_option, pass_context


@main.command()
@json_option
@pass_context
def inbox(ctx: Context, as_json: bool) -> None:
    """What waits on you: proposals, offers and counters to answer, milestones to approve,
    payments to confirm, feedback windows closing, guild applications to vouch on, unread
    messages, disputes to mediate or answer, motions to vote on."""
    with backend(ctx) as node:
        data = node.inbox()
    emit(data, as_json, inbox_text)
