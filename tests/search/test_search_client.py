"""The search client against a tampering indexer: a real uvicorn process on 127.0.0.1
(`tampering_indexer.py`) serving whatever answer each test writes, here altered records,
records that match nothing, another identity, too many results. One process plays several
indexers, one per path prefix (`http://127.0.0.1:PORT/a`, `/b`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fakes import (
    INDEXER,
    OTHER_INDEXER,
    Fake,
    altered,
    answer,
    brief,
    closed_brief,
    free_port,
    profile,
    row,
    running_fake,
)

from guildnode.peers import PeerClient
from guildnode.protocol import Identity
from guildnode.protocol.search import Query
from guildnode.search import SearchError, ask, make_query

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    yield from running_fake(tmp_path_factory)


async def search(indexers: list[dict[str, Any]], query: Query) -> dict[str, Any]:
    client = PeerClient(Identity(bytes([70]) * 32), time.time)
    try:
        return (await ask(client, indexers, query, int(time.time()))).as_dict()
    finally:
        await client.aclose()


def _budget(wire: dict[str, Any]) -> None:
    wire["body"]["budget"]["max"] = 900_000


def _author(wire: dict[str, Any]) -> None:
    wire["author"] = OTHER_INDEXER.did


def _extra_field(wire: dict[str, Any]) -> None:
    wire["body"]["listing"] = {"description": "a brief, listed"}


def _created(wire: dict[str, Any]) -> None:
    wire["created"] = "2026-12-01T00:00:00Z"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_budget, "bad_signature"),
        (_author, "bad_signature"),
        (_created, "bad_signature"),
        (_extra_field, "invalid_body"),
    ],
)
async def test_a_record_the_indexer_altered_is_dropped_and_reported(fake, change, code) -> None:
    good = brief()
    bad = altered(brief(title="Another brief"), change)
    fake.serve({"/a/search/briefs": answer(bad, good)})
    result = await search([row(fake, "/a")], make_query("briefs", q="parser"))
    assert [r["id"] for r in result["results"]] == [good.id]
    assert result["results"][0]["verified"] is True
    assert result["results"][0]["indexers"] == [fake.url("/a")]
    [dropped] = result["dropped"]
    assert (dropped["indexer"], dropped["code"]) == (fake.url("/a"), code)
    [indexer] = result["indexers"]
    assert (indexer["returned"], indexer["kept"], indexer["error"]) == (2, 1, None)
    assert indexer["as_of"] == "2026-12-04T12:00:00Z" and indexer["age_seconds"] >= 0


@pytest.mark.parametrize(
    ("query", "served", "reason"),
    [
        ({"currency": "EUR"}, brief(budget={"min": 1, "max": 2, "currency": "USD"}), "USD"),
        ({"skill": "rust"}, brief(skills=["python"]), "rust"),
        ({"min_budget": "400000"}, brief(), "tops out below"),
        ({"max_budget": "50000"}, brief(), "starts above"),
        ({"guild": "cd" * 32}, brief(), "not posted to that guild"),
        ({}, profile(), "not a brief"),
        ({}, closed_brief(), "not open"),
    ],
)
async def test_a_result_that_does_not_match_the_query_is_dropped(
    fake, query, served, reason
) -> None:
    fake.serve({"/a/search/briefs": answer(served)})
    result = await search([row(fake, "/a")], make_query("briefs", **query))
    assert result["results"] == []
    [dropped] = result["dropped"]
    assert dropped["code"] == "not_matching" and reason in dropped["detail"]
    assert dropped["id"] == served.id


async def test_garbage_results_are_dropped_each_with_its_code(fake) -> None:
    good = brief()
    fake.serve({"/a/search/briefs": {**answer(good), "results": [
        {"record": "not an object"}, {"nothing": 1}, 7, {"record": good.to_wire()}]}})  # fmt: skip
    result = await search([row(fake, "/a")], make_query("briefs"))
    assert [r["id"] for r in result["results"]] == [good.id]
    assert [d["code"] for d in result["dropped"]] == ["malformed_json"] * 3


async def test_answers_of_several_indexers_merge_and_each_says_how_fresh(fake) -> None:
    first, second, third = brief(), brief(title="Second"), brief(title="Third")
    fake.serve({
        "/a/search/briefs": answer(first, second, as_of="2026-12-04T12:00:00Z"),
        "/b/search/briefs": answer(third, first, did=OTHER_INDEXER.did,
                                   as_of="2026-12-04T12:30:00.5+01:00"),
    })  # fmt: skip
    result = await search(
        [row(fake, "/a"), row(fake, "/b", OTHER_INDEXER.did)], make_query("briefs", q="parser")
    )
    assert [(r["id"], r["indexers"]) for r in result["results"]] == [
        (first.id, [fake.url("/a"), fake.url("/b")]),
        (third.id, [fake.url("/b")]),
        (second.id, [fake.url("/a")]),
    ]
    ages = {i["url"]: i["age_seconds"] for i in result["indexers"]}
    assert ages[fake.url("/b")] - ages[fake.url("/a")] == 30 * 60  # 11:30Z: half an hour older
    assert fake.asked()[-1].endswith("/search/briefs?q=parser&limit=20")


async def test_an_answer_that_is_wrong_as_a_whole_is_an_error_of_that_indexer(fake) -> None:
    good = brief()
    fake.serve({
        "/a/search/briefs": answer(good, did=OTHER_INDEXER.did),
        "/b/search/briefs": answer(*[good] * 3),
        "/c/search/briefs": answer(good, as_of="yesterday"),
        "/d/search/briefs": {"status": 400, "body": {"error": {"code": "invalid_query",
                                                               "detail": "Bad skill."}}},
        "/e/search/briefs": {"status": 200, "body": ["not", "an", "answer"]},
        "/f/search/briefs": answer(good),
        "/g/search/briefs": {k: v for k, v in answer(good).items() if k != "as_of"},
        "/h/search/briefs": answer(good, as_of=None),  # not yet a round done: allowed
    })  # fmt: skip
    dead = {"url": f"http://127.0.0.1:{free_port()}", "did": INDEXER.did, "allow_private": True}
    rows = [row(fake, p) for p in ("/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h")] + [dead]
    result = await search(rows, make_query("briefs", limit="2"))
    errors = [(i["error"] or {}).get("code") for i in result["indexers"]]
    assert errors == [
        "identity_mismatch", "bad_response", "bad_response", "peer_refused", "bad_response",
        None, "bad_response", None, "peer_unreachable",
    ]  # fmt: skip
    assert "invalid_query: Bad skill." in result["indexers"][3]["error"]["detail"]
    assert [(r["id"], r["indexers"]) for r in result["results"]] == [
        (good.id, [fake.url("/f"), fake.url("/h")])
    ]
    assert (result["indexers"][7]["as_of"], result["indexers"][7]["age_seconds"]) == (None, None)


async def test_a_private_address_is_refused_unless_the_owner_allowed_it(fake) -> None:
    fake.serve({"/a/search/briefs": answer(brief())})
    result = await search([row(fake, "/a") | {"allow_private": False}], make_query("briefs"))
    assert result["indexers"][0]["error"]["code"] == "private_address"


async def test_no_indexer_named_is_a_clear_error() -> None:
    with pytest.raises(SearchError) as caught:
        await search([], make_query("guilds"))
    assert caught.value.code == "no_indexers"


@pytest.mark.parametrize(
    ("what", "fields", "says"),
    [
        ("briefs", {"limit": "1000"}, "limit"),
        ("briefs", {"limit": "-1"}, "limit"),
        ("briefs", {"limit": "1e3"}, "limit"),
        ("briefs", {"min_budget": "1; DROP TABLE records"}, "min_budget"),
        ("briefs", {"skill": "' OR 1=1 --"}, "skill"),
        ("briefs", {"currency": "eur"}, "currency"),
        ("briefs", {"guild": "x"}, "guild"),
        ("briefs", {"min_budget": "5", "max_budget": "4"}, "above"),
        ("briefs", {"q": "w" * 201}, "longer"),
        ("briefs", {"sort": "price"}, "Unknown"),
        ("people", {"currency": "EUR"}, "briefs only"),
        ("contracts", {}, "briefs, people or guilds"),
    ],
)
def test_a_malformed_query_is_refused_before_any_indexer_is_asked(what, fields, says) -> None:
    with pytest.raises(SearchError) as caught:
        make_query(what, **fields)
    assert caught.value.code == "invalid_query" and says in caught.value.detail


def test_sql_ish_words_are_only_words() -> None:
    query = make_query("briefs", q="'; DROP TABLE briefs; --", limit="100")
    assert query.params() == {"q": "'; DROP TABLE briefs; --", "limit": "100"}


def test_fake_indexer_is_a_real_process(fake) -> None:
    fake.serve({"/a/search/guilds": answer()})
    with httpx.Client(trust_env=False) as client:
        assert client.get(fake.url("/a/search/guilds")).json()["indexer"]["did"] == INDEXER.did


async def test_one_profile_per_person_the_latest_of_their_chain(fake) -> None:
    older, newer = profile(seq=1, skills=["rust"]), profile(seq=2, skills=["rust", "go"])
    fake.serve({
        "/a/search/people": answer(older),
        "/b/search/people": answer(newer, did=OTHER_INDEXER.did),
    })  # fmt: skip
    result = await search(
        [row(fake, "/a"), row(fake, "/b", OTHER_INDEXER.did)], make_query("people", skill="rust")
    )
    assert [(r["id"], r["indexers"]) for r in result["results"]] == [(newer.id, [fake.url("/b")])]
