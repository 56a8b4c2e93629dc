"""The federation read API and the local API of one node, over ASGI."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_well_known_names_the_node(make_node) -> None:
    served = await make_node(public_url="https://ada.example/")
    await served.client.post("/api/profile", json={"name": "Ada"}, headers=served.owner)
    info = (await served.client.get("/.well-known/guildnode")).json()
    assert info["did"] == served.node.did
    assert info["name"] == "Ada"
    assert info["url"] == "https://ada.example"
    assert info["protocol"] == 1
    assert info["software"]["name"] == "guildnode"
    assert info["software"]["version"]


async def test_heads_etag_gives_304_until_something_changes(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    await served.inbox([alice.next().to_wire()])
    first = await served.client.get("/sync/heads")
    etag = first.headers["etag"]
    assert first.json()["feeds"][alice.did] == {"seq": 1, "id": alice.records[0].id}

    idle = await served.client.get("/sync/heads", headers={"If-None-Match": etag})
    assert idle.status_code == 304
    assert idle.content == b""
    listed = await served.client.get("/sync/heads", headers={"If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304

    await served.inbox([alice.next().to_wire()])
    changed = await served.client.get("/sync/heads", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["feeds"][alice.did]["seq"] == 2


async def test_feed_pages_after_and_limit(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    records = [alice.next() for _ in range(5)]
    await served.inbox([r.to_wire() for r in records])
    page = (await served.client.get(f"/sync/feed/{alice.did}?after=1&limit=2")).json()
    assert [r["seq"] for r in page["records"]] == [2, 3]
    rest = (await served.client.get(f"/sync/feed/{alice.did}?after=3")).json()
    assert [r["seq"] for r in rest["records"]] == [4, 5]
    assert (await served.client.get(f"/sync/feed/{alice.did}?after=5")).json() == {"records": []}


async def test_feed_limit_is_clamped_to_200(make_node, author) -> None:
    served = await make_node()
    alice = author(1)
    records = [alice.next("note", {"n": i}).to_wire() for i in range(250)]
    await served.inbox(records[:200])
    await served.inbox(records[200:])
    page = (await served.client.get(f"/sync/feed/{alice.did}?limit=1000")).json()
    assert len(page["records"]) == 200
    default = (await served.client.get(f"/sync/feed/{alice.did}")).json()
    assert len(default["records"]) == 100


async def test_feed_of_an_author_not_held_is_empty(make_node, author) -> None:
    served = await make_node()
    response = await served.client.get(f"/sync/feed/{author(9).did}")
    assert response.json() == {"records": []}


@pytest.mark.parametrize("query", ["after=-1", "after=x", "limit=-5", "limit=1.5", "after=%C2%B2"])
async def test_feed_refuses_bad_numbers(make_node, author, query) -> None:
    served = await make_node()
    response = await served.client.get(f"/sync/feed/{author(1).did}?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_query"


async def test_feed_refuses_a_malformed_did(make_node) -> None:
    served = await make_node()
    response = await served.client.get("/sync/feed/did:web:example.com")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_did"


async def test_unknown_record_and_fork_are_404(make_node, author) -> None:
    served = await make_node()
    missing = await served.client.get("/records/" + "0" * 64)
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "not_found",
        "detail": missing.json()["error"]["detail"],
    }
    assert (await served.client.get(f"/sync/forks/{author(1).did}")).status_code == 404


async def test_openapi_docs_are_served(make_node) -> None:
    served = await make_node()
    assert (await served.client.get("/docs")).status_code == 200
    paths = (await served.client.get("/openapi.json")).json()["paths"]
    assert {"/inbox", "/sync/heads", "/sync/feed/{did}", "/records/{record_id}"} <= set(paths)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}]
)
async def test_local_api_needs_the_owner_token(make_node, headers) -> None:
    served = await make_node()
    response = await served.client.post(
        "/api/vouch", json={"subject": "x", "level": 1}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert served.node.store.count() == 0


async def test_local_api_publishes_in_the_owners_chain(make_node, author) -> None:
    served = await make_node()
    bob = author(2)
    made = await served.client.post(
        "/api/vouch",
        json={"subject": bob.did, "level": 3, "context": "python", "statement": "Ships."},
        headers=served.owner,
    )
    assert made.status_code == 200
    record = made.json()["record"]
    assert record["author"] == served.node.did and record["seq"] == 1
    assert record["body"] == {
        "subject": bob.did,
        "level": 3,
        "context": "python",
        "statement": "Ships.",
    }
    served_record = (await served.client.get(f"/records/{made.json()['id']}")).json()
    assert served_record == record


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"subject": "did:key:nope", "level": 2}, "invalid_did"),
        ({"subject": "SELF", "level": 2}, "self_vouch"),
        ({"subject": "OTHER", "level": 2, "context": "Not A Skill"}, "invalid_body"),
        ({"subject": "OTHER", "level": 5}, "invalid_request"),
        ({"subject": "OTHER", "level": 2, "colour": "red"}, "invalid_request"),
    ],
)
async def test_local_api_refuses_bad_vouches(make_node, author, payload, code) -> None:
    served = await make_node()
    subject = {"SELF": served.node.did, "OTHER": author(2).did}.get(
        payload["subject"], payload["subject"]
    )
    response = await served.client.post(
        "/api/vouch", json={**payload, "subject": subject}, headers=served.owner
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert served.node.store.count() == 0
