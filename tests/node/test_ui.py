"""The web UI over ASGI: who may see it (login link, session, CSRF, Host), that it escapes
what people wrote, that its forms act and explain refusals, and that every page answers."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from guildnode.app import create_app
from guildnode.settings import Settings
from guildnode.ui.render import find_web_dir

pytestmark = pytest.mark.anyio

PAGES = ["/", "/people", "/people?context=python", "/graph", "/graph?context=python",
         "/guilds", "/peers"]  # fmt: skip


async def sign_in(served: Any) -> None:
    """Ask the node for a login link (as `guildnode ui` does) and open it."""
    issued = await served.client.post("/api/ui/login-link", headers=served.owner)
    assert issued.status_code == 200, issued.text
    token = httpx.URL(issued.json()["url"]).params["token"]
    landed = await served.client.get("/login", params={"token": token})
    assert landed.status_code == 303
    assert landed.headers["location"] == "/"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def form_token(served: Any, page: str = "/") -> str:
    response = await served.client.get(page)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


async def settle(*served: Any) -> None:
    """Finish the pushes the test's records started, before the nodes stop."""
    for each in served:
        await each.federation.flush()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any, Clock]]:
    """One node on a clock the test moves."""
    clock = Clock()
    settings = Settings(data_dir=tmp_path / "clocked", public_url="http://clocked.test",
                        sync_interval=0)  # fmt: skip
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://clocked.test") as c:
            yield c, app, clock


# -- signing in ------------------------------------------------------------------------


