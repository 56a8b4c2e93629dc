"""Gig briefs: posting (with its refusals), which are open, and who sees them."""

from __future__ import annotations

from typing import Any

import pytest

from guildnode.briefs import Brief, open_briefs
from guildnode.errors import NodeError

pytestmark = pytest.mark.anyio

GUILD = "ab" * 32
DAY = 86_400


def post(node: Any, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "guilds": [GUILD],
        "title": "Logo refresh",
        "description": "A new logo for our studio.",
        "acceptance_criteria": ["Three concepts", "Vector files"],
        "budget_min": 100_000,
        "budget_max": 250_000,
        "currency": "EUR",
        "skills": ["design"],
    } | changes
    return node.post_brief(**fields)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"expires_days": 31}, "invalid_argument"),
        ({"expires_days": 0}, "invalid_argument"),
        ({"budget_min": 300_000}, "invalid_budget"),
        ({"currency": "EUX"}, "invalid_currency"),
        ({"currency": "eur"}, "invalid_currency"),
    ],
)
async def test_posting_refuses_a_brief_that_would_have_no_effect(make_node, changes, code) -> None:
    served = await make_node()
    with pytest.raises(NodeError) as refused:
        post(served.node, **changes)
    assert refused.value.code == code
    assert refused.value.detail
    assert served.node.store.count() == 0


async def test_a_float_budget_is_refused_through_the_local_api(make_node) -> None:
    served = await make_node()
    body = {
        "guilds": [GUILD], "title": "t", "description": "d", "acceptance_criteria": ["c"],
        "budget_min": 10.5, "budget_max": 20, "currency": "EUR",
    }  # fmt: skip
    response = await served.client.post("/api/briefs", json=body, headers=served.owner)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert served.node.store.count() == 0


async def test_a_posted_brief_is_listed_until_it_expires(make_node) -> None:
    served = await make_node()
    record = post(served.node, expires_days=3)
    listed = await served.client.get("/api/briefs", headers=served.owner)
    [brief] = listed.json()["briefs"]
    assert brief["id"] == record.id and brief["open"] and brief["title"] == "Logo refresh"
    assert record.expires_at == record.created_at + 3 * DAY
    shown = await served.client.get(f"/api/briefs/{record.id}", headers=served.owner)
    assert shown.json()["budget"] == {"min": 100_000, "max": 250_000, "currency": "EUR"}
    # Passing time, not sleeping: three days later the brief is closed.
    [held] = served.node.briefs()
    assert held.is_open(record.created_at + 3 * DAY - 1)
    assert not held.is_open(record.created_at + 3 * DAY)


def make(id: str, skills: list[str], *, created: int = 1_000, expires: int | None = None,
         **budget: Any) -> Brief:  # fmt: skip
    body = {
        "guilds": [GUILD], "title": id, "description": "d", "acceptance_criteria": ["c"],
        "budget": {"min": 1, "max": 2, "currency": "EUR"} | budget, "engagement": "fixed",
        "skills": skills,
    }  # fmt: skip
    return Brief(id, "org", created, expires if expires is not None else created + DAY, body)


def test_open_briefs_match_my_skills_first_and_filter_by_guild_and_skill() -> None:
    briefs = [
        make("a", ["python"], created=1_000),
        make("b", ["design", "python"], created=900),
        make("c", ["writing"], created=1_100),
    ]
    order = [b.id for b in open_briefs(briefs, now=1_200, my_skills=["design", "python"])]
    assert order == ["b", "a", "c"]
    assert [b.id for b in open_briefs(briefs, now=1_200, skill="python")] == ["a", "b"]
    assert open_briefs(briefs, now=1_200, guild="cd" * 32) == []


def test_briefs_that_break_the_effect_rules_are_never_open() -> None:
    assert make("ok", []).is_open(1_500)
    assert not make("late", [], expires=1_000 + 31 * DAY).is_open(1_500)
    assert not make("inverted", [], min=5, max=1).is_open(1_500)
    assert not make("money", [], currency="XXQ").is_open(1_500)
    assert make("money", [], currency="XXQ").problem() == "XXQ is not an ISO 4217 currency"


async def test_a_guilds_nodes_see_an_organisations_brief_once_a_member_vouches(make_node) -> None:
    org, member = await make_node("org"), await make_node("member")
    await member.federation.add_peer(org.url)
    guild = member.node.found_guild("Makers", "We make", vouches_required=1, cooling_days=0)
    record = post(org.node, guilds=[guild.id])
    await member.federation.sync_all()
    assert member.node.store.get(record.id) is None  # not in scope: nobody vouched for it
    member.node.vouch(org.node.did, level=2, context=f"guild:{guild.id}")
    await member.federation.sync_all()
    [seen] = open_briefs(member.node.briefs(), now=member.node.now(), guild=guild.id)
    assert seen.id == record.id
