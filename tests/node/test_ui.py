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
from markupsafe import escape

from guildnode.api import federation, local
from guildnode.app import create_app
from guildnode.settings import Settings
from guildnode.ui import ROUTERS
from guildnode.ui.guard import is_ui_path
from guildnode.ui.render import find_web_dir

pytestmark = pytest.mark.anyio

PAGES = ["/", "/people", "/people?context=python", "/graph", "/graph?context=python",
         "/guilds", "/peers", "/briefs", "/briefs?skill=rust", "/contracts",
         "/contracts?state=active", "/messages", "/identity", "/identity/export",
         "/notifications", "/delegates", "/briefs/search", "/guilds/find"]  # fmt: skip


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


async def test_a_session_ends_after_twelve_hours_and_leaves_no_row(
    clocked: tuple[httpx.AsyncClient, Any, Clock],
) -> None:
    client, app, clock = clocked
    token = httpx.URL(app.state.ui_auth.login_url()).params["token"]
    assert (await client.get("/login", params={"token": token})).status_code == 303
    store = app.state.node.store
    [(digest,)] = store.db.execute("SELECT digest FROM ui_sessions").fetchall()
    assert digest not in str(client.cookies)  # only the hash is stored
    clock.now += 12 * 3600 - 1
    assert (await client.get("/")).status_code == 200
    clock.now += 2
    ended = await client.get("/")
    assert ended.status_code == 303 and ended.headers["location"] == "/login"
    assert store.db.execute("SELECT count(*) FROM ui_sessions").fetchone()[0] == 0


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


async def test_every_ui_route_is_behind_the_csrf_and_host_guard(
    make_node: Callable[..., Any],
) -> None:
    """The guard covers every path of the UI's routers, and none of the federation or
    owner-API paths (which have their own authentication)."""
    ui = [route.path for router in ROUTERS for route in router.routes]
    assert {"/delegates", "/messages", "/disputes/{dispute_id}"} <= set(ui)
    assert [path for path in ui if not is_ui_path(path)] == []
    others = [route.path for router in (federation.router, local.router) for route in router.routes]
    assert {"/inbox", "/sync/batch", "/api/me"} <= set(others)
    assert [path for path in others if is_ui_path(path)] == []
    ada = await make_node("ada")
    await sign_in(ada)
    before = ada.node.store.count()
    refused = await ada.client.post(
        "/delegates/add", data={"delegate": "did:key:z6Mkp", "scope": "briefs", "expires_days": "9"}
    )
    assert refused.status_code == 403 and "security token" in refused.text
    assert ada.node.store.count() == before


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
        title = re.search(r"<title>(.*?)</title>", response.text, flags=re.S)
        assert title and "<" not in title.group(1), (page, title and title.group(1)[:200])
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


# -- briefs and contracts ---------------------------------------------------------------


async def sync(*served: Any) -> None:
    for _ in range(2):
        for each in served:
            await each.federation.flush()
        for each in served:
            await each.federation.sync_all()


async def gig_pair(make_node: Callable[..., Any]) -> tuple[Any, Any, str]:
    """Northwind (an organisation) and Fay, a guild's founder who vouches for Northwind in
    the guild's context: Northwind's briefs reach Fay, and the guild's charter Northwind."""
    org, fay = await make_node("org"), await make_node("fay")
    org.node.set_profile(name="Northwind", organisation=True)
    fay.node.set_profile(name="Fay", skills=["rust"])
    await org.federation.add_peer(fay.url)
    await fay.federation.add_peer(org.url)
    guild = fay.node.found_guild("Rustaceans", "Rust work", vouches_required=1, cooling_days=0)
    fay.node.vouch(org.node.did, level=2, context=f"guild:{guild.id}")
    await sync(org, fay)
    assert guild.id in org.node.charters()
    await sign_in(org)
    await sign_in(fay)
    return org, fay, guild.id


def brief_form(token: str, guild: str, **changes: str) -> dict[str, str]:
    return {"csrftoken": token, "guild": guild, "title": "Port a <parser>",
            "description": "Streaming, in Rust.", "criteria": "Tests pass\nNo unsafe",
            "budget_min": "1500", "budget_max": "3000.50", "currency": "eur",
            "engagement": "fixed", "skills": "rust", "expires_days": "14"} | changes  # fmt: skip


async def post(served: Any, path: str, token: str, **data: str) -> httpx.Response:
    return await served.client.post(path, data={"csrftoken": token, **data})


def forms_carry_the_token(html: str) -> None:
    forms = re.findall(r"<form[^>]*>.*?</form>", html, flags=re.S)
    assert forms
    for form in forms:
        if 'method="post"' in form:
            assert 'name="csrftoken"' in form, form[:200]


