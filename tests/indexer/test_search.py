"""The search API (SPEC §13.3) over records ingested from real member nodes: ranking,
filters, listed guilds only, signed records as answers, and bad queries as 400s."""

from __future__ import annotations

from typing import Any

import pytest

from guildnode.protocol import canonical_bytes, parse_timestamp, verify_record

from .world import brief, three_guilds

pytestmark = pytest.mark.anyio


async def indexed(make_node: Any, make_indexer: Any) -> tuple[dict[str, Any], Any]:
    nodes = await three_guilds(make_node)
    served = await make_indexer(peers=(nodes["a"].url, nodes["b"].url))
    await served.round()
    return nodes, served


async def test_answers_are_the_signed_records_with_who_answered_and_when(
    make_node: Any, make_indexer: Any
) -> None:
    nodes, served = await indexed(make_node, make_indexer)
    response = await served.search("briefs", q="motor controller")
    assert response.status_code == 200
    answer = response.json()
    assert answer["indexer"] == {"did": served.indexer.identity.did, "url": served.url}
    assert abs(parse_timestamp(answer["as_of"]) - served.indexer.clock()) < 60
    [result] = answer["results"]
    record = verify_record(result["record"])
    assert record.id == nodes["b"].brief.id
    # Exactly the canonical bytes that were signed, spliced in as they are held.
    assert canonical_bytes(result["record"]) in response.content
    assert record.canonical == nodes["b"].brief.canonical


async def test_briefs_are_ranked_by_their_words_title_first(
    make_node: Any, make_indexer: Any
) -> None:
    nodes, served = await indexed(make_node, make_indexer)
    in_title = brief(nodes["a"], nodes["a"].guild.id, "Invoice parser", "A small tool.")
    in_text = brief(
        nodes["a"], nodes["a"].guild.id, "Small tool", "It reads each invoice of the month."
    )
    await served.round()
    found = await served.found("briefs", q="invoices")  # stemmed: invoice
    assert [r["body"]["title"] for r in found] == [in_title.body["title"], in_text.body["title"]]
    # Words of the acceptance criteria and skills are searched too.
    assert {r["body"]["title"] for r in await served.found("briefs", q="documented")} >= {
        "Billing migration",
        "Motor controller firmware",
    }
    assert len(await served.found("briefs", limit=4)) == 4


async def test_brief_filters(make_node: Any, make_indexer: Any) -> None:
    nodes, served = await indexed(make_node, make_indexer)

    async def titles(**params: Any) -> set[str]:
        return {r["body"]["title"] for r in await served.found("briefs", **params)}

    everything = {"Billing migration", "Motor controller firmware", "Map archive"}
    assert await titles() == everything
    assert await titles(skill="rust") == {"Motor controller firmware"}
    assert await titles(skill="python") == {"Billing migration", "Map archive"}
    assert await titles(currency="USD") == {"Motor controller firmware"}
    assert await titles(currency="EUR", skill="rust") == set()
    # Budget ranges that meet [min_budget, max_budget]: EUR 1000–2000, USD 5000–9000.
    assert await titles(min_budget=300_000) == {"Motor controller firmware"}
    assert await titles(max_budget=150_000) == {"Billing migration", "Map archive"}
    assert await titles(min_budget=200_000, max_budget=500_000) == everything
    assert await titles(min_budget=200_001, max_budget=499_999) == set()
    assert await titles(guild=nodes["b"].guild.id) == {"Motor controller firmware"}
    assert await titles(guild="0" * 64) == set()


async def test_closed_and_void_briefs_are_never_found(make_node: Any, make_indexer: Any) -> None:
    now = [1_790_000_000.0]
    node = await make_node("org", clock=lambda: now[0])
    node.node.set_profile(name="Org", organisation=True)
    guild = node.node.found_guild("G", "A guild.", vouches_required=1)
    short = brief(node, guild.id, "Short lived", "Closes in a day.", expires_days=1)
    now[0] += 10
    brief(node, guild.id, "Long lived", "Closes in a month.", expires_days=30)
    # Valid but without effect (SPEC §6.8): min above max. Published by hand, as the node
    # itself refuses to.
    void = dict(short.body, title="Void", budget={"min": 9, "max": 1, "currency": "EUR"})
    node.node.publish("brief", void, int(now[0]) + 86_400)
    served = await make_indexer(peers=(node.url,), clock=lambda: now[0])
    await served.round()
    # Without words, the newest first.
    assert [r["body"]["title"] for r in await served.found("briefs")] == [
        "Long lived",
        "Short lived",
    ]
    now[0] += 2 * 86_400
    assert {r["body"]["title"] for r in await served.found("briefs")} == {"Long lived"}


