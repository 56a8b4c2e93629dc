"""Search beyond your node: the indexers you name (indexer add, list, remove) and searching
through them (search briefs, people, guilds; search follow, to bring a found guild here)."""

from __future__ import annotations

from typing import Any

import click

from ..money import format_money
from . import main
from .context import Context, backend, emit, json_option, pass_context
from .indexer import indexer


def _indexers_text(data: dict[str, Any]) -> str:
    if not data["indexers"]:
        return "No indexer named yet: add one with `guildnode indexer add URL`."
    return "\n".join(f"{i['url']}  {i['did']}" for i in data["indexers"])


@indexer.command(name="add")
@click.argument("url")
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let this indexer be on a private or loopback address (one on your own machine).",
)
@json_option
@pass_context
def indexer_add(ctx: Context, url: str, allow_private: bool, as_json: bool) -> None:
    """Name the indexer at URL for your searches (it must answer one)."""
    with backend(ctx) as node:
        result = node.add_indexer(url, allow_private)
    emit(result, as_json, lambda i: f"Added indexer {i['did']} at {i['url']}")


@indexer.command(name="list")
@json_option
@pass_context
def indexer_list(ctx: Context, as_json: bool) -> None:
    """List the indexers you named."""
    with backend(ctx) as node:
        data = node.indexers()
    emit(data, as_json, _indexers_text)


@indexer.command(name="remove")
@click.argument("url")
@pass_context
def indexer_remove(ctx: Context, url: str) -> None:
    """Forget the indexer at URL."""
    with backend(ctx) as node:
        node.remove_indexer(url)
    click.echo(f"Removed {url}")


@main.group()
def search() -> None:
    """Search briefs, people and guilds through the indexers you named; every result is
    verified on your node, and what an indexer altered is dropped and reported."""


def _line(result: dict[str, Any]) -> str:
    body, kind = result["record"]["body"], result["kind"]
    if kind == "brief":
        budget = body["budget"]
        low = format_money(budget["min"], budget["currency"])
        high = format_money(budget["max"], budget["currency"])
        skills = f" [{', '.join(body.get('skills', []))}]" if body.get("skills") else ""
        return f"{body['title']} — {low} to {high}{skills}\n  brief {result['id']}"
    if kind == "profile":
        skills = f" [{', '.join(body.get('skills', []))}]" if body.get("skills") else ""
        nodes = "".join(f"\n  node: {url}" for url in body.get("endpoints", []))
        return f"{body['name']} ({body['kind']}){skills}\n  {result['author']}{nodes}"
    listing = body.get("listing", {})
    text = f"{body['name']}: {listing.get('description', body['purpose'])}"
    if listing.get("apply"):
        text += f"\n  how to apply: {listing['apply']}"
    return f"{text}\n  guild {result['id']} founded by {result['author']}"


def _search_text(data: dict[str, Any]) -> str:
    lines = []
    for result in data["results"]:
        lines.append(_line(result))
        lines.append(f"  verified, from {', '.join(result['indexers'])}")
    if not data["results"]:
        lines.append("Nothing found.")
    for answer in data["indexers"]:
        if answer["error"]:
            error = answer["error"]
            lines.append(f"{answer['url']}: failed: {error['code']}: {error['detail']}")
        else:
            age = answer["age_seconds"]
            lines.append(
                f"{answer['url']}: {answer['kept']} of {answer['returned']} results kept,"
                f" as of {answer['as_of']} ({age} s ago)"
            )
    for dropped in data["dropped"]:
        lines.append(
            f"dropped from {dropped['indexer']}: {dropped['id'] or 'a result'}: "
            f"{dropped['code']}: {dropped['detail']}"
        )
    return "\n".join(lines)


def _run(ctx: Context, what: str, params: dict[str, Any], as_json: bool) -> None:
    given = {k: str(v) for k, v in params.items() if v not in (None, "")}
    with backend(ctx) as node:
        data = node.search(what, given)
    emit(data, as_json, _search_text)


words = click.argument("query", nargs=-1)
skill_option = click.option("--skill", help="Only those naming this skill.")
limit_option = click.option(
    "--limit", type=click.IntRange(1, 100), default=20, show_default=True,
    help="At most this many results from each indexer.",
)  # fmt: skip


@search.command(name="briefs")
@words
@skill_option
@click.option("--currency", help="Only budgets in this ISO 4217 currency.")
@click.option("--min-budget", type=click.IntRange(0), help="Budgets reaching this (minor units).")
@click.option("--max-budget", type=click.IntRange(0), help="Budgets from at most this.")
@click.option("--guild", help="Only briefs posted to this guild id.")
@limit_option
@json_option
@pass_context
def search_briefs(
    ctx: Context,
    query: tuple[str, ...],
    skill: str | None,
    currency: str | None,
    min_budget: int | None,
    max_budget: int | None,
    guild: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Open briefs of any indexed guild matching QUERY and the filters."""
    filters = {"skill": skill, "currency": currency, "min_budget": min_budget,
               "max_budget": max_budget, "guild": guild, "limit": limit}  # fmt: skip
    _run(ctx, "briefs", {"q": " ".join(query), **filters}, as_json)


@search.command(name="people")
@words
@skill_option
@limit_option
@json_option
@pass_context
def search_people(
    ctx: Context, query: tuple[str, ...], skill: str | None, limit: int, as_json: bool
) -> None:
    """People and organisations whose profiles match QUERY."""
    _run(ctx, "people", {"q": " ".join(query), "skill": skill, "limit": limit}, as_json)


@search.command(name="guilds")
@words
@skill_option
@limit_option
@json_option
@pass_context
def search_guilds(
    ctx: Context, query: tuple[str, ...], skill: str | None, limit: int, as_json: bool
) -> None:
    """Listed guilds matching QUERY: what they do and how to apply."""
    _run(ctx, "guilds", {"q": " ".join(query), "skill": skill, "limit": limit}, as_json)


@search.command(name="follow")
@click.argument("record_id")
@click.option("--author", required=True, help="The DID that signed it (founder, organisation).")
@click.option(
    "--from", "source", help="A node serving the founder's feed (default: your indexers)."
)
@json_option
@pass_context
def search_follow(
    ctx: Context, record_id: str, author: str, source: str | None, as_json: bool
) -> None:
    """Bring a found guild or brief here: fetch its author's feed (verified like any other)
    and add their node as a peer; then `guild apply GUILD_ID` or `propose BRIEF_ID`."""
    with backend(ctx) as node:
        data = node.follow(record_id, author, source)
    peer = data["peer"]
    emit(
        data,
        as_json,
        lambda d: (
            f"Fetched guild {d['guild']} from {d['from']}"
            + (f"; peer {peer['url']} added" if peer else "; no node of the founder answered")
        ),
    )
