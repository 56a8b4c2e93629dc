"""Search queries (SPEC §13.3): checking their parameters, and asking PostgreSQL.

Every parameter is checked before any SQL runs; a query that fails a check is a
`bad_query` naming the parameter. Words go to PostgreSQL only as bound parameters of
`websearch_to_tsquery`, which reads any string as words (quotes, `or`, a leading `-`), so
no input is SQL and none fails the parse. Results are ranked by `ts_rank` over the weighted
`doc` columns (title or name first), newest first among equals, and come back as the
canonical bytes of the signed records, exactly as verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..api.errors import ApiError
from ..protocol.search import (
    BRIEF_ONLY,
    CURRENCY,
    MAX_LIMIT,
    MAX_WORDS,
    RECORD_ID,
    SKILL,
    Query,
)
from .schema import TEXT_SEARCH_CONFIG
from .store import IndexStore

# C0 controls and DEL: never words; NUL would not even reach PostgreSQL as text.
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_DIGITS = re.compile("[0-9]{1,16}")

PARAMETERS: dict[str, tuple[str, ...]] = {
    "briefs": ("q", "skill", *BRIEF_ONLY, "limit"),
    "people": ("q", "skill", "limit"),
    "guilds": ("q", "skill", "limit"),
}


def _bad(name: str, sentence: str) -> ApiError:
    return ApiError("bad_query", f"`{name}` {sentence}")


def _integer(name: str, raw: str) -> int:
    if not _DIGITS.fullmatch(raw):
        raise _bad(name, "must be a decimal integer of at most 16 ASCII digits.")
    return int(raw)


def parse_query(what: str, params: Sequence[tuple[str, str]]) -> Query:
    """Check the parameters of a search for `what`, given as (name, value) pairs in order."""
    allowed = PARAMETERS[what]
    seen: dict[str, str] = {}
    for name, value in params:
        if name not in allowed:
            raise ApiError(
                "bad_query",
                f"`{name[:40]}` is not a parameter of /search/{what} "
                f"(they are: {', '.join(allowed)}).",
            )
        if name in seen:
            raise _bad(name, "is given more than once.")
        seen[name] = value
    q = seen.get("q", "")
    if len(q) > MAX_WORDS:
        raise _bad("q", f"is {len(q)} characters long; at most {MAX_WORDS} are searched.")
    if _CONTROL.search(q.replace("\t", " ").replace("\n", " ").replace("\r", " ")):
        raise _bad("q", "holds a control character.")
    values: dict[str, Any] = {"q": re.sub(r"\s+", " ", q).strip()}
    checks: Mapping[str, tuple[re.Pattern[str], str]] = {
        "skill": (SKILL, "is not a skill (lower case: letters, digits and +#._-, ≤ 40)."),
        "currency": (CURRENCY, "is not a currency code (three capital letters)."),
        "guild": (RECORD_ID, "is not a guild charter's record id (64 lowercase hex)."),
    }
    for name, (pattern, sentence) in checks.items():
        if name in seen:
            if not pattern.fullmatch(seen[name]):
                raise _bad(name, sentence)
            values[name] = seen[name]
    for name in ("min_budget", "max_budget"):
        if name in seen:
            values[name] = _integer(name, seen[name])
    if "limit" in seen:
        limit = _integer("limit", seen["limit"])
        if not 1 <= limit <= MAX_LIMIT:
            raise _bad("limit", f"must be between 1 and {MAX_LIMIT}.")
        values["limit"] = limit
    return Query(what, **values)


_TABLES = {"briefs": "briefs", "people": "profiles", "guilds": "guilds"}


def sql_for(query: Query, now: int) -> tuple[str, list[Any]]:
    """The SQL of `query` and its parameters (every value bound, none spliced)."""
    table = _TABLES[query.what]
    where: list[str] = []
    params: list[Any] = [TEXT_SEARCH_CONFIG, query.q]
    if query.what == "briefs":
        where.append("t.created_at <= %s AND t.expires_at > %s")
        params += [now, now]
    if query.q:
        where.append("t.doc @@ w.query")
    if query.skill is not None:
        where.append("t.skills @> ARRAY[%s]::text[]")
        params.append(query.skill)
    if query.currency is not None:
        where.append("t.currency = %s")
        params.append(query.currency)
    if query.min_budget is not None:  # the brief's range meets [min_budget, max_budget]
        where.append("t.budget_max >= %s")
        params.append(query.min_budget)
    if query.max_budget is not None:
        where.append("t.budget_min <= %s")
        params.append(query.max_budget)
    if query.guild is not None:
        where.append("t.guilds @> ARRAY[%s]::text[]")
        params.append(query.guild)
    # Rank and cut on the search table alone, then fetch the few records that made it: a
    # join before the LIMIT would read the record of every match, not of the `limit` best.
    rank = "ts_rank(t.doc, w.query)" if query.q else "0"
    sql = (
        f"SELECT r.canonical FROM (SELECT t.id, {rank} AS rank, t.created_at FROM {table} t"
        " CROSS JOIN websearch_to_tsquery(%s::regconfig, %s) AS w (query)"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY rank DESC, t.created_at DESC, t.id LIMIT %s) AS top"
        " JOIN records r ON r.id = top.id"
        " ORDER BY top.rank DESC, top.created_at DESC, top.id"
    )
    params.append(query.limit)
    return sql, params


def search(store: IndexStore, query: Query, now: int) -> list[bytes]:
    """The canonical bytes of the records that answer `query`, best first."""
    sql, params = sql_for(query, now)
    with store.reader() as conn:
        rows = conn.execute(sql.encode(), params).fetchall()
    return [bytes(row[0]) for row in rows]
