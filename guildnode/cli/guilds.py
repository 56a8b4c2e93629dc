"""Guilds: found, apply, leave, show, list."""

from __future__ import annotations

from typing import Any

import click

from . import main
from .context import Context, backend, emit, json_option, pass_context


@main.group()
def guild() -> None:
    """Guilds: found, apply, leave, show, list (and propose, vote, motions: `motions`)."""


@guild.command(name="found")
@click.argument("name")
@click.option("--purpose", required=True, help="What the guild is for.")
@click.option(
    "--vouches-required",
    type=click.IntRange(1, 20),
    default=2,
    show_default=True,
    help="Member vouches an applicant needs (at most the number of founders).",
)
@click.option("--cofounder", "cofounders", multiple=True, help="A cofounder's DID (repeatable).")
@click.option("--skill", "skills", multiple=True, help="A skill the guild is about (repeatable).")
@click.option(
    "--cooling-days",
    type=click.IntRange(0, 365),
    default=7,
    show_default=True,
    help="Days a new member waits before its vouches admit others.",
)
@click.option("--listed", "listed", help="List the guild for indexers, with this description.")
@click.option("--listed-skill", "listed_skills", multiple=True, help="A skill its listing names.")
@click.option("--how-to-apply", help="For a listed guild: how to apply, in a few lines.")
@json_option
@pass_context
def guild_found(
    ctx: Context,
    name: str,
    purpose: str,
    vouches_required: int,
    cofounders: tuple[str, ...],
    skills: tuple[str, ...],
    cooling_days: int,
    listed: str | None,
    listed_skills: tuple[str, ...],
    how_to_apply: str | None,
    as_json: bool,
) -> None:
    """Found a guild named NAME, with you (and any cofounders) as founders; with --listed,
    indexers return it to searches (`guildnode search guilds`)."""
    listing = None
    if listed:
        listing = {"description": listed, "skills": list(listed_skills), "apply": how_to_apply}
    with backend(ctx) as node:
        result = node.found_guild(
            name=name,
            purpose=purpose,
            vouches_required=vouches_required,
            cofounders=list(cofounders),
            skills=list(skills),
            cooling_days=cooling_days,
            listing=listing,
        )
    emit(result, as_json, lambda r: f"Founded {name}: guild id {r['id']}")


@guild.command(name="apply")
@click.argument("guild_id")
@click.option("--note", help="A word to the members.")
@json_option
@pass_context
def guild_apply(ctx: Context, guild_id: str, note: str | None, as_json: bool) -> None:
    """Apply to join GUILD_ID (members then vouch for you in guild:GUILD_ID)."""
    with backend(ctx) as node:
        result = node.apply_guild(guild_id, note)
    emit(result, as_json, lambda r: f"Applied: {r['id']}")


@guild.command(name="leave")
@click.argument("guild_id")
@click.option("--reason", help="Why you leave.")
@json_option
@pass_context
def guild_leave(ctx: Context, guild_id: str, reason: str | None, as_json: bool) -> None:
    """Leave GUILD_ID."""
    with backend(ctx) as node:
        result = node.leave_guild(guild_id, reason)
    emit(result, as_json, lambda r: f"Left: {r['id']}")


def _guild_text(g: dict[str, Any]) -> str:
    lines = [
        f"{g['name']}  ({g['id']})",
        f"  {g['purpose']}",
        f"  admission: {g['vouches_required']} member vouches in guild:{g['id'][:12]}…, "
        f"cooling {g['cooling_days']} days" + ("" if g["valid"] else "  [invalid charter]"),
        "  listed: " + (g["listing"]["description"] if g["listing"] else "no"),
        f"  members ({len(g['members'])}):",
    ]
    lines += [
        f"    {m['name']:<24} {m['did']}" + ("  founder" if m["founder"] else "")
        for m in g["members"]
    ]
    if g["applicants"]:
        lines.append(f"  applicants ({len(g['applicants'])}):")
        lines += [
            f"    {a['name']:<24} {a['did']}  vouches {a['had']} of {a['needed']}"
            for a in g["applicants"]
        ]
    return "\n".join(lines)


@guild.command(name="show")
@click.argument("guild_id")
@json_option
@pass_context
def guild_show(ctx: Context, guild_id: str, as_json: bool) -> None:
    """A guild's charter, members, and applicants with the vouches they have and need."""
    with backend(ctx) as node:
        data = node.guild(guild_id)
    emit(data, as_json, _guild_text)


@guild.command(name="list")
@json_option
@pass_context
def guild_list(ctx: Context, as_json: bool) -> None:
    """Guilds known to your node."""
    with backend(ctx) as node:
        data = node.guilds()
    emit(
        data,
        as_json,
        lambda d: (
            "\n".join(
                f"{g['id']}  {g['name']}  ({len(g['members'])} members"
                + (", you are one" if g["you_are_member"] else "")
                + ")"
                for g in d["guilds"]
            )
            or "No guilds known yet."
        ),
    )
