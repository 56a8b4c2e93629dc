"""A search of an indexer (SPEC §13.3): what may be asked, as one value for both sides.

The indexer parses a request's query string into a `Query` (`indexer.search.parse_query`);
a member node builds one from its owner's input (`search.make_query`) and sends
`Query.params()`. Both check the fields against the same patterns and limits, defined here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .schemas import DEFS

KINDS = {"briefs": "brief", "people": "profile", "guilds": "guild"}  # what → record kind
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_WORDS = 200  # characters of `q`
BRIEF_ONLY = ("currency", "min_budget", "max_budget", "guild")  # filters of /search/briefs


def _pattern(name: str) -> re.Pattern[str]:
    # The schemas' patterns are anchored ^…$; fullmatch without them, so that "$" cannot
    # match before a trailing newline.
    return re.compile(str(DEFS[name]["pattern"]).removeprefix("^").removesuffix("$"))


SKILL = _pattern("skill")
RECORD_ID = _pattern("record_id")
CURRENCY = re.compile("[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class Query:
    """A checked search: what (`briefs`, `people`, `guilds`), the words, the filters."""

    what: str
    q: str = ""
    skill: str | None = None
    currency: str | None = None
    min_budget: int | None = None
    max_budget: int | None = None
    guild: str | None = None
    limit: int = DEFAULT_LIMIT

    @property
    def kind(self) -> str:
        return KINDS[self.what]

    def params(self) -> dict[str, str]:
        """The query string an indexer gets: only what was asked."""
        values = {
            "q": self.q,
            "skill": self.skill,
            "currency": self.currency,
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "guild": self.guild,
        }
        found = {k: str(v) for k, v in values.items() if v not in (None, "")}
        found["limit"] = str(self.limit)
        return found