async def test_a_login_link_signs_in_once_with_a_strict_httponly_cookie(
    make_node: Callable[..., Any],
) -> None:
    ada = await make_node("ada")
    issued = await ada.client.post("/api/ui/login-link", headers=ada.owner)
    assert issued.status_code == 200
    link = httpx.URL(issued.json()["url"])
    assert issued.json()["expires_in"] == 600
    assert str(link).startswith("http://127.0.0.1:8547/login?token=")
    token = link.params["token"]

    landed = await ada.client.get("/login", params={"token": token})
    assert landed.status_code == 303
    assert landed.headers["location"] == "/"
    cookie = landed.headers["set-cookie"]
    assert cookie.startswith("guildnode_session_8547=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    home = await ada.client.get("/")
    assert home.status_code == 200
    assert ada.node.did in home.text
    assert "You are signed in" in home.text

    again = httpx.AsyncClient(transport=ada.client._transport, base_url=ada.url)
    async with again:
        reused = await again.get("/login", params={"token": token})
        assert reused.status_code == 403
        assert "does not work any more" in reused.text
        assert "guildnode_session" not in reused.headers.get("set-cookie", "")
        assert (await again.get("/")).status_code == 303
    # the first browser stays signed in
    assert (await ada.client.get("/people")).status_code == 200


async def test_a_login_link_expires_after_ten_minutes(
    clocked: tuple[httpx.AsyncClient, Any, Clock],
) -> None:
    client, app, clock = clocked
    auth = app.state.ui_auth
    late = httpx.URL(auth.login_url()).params["token"]
    clock.now += 601
    refused = await client.get("/login", params={"token": late})
    assert refused.status_code == 403
    assert "guildnode_session" not in refused.headers.get("set-cookie", "")

    in_time = httpx.URL(auth.login_url()).params["token"]
    clock.now += 599
    accepted = await client.get("/login", params={"token": in_time})
    assert accepted.status_code == 303
    assert (await client.get("/")).status_code == 200
    # and the expired one stays dead even now
    assert (await client.get("/login", params={"token": late})).status_code == 403


async def test_a_made_up_token_is_refused(make_node: Callable[..., Any]) -> None:
    ada = await make_node("ada")
    refused = await ada.client.get("/login", params={"token": "not-a-token"})
    assert refused.status_code == 403
    assert (await ada.client.get("/")).status_code == 303


async def test_only_the_owner_token_gets_a_login_link(make_node: Callable[..., Any]) -> None:
    ada = await make_node("ada")
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await ada.client.post("/api/ui/login-link", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_pages_without_a_session_lead_to_the_login_page(
    make_node: Callable[..., Any],
) -> None:
    ada = await make_node("ada")
    for page in [*PAGES, f"/people/{ada.node.did}", "/guilds/" + "0" * 64]:
        response = await ada.client.get(page)
        assert response.status_code == 303, page
        assert response.headers["location"] == "/login"
    login = await ada.client.get("/login")
    assert login.status_code == 200
    assert "guildnode run" in login.text
    assert "guildnode ui" in login.text
    assert "Sign out" not in login.text  # no navigation for strangers


async def test_a_post_without_a_session_is_refused_and_changes_nothing(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    before = ada.node.store.count()
    response = await ada.client.post(
        f"/people/{author(3).did}/vouch", data={"level": "3", "csrftoken": "x"}
    )
    assert response.status_code == 403
    assert ada.node.store.count() == before


async def test_signing_out_ends_the_session(make_node: Callable[..., Any]) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    token = await form_token(ada)
    out = await ada.client.post("/logout", data={"csrftoken": token})
    assert out.status_code == 303
    assert out.headers["location"] == "/login?signed_out=true"
    assert (await ada.client.get("/")).status_code == 303


# -- CSRF, Host, headers ----------------------------------------------------------------


async def test_a_form_post_without_the_csrf_token_is_refused(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    token = await form_token(ada)
    bob = author(3).did
    before = ada.node.store.count()
    for data in ({"level": "3"}, {"level": "3", "csrftoken": "forged"}):
        refused = await ada.client.post(f"/people/{bob}/vouch", data=data)
        assert refused.status_code == 403
        assert "security token" in refused.text
    assert ada.node.store.count() == before

    accepted = await ada.client.post(
        f"/people/{bob}/vouch", data={"level": "3", "csrftoken": token}
    )
    assert accepted.status_code == 303
    assert ada.node.store.count() == before + 1


async def test_every_form_on_every_page_carries_the_csrf_token(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    guild = ada.node.found_guild("Typesetters", "Setting type", vouches_required=1)
    for page in [*PAGES, f"/people/{author(3).did}", f"/guilds/{guild.id}"]:
        html = (await ada.client.get(page)).text
        for form in re.findall(r"<form[^>]*>.*?</form>", html, flags=re.S):
            if 'method="post"' in form:
                assert 'name="csrftoken"' in form, (page, form[:200])


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8547", "127.0.0.2:8547",
                                  "localhost:9999", ""])  # fmt: skip
async def test_a_foreign_host_header_is_refused(make_node: Callable[..., Any], host: str) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    token = httpx.URL(ada.app.state.ui_auth.login_url()).params["token"]
    for path in ("/", "/people", "/static/ui.css", f"/login?token={token}"):
        response = await ada.client.get(path, headers={"Host": host})
        assert response.status_code == 400, (host, path)
        assert "host name" in response.text
    # the refused request did not spend the link
    assert (await ada.client.get("/login", params={"token": token})).status_code == 303


async def test_the_node_own_names_are_accepted(make_node: Callable[..., Any]) -> None:
    ada = await make_node("ada")
    for host in ("127.0.0.1:8547", "localhost:8547", "ada.test", "ADA.test:80"):
        response = await ada.client.get("/", headers={"Host": host})
        assert response.status_code == 303, host  # to the login page, not refused
    # the federation API is not the UI's: it answers whatever the Host
    known = await ada.client.get("/.well-known/guildnode", headers={"Host": "evil.example"})
    assert known.status_code == 200


async def test_pages_carry_a_strict_content_security_policy(make_node: Callable[..., Any]) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    for path in ("/", "/login", "/static/ui.css"):
        response = await ada.client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    home = (await ada.client.get("/")).text
    assert "<script>" not in home  # scripts only from files
    assert " style=" not in home
    assert (await ada.client.get("/")).headers["cache-control"] == "no-store"


# -- what people wrote is shown as text -------------------------------------------------

SCRIPT = "<script>alert('name')</script>"
IMAGE = '<img src=x onerror="alert(1)"><b>bold</b>'


async def test_html_in_a_profile_name_and_a_statement_is_shown_as_text(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    mallory = author(6)
    profile = mallory.next("profile", {"name": SCRIPT, "kind": "person", "bio": IMAGE})
    vouch = mallory.next(
        "vouch", {"subject": ada.node.did, "level": 3, "context": "python", "statement": IMAGE}
    )
    results = await ada.inbox([profile.to_wire(), vouch.to_wire()], welcome=False)
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    ada.node.vouch(mallory.did, level=2)
    guild = ada.node.found_guild(SCRIPT, IMAGE, vouches_required=1)
    await sign_in(ada)
    for page in ("/", f"/people/{mallory.did}", f"/people/{ada.node.did}", "/people",
                 "/graph", "/guilds", f"/guilds/{guild.id}"):  # fmt: skip
        html = (await ada.client.get(page)).text
        assert "<script>alert" not in html, page
        assert "<img src=x" not in html, page
        assert "<b>bold</b>" not in html, page
    person = (await ada.client.get(f"/people/{mallory.did}")).text
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in person
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;b&gt;bold&lt;/b&gt;" in person


# -- pages and forms --------------------------------------------------------------------


async def test_every_page_answers_with_a_session(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    bob = await make_node("bob")
    ada.node.set_profile(name="Ada")
    bob.node.set_profile(name="Bob")
    await ada.federation.add_peer(bob.url)
    ada.node.vouch(bob.node.did, level=3, context="python", statement="Shipped a parser")
    bob.node.vouch(author(4).did, level=2, context="python")
    guild = ada.node.found_guild("Typesetters", "Setting type", vouches_required=1, cooling_days=0)
    await ada.federation.sync_all()
    await sign_in(ada)
    pages = [*PAGES, f"/people/{bob.node.did}", f"/people/{bob.node.did}?context=python",
             f"/people/{ada.node.did}", f"/people/{author(4).did}", f"/guilds/{guild.id}",
             "/guilds/" + "0" * 64, "/people/did:key:nope"]  # fmt: skip
    for page in pages:
        response = await ada.client.get(page)
        assert response.status_code in (200, 404), (page, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1" in response.text
    for page in pages[:-2]:
        assert (await ada.client.get(page)).status_code == 200, page
    graph = (await ada.client.get("/graph?context=python")).text
    assert f'href="/people/{bob.node.did}?context=python"' in graph  # one hop
    assert f'href="/people/{author(4).did}?context=python"' in graph  # two hops
    assert "Shipped a parser" in (await ada.client.get(f"/people/{bob.node.did}")).text
    for asset in ("/static/ui.css", "/static/ui.js", "/static/icon.svg"):
        assert (await ada.client.get(asset)).status_code == 200
    await settle(ada, bob)


async def test_a_vouch_from_the_form_changes_trust_and_the_graph(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    bob = author(3).did
    before = (await ada.client.get(f"/people/{bob}?context=python")).text
    assert 'data-score="0.000"' in before
    assert f'href="/people/{bob}' not in (await ada.client.get("/graph")).text
    token = csrf_of(before)
    done = await ada.client.post(
        f"/people/{bob}/vouch",
        data={"csrftoken": token, "context": "python", "level": "3",
              "statement": "Wrote the parser", "expires_days": "90"},
    )  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"/people/{bob}?context=python"
    after = (await ada.client.get(done.headers["location"])).text
    assert "You vouched for" in after  # the confirmation
    assert "rank 1 of 1" in after
    assert 'data-score="0.000"' not in after
    assert "Wrote the parser" in after
    graph = (await ada.client.get("/graph?context=python")).text
    assert f'href="/people/{bob}?context=python"' in graph
    assert f'data-subject="{bob}"' in graph

    vouch_id = ada.node.records(author=ada.node.did, kind="vouch")[-1]["id"]
    revoked = await ada.client.post(
        f"/people/{bob}/revoke", data={"csrftoken": token, "vouch": vouch_id}
    )
    assert revoked.status_code == 303
    page = (await ada.client.get(f"/people/{bob}?context=python")).text
    assert "is revoked" in page
    assert 'data-score="0.000"' in page


async def test_refused_forms_say_why_beside_the_field(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    bob = author(3).did
    token = await form_token(ada, f"/people/{bob}")
    before = ada.node.store.count()
    cases = [
        (f"/people/{bob}/vouch", {"level": "7"}, "vouch-level-error", "from 1 to 3"),
        (f"/people/{bob}/vouch", {"level": "2", "context": "Not A Context"},
         "vouch-context-error", "A context is a skill"),
        (f"/people/{bob}/vouch", {"level": "2", "statement": "x" * 1001},
         "vouch-statement-error", "longer than 1000 characters"),
        (f"/people/{bob}/vouch", {"level": "2", "expires_days": "400"},
         "vouch-expires_days-error", "from 1 to 365"),
        ("/guilds", {"name": "Solo", "purpose": "p", "vouches_required": "3"},
         "found-vouches_required-error", "founders could ever give"),
        ("/guilds", {"name": "Solo", "purpose": "p", "cofounders": "did:key:nope"},
         "found-cofounders-error", "invalid_did"),
        ("/guilds", {"name": "", "purpose": "p"}, "found-name-error", "Give the guild a name"),
        ("/profile", {"name": ""}, "profile-name-error", "must not be empty"),
        ("/peers", {"url": "not a url"}, "peer-url-error", "invalid_url"),
    ]  # fmt: skip
    for path, data, error_id, words in cases:
        response = await ada.client.post(path, data={"csrftoken": token, **data})
        assert response.status_code == 400, (path, data)
        found = re.search(rf'id="{error_id}">([^<]*)<', response.text)
        assert found, (path, data, error_id)
        assert words in found.group(1).replace("&#39;", "'"), found.group(1)
        # the form keeps what was typed
        for value in data.values():
            if value and len(value) < 50:
                assert value in response.text
    assert ada.node.store.count() == before


async def test_guild_pages_found_apply_and_vouch_for_admission(
    make_node: Callable[..., Any],
) -> None:
    ada = await make_node("ada")
    bob = await make_node("bob")
    bob.node.set_profile(name="Bob")
    await sign_in(ada)
    token = await form_token(ada, "/guilds")
    founded = await ada.client.post(
        "/guilds",
        data={"csrftoken": token, "name": "Typesetters", "purpose": "Setting <type>",
              "vouches_required": "1", "cooling_days": "0", "skills": "latex, typesetting"},
    )  # fmt: skip
    assert founded.status_code == 303
    guild_id = founded.headers["location"].removeprefix("/guilds/")
    page = (await ada.client.get(founded.headers["location"])).text
    assert "You founded the guild Typesetters" in page
    assert "Setting &lt;type&gt;" in page

    # Bob applies on his own node; his records reach Ada's
    await ada.federation.add_peer(bob.url)
    await bob.federation.add_peer(ada.url)
    bob.node.vouch(ada.node.did, level=1)
    await bob.federation.sync_all()
    bob.node.apply_guild(guild_id, "I set type")
    await ada.federation.sync_all()
    page = (await ada.client.get(f"/guilds/{guild_id}")).text
    assert "Vouches: 0 of 1" in page
    assert "Vouch for Bob's admission" in page

    admitted = await ada.client.post(
        f"/guilds/{guild_id}/vouch", data={"csrftoken": token, "subject": bob.node.did}
    )
    assert admitted.status_code == 303
    page = (await ada.client.get(f"/guilds/{guild_id}")).text
    assert "admission (level 2)" in page
    assert "Members (2)" in page
    assert "Applicants (0)" in page

    left = await ada.client.post(f"/guilds/{guild_id}/leave", data={"csrftoken": token})
    assert left.status_code == 303
    assert "You left the guild" in (await ada.client.get(f"/guilds/{guild_id}")).text
    await settle(ada, bob)


async def test_peers_page_adds_syncs_and_removes(make_node: Callable[..., Any]) -> None:
    ada = await make_node("ada")
    bob = await make_node("bob")
    bob.node.set_profile(name="Bob")
    await sign_in(ada)
    token = await form_token(ada, "/peers")
    nothing = await ada.client.post("/peers/sync", data={"csrftoken": token, "next": "/peers"})
    assert nothing.status_code == 303
    assert "no peers to sync with" in (await ada.client.get("/peers")).text

    added = await ada.client.post("/peers", data={"csrftoken": token, "url": bob.url})
    assert added.status_code == 303
    page = (await ada.client.get("/peers")).text
    assert "Added the peer" in page and bob.url in page

    synced = await ada.client.post("/peers/sync", data={"csrftoken": token, "next": "/"})
    assert synced.status_code == 303
    assert synced.headers["location"] == "/"
    home = (await ada.client.get("/")).text
    assert "Synced with 1 peer." in home
    assert f"{bob.url}: " in home

    away = await ada.client.post(
        "/peers/sync", data={"csrftoken": token, "next": "//evil.example/"}
    )
    assert away.headers["location"] == "/peers"

    await settle(ada, bob)
    removed = await ada.client.post(
        "/peers/remove", data={"csrftoken": token, "peer": bob.node.did}
    )
    assert removed.status_code == 303
    assert "No peers yet" in (await ada.client.get("/peers")).text


async def test_profile_block_and_unblock(
    make_node: Callable[..., Any], author: Callable[[int], Any]
) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    token = await form_token(ada)
    published = await ada.client.post(
        "/profile", data={"csrftoken": token, "name": "Ada L.", "skills": "python, latex"}
    )
    assert published.status_code == 303
    home = (await ada.client.get("/")).text
    assert "Your profile is published" in home
    assert ada.node.profile() == {"name": "Ada L.", "kind": "person", "skills": ["python", "latex"],
                                  "bio": ""}  # fmt: skip

    bob = author(3).did
    blocked = await ada.client.post(f"/people/{bob}/block", data={"csrftoken": token})
    assert blocked.status_code == 303
    assert bob in ada.node.store.blocked()
    assert "Nothing was published" in (await ada.client.get(f"/people/{bob}")).text
    await ada.client.post(f"/people/{bob}/unblock", data={"csrftoken": token})
    assert bob not in ada.node.store.blocked()


def test_templates_are_found_in_a_wheel_and_in_a_checkout(tmp_path: Path) -> None:
    wheel = tmp_path / "site" / "guildnode"
    (wheel / "web" / "templates").mkdir(parents=True)
    assert find_web_dir(wheel) == wheel / "web"
    checkout = tmp_path / "repo" / "guildnode"
    checkout.mkdir(parents=True)
    (checkout.parent / "web" / "templates").mkdir(parents=True)
    assert find_web_dir(checkout) == checkout.parent / "web"
    with pytest.raises(FileNotFoundError):
        find_web_dir(tmp_path / "nowhere" / "guildnode")
    assert (find_web_dir() / "templates" / "base.html").is_file()


def test_the_graph_layout_puts_the_owner_in_the_centre_and_two_hops_around() -> None:
    from guildnode.ui.graph import GENERAL, SIZE, Link, layout

    links = [
        Link("me", "a", 3.0, "python"),
        Link("me", "a", 1.0, None),  # weaker: the pair is drawn once, at its strongest
        Link("b", "me", 1.0, None),  # vouches for me: inner ring too
        Link("a", "c", 2.0, "python"),  # two hops
        Link("c", "d", 2.0, None),  # three hops: left out
        Link("a", "me", 0.0, None),  # does not count
    ]
    scores = {"me": 0.15, "a": 0.05, "b": 0.0, "c": 0.01, "d": 0.001}
    picture = layout("me", links, scores, {"me": "Me", "a": "Ann"})
    hops = {dot.did: dot.hop for dot in picture.dots}
    assert hops == {"me": 0, "a": 1, "b": 1, "c": 2}
    centre = picture.dots[0]
    assert (centre.x, centre.y) == (SIZE / 2, SIZE / 2)
    drawn = {(line.author, line.subject): line for line in picture.lines}
    assert set(drawn) == {("me", "a"), ("b", "me"), ("a", "c")}
    assert drawn[("me", "a")].context == "python"
    assert drawn[("me", "a")].width > drawn[("b", "me")].width  # width by weight
    assert drawn[("b", "me")].colour == GENERAL
    assert drawn[("me", "a")].colour != GENERAL
    assert dict(picture.legend) == {None: GENERAL, "python": drawn[("me", "a")].colour}
    assert all(line.path.startswith("M ") and " Q " in line.path for line in picture.lines)
    # a vouch each way between two people: the two curves bow to different sides
    both = layout("me", [Link("me", "a", 1.0, None), Link("a", "me", 1.0, None)], {}, {})
    there, back = (line.path.split(" Q ")[1].split()[:2] for line in both.lines)
    assert there != back
    alone = layout("me", [], {}, {})
    assert [dot.did for dot in alone.dots] == ["me"]
    assert alone.lines == []