async def test_people_by_their_current_profile(make_node: Any, make_indexer: Any) -> None:
    nodes, served = await indexed(make_node, make_indexer)
    found = await served.found("people", q="freelancer backend")
    assert {r["author"] for r in found} == {s.node.did for s in nodes.values()}
    assert [r["author"] for r in await served.found("people", skill="skill-b")] == [
        nodes["b"].node.did
    ]
    # A new profile replaces the old one: the old words no longer find her.
    nodes["b"].node.set_profile(name="Grace Hopper", bio="Compilers.", skills=["cobol"])
    await served.round()
    [grace] = await served.found("people", q="compilers")
    assert grace["body"]["name"] == "Grace Hopper"
    assert verify_record(grace).id == nodes["b"].node.store.head(nodes["b"].node.did).id
    assert await served.found("people", skill="skill-b") == []
    assert nodes["b"].node.did not in {
        r["author"] for r in await served.found("people", q="backend")
    }


async def test_only_listed_guilds_are_found(make_node: Any, make_indexer: Any) -> None:
    nodes, served = await indexed(make_node, make_indexer)
    found = await served.found("guilds")
    assert {r["body"]["name"] for r in found} == {"Python Cooperative", "Rust Embedded Guild"}
    [rust] = await served.found("guilds", q="firmware drivers")
    assert verify_record(rust).id == nodes["b"].guild.id
    assert [r["body"]["name"] for r in await served.found("guilds", skill="python")] == [
        "Python Cooperative"
    ]
    # The unlisted guild is held (a chain link like any other) but never an answer, by any
    # of its words.
    assert served.indexer.store.count("records") > 0
    assert await served.found("guilds", q="secret society cartographers") == []
    assert await served.found("guilds", q="Secret") == []


BAD_QUERIES: list[tuple[str, dict[str, Any] | str]] = [
    ("briefs", {"limit": "101"}),
    ("briefs", {"limit": "0"}),
    ("briefs", {"limit": "-1"}),
    ("briefs", {"limit": "1e3"}),
    ("briefs", {"limit": "99999999999999999999"}),
    ("briefs", {"limit": ""}),
    ("briefs", {"min_budget": "ten"}),
    ("briefs", {"max_budget": "1.5"}),
    ("briefs", {"currency": "eur"}),
    ("briefs", {"currency": "EURO"}),
    ("briefs", {"guild": "G" * 64}),
    ("briefs", {"skill": "Python"}),
    ("briefs", {"skill": "a b"}),
    ("briefs", {"q": "x" * 201}),
    ("briefs", {"q": "nul\x00byte"}),
    ("briefs", {"sort": "price"}),
    ("people", {"currency": "EUR"}),
    ("guilds", {"guild": "0" * 64}),
    ("briefs", "q=a&q=b"),
    ("briefs", "limit=5&limit=6"),
    ("briefs", "skill=python%0A"),
]


async def test_bad_queries_are_400_bad_query(make_indexer: Any) -> None:
    served = await make_indexer()
    for what, params in BAD_QUERIES:
        if isinstance(params, str):
            response = await served.client.get(f"/search/{what}?{params}")
        else:
            response = await served.search(what, **params)
        assert response.status_code == 400, (what, params, response.text)
        error = response.json()["error"]
        assert error["code"] == "bad_query", (what, params)
        assert error["detail"]


SQLISH = [
    "'; DROP TABLE records; --",
    '" OR 1=1 --',
    "a & b | !c",
    "foo:* <-> bar",
    "((((",
    "-",
    '"',
    "or or or",
    "the and of",  # stop words only: an empty query, which finds nothing
    "%_\\",
    "😀 ünïcödé",
    "x" * 200,
]


async def test_sql_ish_words_are_just_words(make_node: Any, make_indexer: Any) -> None:
    node = await make_node("org")
    node.node.set_profile(name="Org", organisation=True)
    guild = node.node.found_guild("G", "A guild.", vouches_required=1)
    brief(node, guild.id, "Drop table", "A brief about tables; or not.")
    served = await make_indexer(peers=(node.url,))
    await served.round()
    for q in SQLISH:
        for what in ("briefs", "people", "guilds"):
            response = await served.search(what, q=q)
            assert response.status_code == 200, (q, response.text)
            assert isinstance(response.json()["results"], list)
    assert served.indexer.store.count("records") == 3  # nothing dropped
    [found] = await served.found("briefs", q="'; DROP TABLE briefs; --")
    assert found["body"]["title"] == "Drop table"  # drop, table and brief: its words


async def test_unknown_paths_and_methods_answer_in_the_error_shape(make_indexer: Any) -> None:
    served = await make_indexer()
    missing = await served.client.get("/search/everything")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    post = await served.client.post("/search/briefs")
    assert post.status_code == 405
    assert post.json()["error"]["code"] == "method_not_allowed"