def error_beside(html: str, error_id: str) -> str:
    found = re.search(rf'id="{error_id}">([^<]*)<', html)
    assert found, (error_id, html[:3000])
    return found.group(1).replace("&#39;", "'")


async def test_a_gig_through_the_forms_from_brief_to_feedback(
    make_node: Callable[..., Any],
) -> None:
    org, fay, guild = await gig_pair(make_node)
    org_token = await form_token(org, "/briefs")
    board = (await org.client.get("/briefs")).text
    assert "Rustaceans" in board and 'method="post" action="/briefs"' in board

    posted = await org.client.post("/briefs", data=brief_form(org_token, guild))
    assert posted.status_code == 303, posted.text
    brief_path = posted.headers["location"]
    brief_id = brief_path.removeprefix("/briefs/")
    page = (await org.client.get(brief_path)).text
    assert "Your brief &#39;Port a &lt;parser&gt;&#39; is posted" in page
    assert "1,500.00 to 3,000.50 EUR" in page
    held = org.node.brief(brief_id).body
    assert held["budget"] == {"min": 150_000, "max": 300_050, "currency": "EUR"}
    assert held["acceptance_criteria"] == ["Tests pass", "No unsafe"]

    # Fay sees it first on her board and her home page, and proposes
    await sync(org, fay)
    fay_token = await form_token(fay, "/briefs")
    assert "matches rust" in (await fay.client.get("/briefs")).text
    home = (await fay.client.get("/")).text
    assert "Briefs matching your skills" in home and f'href="{brief_path}"' in home
    assert "Port a &lt;parser&gt;" in (await fay.client.get(f"/briefs?guild={guild}")).text
    assert "Port a" not in (await fay.client.get("/briefs?skill=cobol")).text
    proposed = await post(fay, f"{brief_path}/propose", fay_token, pitch="I <can> do it",
                          price="2500", currency="EUR", days="20")  # fmt: skip
    assert proposed.status_code == 303, proposed.text
    page = (await fay.client.get(brief_path)).text
    assert "Your proposal is sent to Northwind" in page
    assert "You proposed 2,500.00 EUR in 20 days" in page

    # Northwind sees the proposal and offers a contract in two milestones
    await sync(org, fay)
    page = (await org.client.get(brief_path)).text
    assert "Proposals received (1)" in page and "I &lt;can&gt; do it" in page
    proposal = org.node.market.proposals(brief_id)[0].id
    offered = await post(org, f"{brief_path}/offer", org_token, proposal=proposal,
                         scope="The tokenizer and the parser", criteria="Tests pass",
                         milestones="Tokenizer | 1000 | 10\nParser | 1500 | 20", days="30",
                         respond_days="7")  # fmt: skip
    assert offered.status_code == 303, offered.text
    contract_path = offered.headers["location"]
    contract_id = contract_path.removeprefix("/contracts/")
    page = (await org.client.get(contract_path)).text
    assert "You offered Fay a contract for 2,500.00 EUR" in page
    assert "Waiting for Fay" in page
    assert "/accept" not in page  # not an action for the one who offered

    # Fay counters; Northwind accepts the counter
    await sync(org, fay)
    page = (await fay.client.get(contract_path)).text
    assert 'action="/contracts/' + contract_id + '/accept"' in page
    assert "Tokenizer | 1000.00 | 10" in page  # the counter form starts from the terms
    forms_carry_the_token(page)
    forms_carry_the_token((await org.client.get(brief_path)).text)
    forms_carry_the_token((await fay.client.get(brief_path)).text)
    assert "/submit" not in page
    countered = await post(fay, f"{contract_path}/counter", fay_token, scope="",
                           milestones="Tokenizer | 1000 | 10\nParser | 2000 | 20", days="30",
                           respond_days="7")  # fmt: skip
    assert countered.status_code == 303, countered.text
    assert "You sent a counter-offer" in (await fay.client.get(contract_path)).text
    await sync(org, fay)
    accepted = await post(org, f"{contract_path}/accept", org_token)
    assert accepted.status_code == 303
    assert (
        "You accepted the offer: the contract is active"
        in (await org.client.get(contract_path)).text
    )
    assert org.node.market.contract(contract_id).terms["price"]["amount"] == 300_000

    # The milestones, each by the party whose turn it is
    await sync(org, fay)
    home = (await fay.client.get("/")).text
    assert "Next for you: submit milestone 1" in home
    for index in (0, 1):
        done = await post(fay, f"{contract_path}/submit", fay_token, milestone=str(index))
        assert done.status_code == 303
    await sync(org, fay)
    for action in ("approve", "paid"):
        for index in (0, 1):
            done = await post(org, f"{contract_path}/{action}", org_token, milestone=str(index))
            assert done.status_code == 303, (action, done.text)
    await sync(org, fay)
    for index in (0, 1):
        done = await post(fay, f"{contract_path}/received", fay_token, milestone=str(index))
        assert done.status_code == 303
    page = (await fay.client.get(contract_path)).text
    assert "You confirmed you received the payment for milestone 2" in page
    completed = await post(fay, f"{contract_path}/complete", fay_token, note="Thanks")
    assert completed.status_code == 303
    page = (await fay.client.get(contract_path)).text
    assert "You marked the contract complete" in page
    assert 'action="/contracts/' + contract_id + '/feedback"' in page
    forms_carry_the_token(page)

    # Feedback on both sides: committed blind, revealed once both have committed
    given = await post(fay, f"{contract_path}/feedback", fay_token, rating="3",
                       communication="3", statement="Clear <brief>")  # fmt: skip
    assert given.status_code == 303, given.text
    page = (await fay.client.get(contract_path)).text
    assert "Your feedback is committed" in page
    assert "You gave your feedback" in page
    await sync(org, fay)
    given = await post(org, f"{contract_path}/feedback", org_token, rating="2",
                       quality="2", timeliness="3")  # fmt: skip
    assert given.status_code == 303, given.text
    await sync(org, fay)
    await sync(org, fay)
    page = (await org.client.get(contract_path)).text
    for words in ("Offer: 2,500.00 EUR", "Counter-offer: 3,000.00 EUR", "Accepted the offer",
                  "Submitted milestone 1", "Approved milestone 2", "Paid 1,000.00 EUR",
                  "Received the payment for milestone 2", "Marked the contract complete",
                  "Receipt: the contract completed; payment on time", "Committed to feedback",
                  "Feedback revealed: rating 3 of 3 (communication 3)",
                  "Feedback revealed: rating 2 of 3", "Clear &lt;brief&gt;"):  # fmt: skip
        assert words in page, words
    assert "Your feedback is revealed" in page and "You gave your feedback" not in page
    assert "completed" in (await org.client.get("/contracts?state=completed")).text
    assert "No contract is active" in (await org.client.get("/contracts?state=active")).text

    # Fay's page about Northwind: its payment record, the contract, the feedback
    person = (await fay.client.get(f"/people/{org.node.did}")).text
    assert "1 on time, 0 late, 0 unpaid, 0 disputed" in person
    assert f'href="{contract_path}"' in person
    assert "Feedback about them" in person
    assert "rating 3 of 3" in person and "Clear &lt;brief&gt;" in person
    about_fay = (await org.client.get(f"/people/{fay.node.did}")).text
    assert "rating 2 of 3" in about_fay
    assert "Payment record" not in about_fay  # a freelancer has none
    await settle(org, fay)


