"""Gig briefs: post (organisations), list, show."""

from __future__ import annotations

from typing import Any

import click

from ..money import format_money, major
from . import main
from .context import Context, backend, emit, json_option, pass_context


@main.group()
def brief() -> None:
    """Gig briefs: post (organisations), list, show."""


@brief.command(name="post")
@click.option("--guild", "guilds", multiple=True, required=True, help="A guild id (repeatable).")
@click.option("--title", required=True, help="What the gig is, in a line.")
@click.option("--description", required=True, help="The work, in a few paragraphs.")
@click.option(
    "--criterion",
    "criteria",
    multiple=True,
    required=True,
    help="An acceptance criterion (repeatable).",
)
@click.option("--budget-min", type=click.IntRange(0), required=True, help="In minor units (cents).")
@click.option("--budget-max", type=click.IntRange(0), required=True, help="In minor units (cents).")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option(
    "--engagement", type=click.Choice(["fixed", "hourly"]), default="fixed", show_default=True,
    help="A fixed price, or by the hour.",
)  # fmt: skip
@click.option("--skill", "skills", multiple=True, help="A skill the gig needs (repeatable).")
@click.option("--deadline-days", type=click.IntRange(1, 365), help="Work due in this many days.")
@click.option(
    "--expires-days",
    type=int,
    default=30,
    show_default=True,
    help="The brief closes after (max 30).",
)
@click.option(
    "--for",
    "organisation",
    metavar="ORG",
    help="Post as a delegate of the organisation ORG (its DID), which delegated `briefs`.",
)
@json_option
@pass_context
def brief_post(
    ctx: Context,
    guilds: tuple[str, ...],
    title: str,
    description: str,
    criteria: tuple[str, ...],
    budget_min: int,
    budget_max: int,
    currency: str,
    engagement: str,
    skills: tuple[str, ...],
    deadline_days: int | None,
    expires_days: int,
    organisation: str | None,
    as_json: bool,
) -> None:
    """Post a brief to one or more guilds (their members see it once one vouches for you)."""
    with backend(ctx) as node:
        result = node.post_brief(
            guilds=list(guilds),
            title=title,
            description=description,
            acceptance_criteria=list(criteria),
            budget_min=budget_min,
            budget_max=budget_max,
            currency=currency,
            engagement=engagement,
            skills=list(skills),
            deadline_days=deadline_days,
            expires_days=expires_days,
            **({"organisation": organisation} if organisation else {}),
        )
    emit(result, as_json, lambda r: f"Posted brief {r['id']}")


def _brief_line(b: dict[str, Any]) -> str:
    budget = b["budget"]
    low, high = (
        major(budget["min"], budget["currency"]),
        format_money(budget["max"], budget["currency"]),
    )
    match = f"  [matches: {', '.join(b['matches_my_skills'])}]" if b["matches_my_skills"] else ""
    return (
        f"{b['id'][:12]}  {b['title']}  — {b['organisation']}, {low}–{high} "
        f"{b['engagement']}{match}"
    )


@brief.command(name="list")
@click.option("--guild", help="Only briefs posted to this guild.")
@click.option("--skill", help="Only briefs needing this skill.")
@json_option
@pass_context
def brief_list(ctx: Context, guild: str | None, skill: str | None, as_json: bool) -> None:
    """Open briefs, those matching your skills first."""
    with backend(ctx) as node:
        data = node.briefs(guild, skill)
    emit(
        data,
        as_json,
        lambda d: "\n".join(_brief_line(b) for b in d["briefs"]) or "No open briefs.",
    )


def _brief_text(b: dict[str, Any]) -> str:
    lines = [_brief_line(b), "", b["description"], "", "Acceptance criteria:"]
    lines += [f"  - {c}" for c in b["acceptance_criteria"]]
    if b.get("skills"):
        lines.append(f"Skills: {', '.join(b['skills'])}")
    lines.append("Guilds: " + ", ".join(g["name"] or g["id"][:12] for g in b["guilds"]))
    if b["problem"]:
        lines.append(f"(no effect: {b['problem']})")
    elif not b["open"]:
        lines.append("(closed)")
    return "\n".join(lines)


@brief.command(name="show")
@click.argument("brief_id")
@json_option
@pass_context
def brief_show(ctx: Context, brief_id: str, as_json: bool) -> None:
    """One brief, in full."""
    with backend(ctx) as node:
        data = node.brief(brief_id)
    emit(data, as_json, _brief_text)
