"""The local API of search on one node (ASGI, in this process) against the tampering
indexer (a real process on 127.0.0.1): naming indexers, searching through them, following
a guild found there; every refusal through the real route, and nothing stored by one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakes import (
    INDEXER,
    NOW,
    ORG,
    Fake,
    altered,
    answer,
    brief,
    free_port,
    running_fake,
)

from guildnode.protocol import Identity, VerifiedRecord, sign_record

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    yield from running_fake(tmp_path_factory)


FOUNDER = Identity(bytes([61]) * 32)


def founder_feed(
    listing: dict[str, Any] | None = None,
) -> tuple[list[VerifiedRecord], VerifiedRecord]:
    """The founder's profile, then the charter of the guild they found (listed, with
    `listing`)."""
    first = sign_record(FOUNDER, kind="profile", body={"name": "Ada", "kind": "person"},
                        seq=1, prev=None, created_at=NOW - 100)  # fmt: skip
    charter = sign_record(
        FOUNDER,
        kind="guild",
        body={
            "name": "Rustaceans",
            "purpose": "Systems work in Rust.",
            "founders": [FOUNDER.did],
            "admission": {"vouches_required": 1},
        }
        | ({"listing": listing} if listing else {}),
        seq=2,
        prev=first.id,
        created_at=NOW - 50,
    )
    return [first, charter], charter


async def test_indexers_are_named_listed_and_forgotten(make_node, fake) -> None:
    member = await make_node("member")
    fake.serve({"/a/search/guilds": answer()})
    url = fake.url("/a")
    response = await member.client.post("/api/indexers", json={"url": url + "/"},
                                        headers=member.owner)  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() | {"added_at": 0} == {
        "url": url, "did": INDEXER.did, "added_at": 0, "allow_private": False
    }  # fmt: skip
    listed = (await member.client.get("/api/indexers", headers=member.owner)).json()
    assert [i["url"] for i in listed["indexers"]] == [url]
    response = await member.client.delete(f"/api/indexers/{url}", headers=member.owner)
    assert response.json() == {"removed": url}
    response = await member.client.delete(f"/api/indexers/{url}", headers=member.owner)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert member.node.store.indexers() == []


@pytest.mark.parametrize(
    ("served", "url", "code", "status"),
    [
        ({"/a/search/guilds": {"results": []}}, "/a", "bad_response", 502),
        ({}, "/a", "peer_refused", 502),
        ({}, "ftp://example.org", "invalid_url", 400),
        ({}, "dead", "peer_unreachable", 502),
    ],
)
async def test_a_url_that_is_no_indexer_is_refused_and_not_stored(
    make_node, fake, served, url, code, status
) -> None:
    member = await make_node("member")
    fake.serve(served)
    if url == "dead":
        url = f"http://127.0.0.1:{free_port()}"
    elif url.startswith("/"):
        url = fake.url(url)
    response = await member.client.post("/api/indexers", json={"url": url}, headers=member.owner)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert member.node.store.indexers() == []


async def test_search_through_the_local_api_verifies_and_reports(make_node, fake) -> None:
    member = await make_node("member")
    member.node.store.add_indexer(fake.url("/a"), INDEXER.did, 0)
    good = brief()
    tampered = altered(brief(title="Other"), lambda w: w["body"].update(title="Cheap"))
    fake.serve({"/a/search/briefs": answer(tampered, good)})
    response = await member.client.get(
        "/api/search/briefs", params={"q": "parser", "currency": "EUR"}, headers=member.owner
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert [(r["id"], r["verified"], r["indexers"]) for r in data["results"]] == [
        (good.id, True, [fake.url("/a")])
    ]
    assert [d["code"] for d in data["dropped"]] == ["bad_signature"]
    assert data["indexers"][0]["as_of"] == "2026-12-04T12:00:00Z"
    assert fake.asked()[-1] == "/a/search/briefs?q=parser&currency=EUR&limit=20"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "100000"},
        {"min_budget": "' OR 1=1"},
        {"skill": "x" * 500},
        {"q": "a" * 5000},
        {"what": "ever"},
    ],
)
async def test_a_bad_query_is_a_clear_400_and_no_indexer_is_asked(make_node, fake, params) -> None:
    member = await make_node("member")
    member.node.store.add_indexer(fake.url("/a"), INDEXER.did, 0)
    before = len(fake.asked())
    response = await member.client.get("/api/search/briefs", params=params, headers=member.owner)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_query"
    assert len(fake.asked()) == before


async def test_search_needs_a_named_indexer_and_the_owner(make_node) -> None:
    member = await make_node("member")
    response = await member.client.get("/api/search/people", headers=member.owner)
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_indexers"
    response = await member.client.get("/api/search/people")
    assert response.status_code == 401


async def test_following_a_found_guild_fetches_its_charter_and_applying_works(
    make_node, fake
) -> None:
    member = await make_node("member")
    member.node.store.add_indexer(fake.url("/a"), INDEXER.did, 0)
    feed, charter = founder_feed()
    fake.serve({f"/a/sync/feed/{FOUNDER.did}": {"records": [r.to_wire() for r in feed]}})
    body = {"record": charter.id, "author": FOUNDER.did}
    response = await member.client.post("/api/search/follow", json=body, headers=member.owner)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": charter.id, "kind": "guild", "author": FOUNDER.did, "from": fake.url("/a"),
        "peer": None,
    }  # fmt: skip
    assert member.node.charter(charter.id).name == "Rustaceans"
    response = await member.client.post(
        f"/api/guilds/{charter.id}/apply", json={"note": "Found you"}, headers=member.owner
    )
    assert response.status_code == 200, response.text
    assert FOUNDER.did in member.node.scope()  # ordinary sync now keeps the founder's feed


async def test_following_refuses_an_altered_charter_and_keeps_no_guild(make_node, fake) -> None:
    member = await make_node("member")
    member.node.store.add_indexer(fake.url("/a"), INDEXER.did, 0)
    feed, charter = founder_feed()
    wires: list[Any] = [feed[0].to_wire(), altered(charter, lambda w: w["body"].update(name="X"))]
    fake.serve({f"/a/sync/feed/{FOUNDER.did}": {"records": wires}})
    body = {"record": charter.id, "author": FOUNDER.did}
    response = await member.client.post("/api/search/follow", json=body, headers=member.owner)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and "bad_response" in error["detail"]
    assert member.node.store.get(charter.id) is None
    assert member.node.charters() == {}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"record": "x", "author": FOUNDER.did}, "invalid_query"),
        ({"record": "ab" * 32, "author": "did:key:nope"}, "invalid_query"),
        ({"record": "ab" * 32, "author": ORG.did}, "not_found"),
    ],
)
async def test_following_with_bad_input_is_refused(make_node, fake, body, code) -> None:
    member = await make_node("member")
    member.node.store.add_indexer(fake.url("/a"), INDEXER.did, 0)
    fake.serve({})
    response = await member.client.post("/api/search/follow", json=body, headers=member.owner)
    assert response.status_code in (400, 404) and response.json()["error"]["code"] == code