async def test_work_forms_refuse_beside_the_field_and_store_nothing(
    make_node: Callable[..., Any],
) -> None:
    org, fay, guild = await gig_pair(make_node)
    brief = org.node.post_brief(guilds=[guild], title="Port a parser", description="Rust",
                                acceptance_criteria=["Tests pass"], budget_min=1000,
                                budget_max=9000, currency="EUR", skills=["rust"])  # fmt: skip
    await sync(org, fay)
    proposal = fay.node.market.propose(brief.id, pitch="Me", amount=5000, currency="EUR",
                                       duration_days=9)  # fmt: skip
    await sync(org, fay)
    offer = org.node.market.offer(proposal.id, scope="All", acceptance_criteria=["Tests pass"],
                                  milestones=[("All of it", 5000, 7)], days=10)  # fmt: skip
    await sync(org, fay)
    org_token, fay_token = await form_token(org, "/briefs"), await form_token(fay, "/briefs")
    brief_path, contract_path = f"/briefs/{brief.id}", f"/contracts/{offer.id}"
    offer_form = {"proposal": proposal.id, "scope": "All", "criteria": "Tests pass",
                  "days": "30", "respond_days": "7"}  # fmt: skip
    cases = [
        (org, "/briefs", brief_form(org_token, guild, currency="XYZ"), "brief-currency-error",
         "'XYZ' is not a currency code"),
        (org, "/briefs", brief_form(org_token, guild, budget_min="3000", budget_max="1500"),
         "brief-budget_max-error", "must not be below the minimum"),
        (org, "/briefs", brief_form(org_token, guild, budget_min="12.345"),
         "brief-budget_min-error", "at most 2 decimal places"),
        (org, "/briefs", brief_form(org_token, guild, expires_days="40"),
         "brief-expires_days-error", "from 1 to 30"),
        (org, "/briefs", brief_form(org_token, ""), "brief-guild-error", "Choose the guild"),
        (org, "/briefs", brief_form(org_token, guild, criteria=" "), "brief-criteria-error",
         "at least one acceptance criterion"),
        (org, "/briefs", brief_form(org_token, guild, skills="Not A Skill!"),
         "brief-skills-error", "Skills are lower-case words"),
        (org, f"{brief_path}/offer",
         {"csrftoken": org_token, **offer_form, "milestones": "just a title"},
         "offer-1-milestones-error", "Line 1 should read"),
        (org, f"{brief_path}/offer",
         {"csrftoken": org_token, **offer_form, "milestones": "A | 50 | 40"},
         "offer-1-milestones-error", "due between the start and the end. (invalid_terms)"),
        (fay, f"{brief_path}/propose",
         {"csrftoken": fay_token, "pitch": "Me", "price": "50", "currency": "XYZ", "days": "9"},
         "propose-currency-error", "'XYZ' is not a currency code"),
        (fay, f"{brief_path}/propose",
         {"csrftoken": fay_token, "pitch": "Me", "price": "lots", "currency": "EUR", "days": "9"},
         "propose-price-error", "The price must be an amount in EUR"),
        (fay, f"{brief_path}/propose",
         {"csrftoken": fay_token, "pitch": "Me", "price": "50", "currency": "JPY", "days": "0"},
         "propose-days-error", "from 1 to 365"),
        (fay, f"{brief_path}/propose",
         {"csrftoken": fay_token, "pitch": "Me", "price": "50.5", "currency": "JPY", "days": "9"},
         "propose-price-error", "at most 0 decimal places"),
        (fay, f"{contract_path}/counter",
         {"csrftoken": fay_token, "milestones": "A | ten | 5", "days": "10"},
         "counter-milestones-error", "Line 1 should read"),
        (fay, f"{contract_path}/counter",
         {"csrftoken": fay_token, "milestones": "A | 50 | 5", "days": "400"},
         "counter-days-error", "from 1 to 180"),
    ]  # fmt: skip
    for served, path, data, error_id, words in cases:
        held = served.node.store.count()
        response = await served.client.post(path, data=data)
        assert response.status_code == 400, (path, data, response.text[:300])
        assert words in error_beside(response.text, error_id), (path, data)
        for key, value in data.items():  # the form keeps what was typed
            if key not in ("csrftoken", "guild", "proposal") and 2 < len(value) < 30:
                assert str(escape(value)) in response.text, (path, key)
        assert served.node.store.count() == held, (path, data)

    # a refusal by the node itself, about the whole form
    held = org.node.store.count()
    own = await post(org, f"{brief_path}/propose", org_token, pitch="Me", price="50",
                     currency="EUR", days="9")  # fmt: skip
    assert own.status_code == 400
    assert "You cannot propose on your own brief. (own_brief)" in own.text
    assert org.node.store.count() == held

    # once active: cancel needs a reason; once ended: feedback needs a rating from 1 to 3
    assert (await post(fay, f"{contract_path}/accept", fay_token)).status_code == 303
    held = fay.node.store.count()
    no_reason = await post(fay, f"{contract_path}/cancel", fay_token, reason="")
    assert no_reason.status_code == 400
    assert "Say why you cancel" in error_beside(no_reason.text, "cancel-reason-error")
    assert fay.node.store.count() == held
    cancelled = await post(fay, f"{contract_path}/cancel", fay_token, reason="Plans <changed>")
    assert cancelled.status_code == 303
    page = (await fay.client.get(contract_path)).text
    assert "You cancelled the contract" in page
    assert "Cancelled the contract: Plans &lt;changed&gt;" in page
    await sync(org, fay)  # Northwind's receipt arrives: the count moves no more
    held = fay.node.store.count()
    for rating, words in (("", "Choose a rating"), ("5", "from 1 to 3")):
        refused = await post(fay, f"{contract_path}/feedback", fay_token, rating=rating)
        assert refused.status_code == 400
        assert words in error_beside(refused.text, "feedback-rating-error")
    assert fay.node.store.count() == held
    # an action on an ended contract is refused by the node, above the forms
    wrong = await post(fay, f"{contract_path}/approve", fay_token, milestone="0")
    assert wrong.status_code == 400
    assert "(not_active)" in wrong.text
    assert fay.node.store.count() == held
    await settle(org, fay)


async def test_work_pages_for_what_is_not_there(make_node: Callable[..., Any]) -> None:
    ada = await make_node("ada")
    await sign_in(ada)
    token = await form_token(ada, "/briefs")
    for path in ("/briefs/" + "0" * 64, "/contracts/" + "0" * 64):
        missing = await ada.client.get(path)
        assert missing.status_code == 404
        assert "No such" in missing.text
    refused = await post(ada, "/contracts/" + "0" * 64 + "/accept", token)
    assert refused.status_code == 404
    unknown = await post(ada, "/contracts/" + "0" * 64 + "/explode", token)
    assert unknown.status_code == 404
    board = (await ada.client.get("/briefs")).text
    assert "Briefs are posted by organisations" in board  # a person's node
    assert 'method="post" action="/briefs"' not in board
    assert "No open brief yet" in board
