"""Guild governance on the command line: `guild propose`, `guild vote`, `guild motions`."""

from __future__ import annotations

import time
from typing import Any

import click

from .context import Context, backend, emit, fail, json_option, pass_context
from .guilds import guild


@guild.command(name="propose")
@click.argument("guild_id")
@click.option("--name", help="Amend: the guild's new name.")
@click.option("--purpose", help="Amend: the guild's new purpose (its description).")
@click.option(
    "--vouches-required",
    type=click.IntRange(1, 20),
    help="Amend: the member vouches an applicant needs (at most the number of founders).",
)
@click.option("--listed", help="Amend: list the guild for indexers, with this description.")
@click.option("--listed-skill", "listed_skills", multiple=True, help="A skill its listing names.")
@click.option("--how-to-apply", help="With --listed: how to apply, in a few lines.")
@click.option("--unlist", is_flag=True, help="Amend: stop listing the guild.")
@click.option("--remove", "member", metavar="DID", help="Instead of amending: remove this member.")
@click.option("--reason", help="Why, in a few words (shown to the members).")
@json_option
@pass_context
def guild_propose(
    ctx: Context,
    guild_id: str,
    name: str | None,
    purpose: str | None,
    vouches_required: int | None,
    listed: str | None,
    listed_skills: tuple[str, ...],
    how_to_apply: str | None,
    unlist: bool,
    member: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Propose a motion to GUILD_ID's members: amend its charter, or --remove a member.

    The motion is your yes vote; it is adopted once more than half of the members (as they
    were when you proposed it) vote yes within 7 days (SPEC §12.5)."""
    changes: dict[str, Any] = {}
    for key, value in (
        ("name", name),
        ("purpose", purpose),
        ("vouches_required", vouches_required),
    ):
        if value is not None:
            changes[key] = value
    if listed:
        listing: dict[str, Any] = {"description": listed}
        if listed_skills:
            listing["skills"] = list(dict.fromkeys(listed_skills))
        if how_to_apply:
            listing["apply"] = how_to_apply
        changes["listing"] = listing
    if unlist:
        changes["unlist"] = "yes"
    if member is not None and changes:
        fail("invalid_argument: Propose either an amendment or a removal (--remove), not both.")
    fields: dict[str, Any] = {"reason": reason}
    if member is not None:
        fields |= {"action": "remove", "member": member}
    else:
        fields |= {"action": "amend", "changes": changes}
    with backend(ctx) as node:
        result = node.propose(guild_id, **fields)
    emit(result, as_json, lambda r: f"Proposed: motion {r['id']}")


@guild.command(name="vote")
@click.argument("motion_id")
@click.argument("choice", type=click.Choice(["yes", "no"]))
@json_option
@pass_context
def guild_vote(ctx: Context, motion_id: str, choice: str, as_json: bool) -> None:
    """Vote yes or no on MOTION_ID (once: your first vote is the one that counts)."""
    with backend(ctx) as node:
        result = node.vote(motion_id, choice)
    emit(result, as_json, lambda r: f"Voted {choice}: {r['id']}")


def _motions_text(data: dict[str, Any]) -> str:
    if not data["motions"]:
        return f"No motions in {data['name']}."
    lines = [f"Motions of {data['name']}:"]
    for m in data["motions"]:
        closes = time.strftime("%Y-%m-%d %H:%M", time.gmtime(m["closes_at"]))
        status = m["status"] if m["status"] != "no_effect" else f"no effect: {m['without_effect']}"
        lines.append(f"  {m['id']}  {m['summary']}")
        lines.append(
            f"    by {m['author_name']}; {status}; yes {len(m['yes'])}, no {len(m['no'])}, "
            f"needs {m['needed']} of {len(m['electorate'])}; closes {closes} UTC"
            + ("; you may vote" if m["you_may_vote"] else "")
        )
    return "\n".join(lines)


@guild.command(name="motions")
@click.argument("guild_id")
@json_option
@pass_context
def guild_motions(ctx: Context, guild_id: str, as_json: bool) -> None:
    """GUILD_ID's motions, newest first: what each changes, its votes, and where it stands."""
    with backend(ctx) as node:
        data = node.motions(guild_id)
    emit(data, as_json, _motions_text)
