"""The search pages over ASGI against the tampering indexer's real process: the briefs
board's search box, "find a guild" with its indexers (a listed guild shown with its
description and how to apply, an unlisted one dropped), and fetching a found guild to apply."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import (
    INDEXER,
    Fake,
    altered,
    answer,
    brief,
    running_fake,
)
from markupsafe import escape
from test_search_api import FOUNDER, founder_feed

sys.path.insert(0, str(Path(__file__).parents[1] / "node"))
from test_ui import csrf_of, sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    yield from running_fake(tmp_path_factory)


async def signed_in(make_node: Any) -> Any:
    member = await make_node("member")
    await sign_in(member)
    return member


async def test_the_board_search_box_shows_verified_results_and_what_was_dropped(
    make_node, fake
) -> None:
    member = await signed_in(make_node)
    board = (await member.client.get("/briefs")).text
    assert 'action="/briefs/search"' in board
    member.node.store.add_indexer(fake.url("/a"), INDEXER.did, 0)
    good = brief(title="Port our parser <b>now</b>")
    tampered = altered(brief(title="Other"), lambda w: w["body"].update(title="Free work"))
    fake.serve({"/a/search/briefs": answer(tampered, good)})
    page = await member.client.get("/briefs/search", params={"q": "parser", "currency": "EUR"})
    assert page.status_code == 200, page.text
    html = page.text
    assert str(escape("Port our parser <b>now</b>")) in html and "<b>now</b>" not in html
    assert "verified" in html and fake.url("/a") in html
    assert "1,000.00 to 3,000.00 EUR" in html
    assert "Free work" not in html and "bad_signature" in html
    assert "1 of 2 kept" in html and "Fetch and propose" in html


async def test_a_bad_search_says_why_with_a_400(make_node, fake) -> None:
    member = await signed_in(make_node)
    member.node.store.add_indexer(fake.url("/a"), INDEXER.did, 0)
    page = await member.client.get("/briefs/search", params={"q": "x", "currency": "euros"})
    assert page.status_code == 400 and "three capital letters" in page.text
    page = await member.client.get("/guilds/find", params={"q": "rust"})
    assert page.status_code == 200
    page = await member.client.get("/briefs/search", params={"q": "'; DROP TABLE x; --"})
    assert page.status_code == 200  # only words; the indexer answered nothing usable


async def test_find_a_guild_names_an_indexer_fetches_a_guild_and_offers_apply(
    make_node, fake
) -> None:
    member = await signed_in(make_node)
    page = await member.client.get("/guilds/find")
    assert page.status_code == 200 and "None yet" in page.text
    fake.serve({"/a/search/guilds": answer()})
    token = csrf_of(page.text)
    added = await member.client.post(
        "/guilds/find/indexers", data={"csrftoken": token, "url": "ftp://x"}
    )
    assert added.status_code == 400 and "invalid_url" in added.text
    assert member.node.store.indexers() == []
    added = await member.client.post(
        "/guilds/find/indexers", data={"csrftoken": token, "url": fake.url("/a")}
    )
    assert added.status_code == 303
    page = await member.client.get("/guilds/find")
    assert fake.url("/a") in page.text and "Your searches now ask" in page.text

    feed, charter = founder_feed()
    fake.serve({
        "/a/search/guilds": answer(charter),
        f"/a/sync/feed/{FOUNDER.did}": {"records": [r.to_wire() for r in feed]},
    })  # fmt: skip
    page = await member.client.get("/guilds/find", params={"q": "rust"})
    # The charter has no `listing`: an indexer that returns it is caught.
    assert "Rustaceans" not in page.text.split("Dropped")[0]
    assert "not_matching" in page.text and "not listed" in page.text

    listing = {"description": "Systems work <i>in Rust</i>.", "skills": ["rust"],
               "apply": "Send a link to your code."}  # fmt: skip
    listed_feed, listed = founder_feed(listing)
    fake.serve({"/a/search/guilds": answer(listed, charter)})
    page = await member.client.get("/guilds/find", params={"q": "rust", "skill": "rust"})
    found = page.text.split("Indexers asked")[0]
    assert "Rustaceans" in found and str(escape("Systems work <i>in Rust</i>.")) in found
    assert "How to apply:</strong> Send a link to your code." in found
    assert "Fetch and follow" in found and "verified" in found
    assert fake.asked()[-1] == "/a/search/guilds?q=rust&skill=rust&limit=20"
    fake.serve({f"/a/sync/feed/{FOUNDER.did}": {"records": [r.to_wire() for r in listed_feed]}})

    token = csrf_of(page.text)
    follow = {"csrftoken": token, "record": listed.id, "author": FOUNDER.did, "kind": "guild"}
    fetched = await member.client.post("/guilds/find/follow", data=follow)
    assert fetched.status_code == 303 and fetched.headers["location"] == f"/guilds/{listed.id}"
    shown = await member.client.get(f"/guilds/{listed.id}")
    assert "Fetched and verified from" in shown.text and "Rustaceans" in shown.text
    assert f'action="/guilds/{listed.id}/apply"' in shown.text

    refused = await member.client.post("/guilds/find/follow", data=follow | {"record": "ab" * 32})
    assert refused.headers["location"] == "/guilds/find"
    assert "Could not fetch it" in (await member.client.get("/guilds/find")).text

    forget = {"csrftoken": token, "url": fake.url("/a")}
    removed = await member.client.post("/guilds/find/indexers/remove", data=forget)
    assert removed.status_code == 303 and member.node.store.indexers() == []


async def test_search_pages_post_nothing_without_the_csrf_token(make_node, fake) -> None:
    member = await signed_in(make_node)
    for path in ("/guilds/find/indexers", "/guilds/find/follow"):
        for token in ({}, {"csrftoken": "forged"}):
            data = {"url": fake.url("/a"), "record": "ab" * 32, "author": FOUNDER.did} | token
            response = await member.client.post(path, data=data)
            assert response.status_code == 403 and "security token" in response.text
    assert member.node.store.indexers() == []
