"""Gig briefs: what an organisation asks of a guild, and which briefs are open.

Pure: brief records (as values) and `now` in. A brief is valid whatever it says (SPEC §6.7);
these rules decide its effect (SPEC §6.8): it is open while `now` is before its `expires`,
which may be at most 30 days after `created`, and only if its budget's min is not above
its max and its currency is an ISO 4217 code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .money import ISO_4217

MAX_BRIEF_LIFE = 30 * 86_400


@dataclass(frozen=True, slots=True)
class Brief:
    id: str
    author: str
    created_at: int
    expires_at: int | None
    body: dict[str, Any]
    delegate: str | None = None  # the staff key that posted it for `author` (SPEC §15.4)

    @property
    def guilds(self) -> list[str]:
        return list(self.body["guilds"])

    @property
    def skills(self) -> list[str]:
        return list(self.body.get("skills", []))

    def problem(self) -> str | None:
        """Why this brief has no effect, or None (SPEC §6.8)."""
        if self.expires_at is None:
            return "a brief must say when it expires"
        if self.expires_at > self.created_at + MAX_BRIEF_LIFE:
            return "a brief may expire at most 30 days after it is posted"
        budget = self.body["budget"]
        if budget["min"] > budget["max"]:
            return "the budget's minimum is above its maximum"
        if budget["currency"] not in ISO_4217:
            return f"{budget['currency']} is not an ISO 4217 currency"
        return None

    def is_open(self, now: int) -> bool:
        return self.problem() is None and self.created_at <= now < (self.expires_at or 0)


def open_briefs(
    briefs: Iterable[Brief],
    *,
    now: int,
    guild: str | None = None,
    skill: str | None = None,
    my_skills: Iterable[str] = (),
) -> list[Brief]:
    """Open briefs, in a guild or needing a skill if asked; those matching more of
    `my_skills` first, then the newest."""
    mine = set(my_skills)
    found = [
        b
        for b in briefs
        if b.is_open(now)
        and (guild is None or guild in b.guilds)
        and (skill is None or skill in b.skills)
    ]
    return sorted(found, key=lambda b: (-len(mine & set(b.skills)), -b.created_at, b.id))
