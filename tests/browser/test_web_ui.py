"""The web UI in Chromium, against three real `guildnode run` processes: Ada (driven through
her web UI), Bo (through his own web UI and local API) and Cy (through her local API).

Every page visited is screenshotted into the test's tmp_path; any answer with a server error
fails the test. Sync is driven by "Sync now" or POST /api/sync, never by waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import Running, Screens, Trio, go, launch, signed_in, start_trio, sync_now
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    started = start_trio(tmp_path_factory.mktemp("browser"))
    try:
        started.bo.api("POST", "/api/profile", {"name": "Bo Typesetter", "skills": ["latex"]})
        started.cy.api("POST", "/api/profile", {"name": "Cy Compositor"})
        yield started
    finally:
        for node in (started.ada, started.bo, started.cy):
            node.stop()


@pytest.fixture(scope="module")
def browser(trio: Trio) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server_errors() -> list[str]:
    return []


@pytest.fixture
def screens(tmp_path: Path, server_errors: list[str]) -> Iterator[Screens]:
    taken = Screens(tmp_path, server_errors=server_errors)
    yield taken
    errors = list(server_errors)
    server_errors.clear()
    assert not errors, f"pages answered with server errors: {errors}"


@pytest.fixture(scope="module")
def ada(browser: Browser, trio: Trio, server_errors: list[str]) -> Iterator[Page]:
    """Ada's browser, signed in with the link `guildnode run` printed."""
    page = signed_in(browser, Screens(trio.ada.logs, server_errors=server_errors),
                     trio.ada.login_link)  # fmt: skip
    yield page
    page.context.close()


def add_peer_in_ui(page: Page, node: Running, peer: Running) -> None:
    go(page, node, "/peers")
    page.get_by_label("Their node's address").fill(peer.url)
    page.get_by_label("It is on this machine or my own network").check()  # 127.0.0.1
    page.get_by_role("button", name="Add peer").click()
    expect(page.locator(".flash")).to_contain_text("Added the peer")
    expect(page.locator(".peers")).to_contain_text(peer.url)


def test_the_login_page_and_a_spent_link(
    browser: Browser, trio: Trio, ada: Page, screens: Screens
) -> None:
    stranger = screens.watch(browser.new_context()).new_page()
    stranger.goto(trio.ada.url + "/people")
    expect(stranger).to_have_url(trio.ada.url + "/login")
    expect(stranger.locator("h1")).to_have_text("Sign in to your node")
    expect(stranger.locator("main")).to_contain_text("guildnode ui")
    screens.shoot(stranger, "login")
    # the link `run` printed was spent by Ada's browser: it opens nothing now
    stranger.goto(trio.ada.login_link)
    expect(stranger.locator("h1")).to_contain_text("does not work any more")
    screens.shoot(stranger, "login-spent")
    stranger.context.close()


def test_vouching_for_a_person_changes_trust_and_the_graph(
    trio: Trio, ada: Page, screens: Screens
) -> None:
    page, me, bo = ada, trio.ada, trio.bo
    go(page, me, "/")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Skills", exact=True).fill("typesetting, latex")
    page.get_by_role("button", name="Publish profile").click()
    expect(page.locator(".flash")).to_contain_text("Your profile is published")
    expect(page.locator("h1")).to_have_text("Ada Lovelace")
    expect(page.locator("#my-did")).to_have_value(me.did)
    screens.shoot(page, "home")

    add_peer_in_ui(page, me, bo)
    go(page, me, "/people")
    page.get_by_label("Their DID").fill(bo.did)
    page.get_by_role("button", name="Open their page").click()
    expect(page).to_have_url(f"{me.url}/people/{bo.did}")

    go(page, me, f"/people/{bo.did}?context=typesetting")
    expect(page.locator(".trust-score")).to_have_attribute("data-score", "0.000")
    my_edge = f'path[data-author="{me.did}"][data-subject="{bo.did}"]'
    go(page, me, "/graph?context=typesetting")
    expect(page.locator(my_edge)).to_have_count(0)
    screens.shoot(page, "graph-before")

    go(page, me, f"/people/{bo.did}?context=typesetting")
    expect(page.locator("#vouch-context")).to_have_value("typesetting")
    page.get_by_label("3 — among the best I have worked with").check()
    page.get_by_label("Statement (optional)").fill("<b>Set</b> our whole catalogue")
    page.get_by_label("Expires after (days, optional)").fill("90")
    page.get_by_role("button", name="Vouch", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("You vouched for")
    expect(page.locator(".flash")).to_contain_text("level 3 in typesetting")
    score = page.locator(".trust-score").get_attribute("data-score")
    assert score is not None and float(score) > 0
    expect(page.locator(".trust-score")).to_contain_text("rank")
    expect(page.get_by_text("<b>Set</b> our whole catalogue")).to_be_visible()  # as text

    # Bo's profile comes with the next sync, now that he is in Ada's scope
    sync_now(page, me)
    screens.shoot(page, "peers")
    go(page, me, f"/people/{bo.did}?context=typesetting")
    expect(page.locator("h1")).to_contain_text("Bo Typesetter")
    screens.shoot(page, "person")

    go(page, me, "/graph?context=typesetting")
    expect(page.locator(my_edge)).to_have_count(1)
    dot = page.locator(f'svg a[href="/people/{bo.did}?context=typesetting"]')
    expect(dot).to_have_count(1)
    expect(page.locator("#in-words + ul")).to_contain_text("Bo Typesetter")
    screens.shoot(page, "graph")
    dot.click()  # the picture's people are links
    expect(page).to_have_url(f"{me.url}/people/{bo.did}?context=typesetting")

    go(page, me, "/people?context=typesetting")
    expect(page.locator(".people")).to_contain_text("Bo Typesetter")
    page.locator(".people details summary").first.click()
    expect(page.locator(".people details").first).to_contain_text(
        "you → Bo Typesetter (level 3 in typesetting"
    )
    screens.shoot(page, "people")


def test_a_guild_admits_an_applicant_vouched_for_by_two_members(
    browser: Browser, trio: Trio, ada: Page, screens: Screens
) -> None:
    page, me, bo, cy = ada, trio.ada, trio.bo, trio.cy
    # Bo and Cy know Ada's node and vouch for her, so her records are in their scope.
    for node in (bo, cy):
        node.api("POST", "/api/peers", {"url": me.url, "allow_private": True})
        node.api("POST", "/api/vouch", {"subject": me.did, "level": 1})
        me.api("POST", "/api/peers", {"url": node.url, "allow_private": True})

    go(page, me, "/guilds")
    page.get_by_label("Name").fill("Typesetters")
    page.get_by_label("Purpose").fill("Setting type <well>, together.")
    page.get_by_label("Cofounders (optional)").fill(cy.did)
    page.get_by_label("Vouches an applicant needs").fill("2")
    page.get_by_label("Cooling days").fill("0")
    page.get_by_label("Skills (optional)").fill("typesetting")
    page.get_by_role("button", name="Found the guild").click()
    expect(page.locator(".flash")).to_contain_text("You founded the guild Typesetters")
    guild_path = page.url.removeprefix(me.url)
    guild_id = guild_path.removeprefix("/guilds/")
    expect(page.locator(".prose").first).to_have_text("Setting type <well>, together.")
    screens.shoot(page, "guild-founded")

    # Cy, a cofounder, consents by applying (through her local API)
    cy.api("POST", "/api/sync")
    cy.api("POST", f"/api/guilds/{guild_id}/apply", {"note": "Cofounder"})

    # Bo applies through his own web UI, signed in with a link from `guildnode ui`
    link = re.search(r"http://\S+/login\?token=\S+", bo.cli("ui"))
    assert link, "guildnode ui printed no link"
    bo_page = signed_in(browser, screens, link.group(0), width=375)
    sync_now(bo_page, bo)
    go(bo_page, bo, guild_path)
    bo_page.get_by_label("A word to the members (optional)").fill("I set type for a living")
    bo_page.get_by_role("button", name="Apply to join").click()
    expect(bo_page.locator(".flash")).to_contain_text("You applied")
    expect(bo_page.locator("main")).to_contain_text("You applied: 0 of 2 vouches")
    screens.shoot(bo_page, "bo-applied-375px")

    # Ada sees Bo applying, and vouches for his admission in one click
    sync_now(page, me)
    go(page, me, guild_path)
    applicants = page.locator(".applicants")
    expect(applicants).to_contain_text("Bo Typesetter")
    expect(applicants).to_contain_text("Vouches: 0 of 2")
    expect(page.locator("#members + ul")).to_contain_text("Cy Compositor")
    screens.shoot(page, "guild-applicant")
    page.get_by_role("button", name="Vouch for Bo Typesetter's admission").click()
    expect(page.locator(".flash")).to_contain_text("admission (level 2)")
    expect(applicants).to_contain_text("Vouches: 1 of 2")
    expect(applicants).to_contain_text("You vouched for their admission")

    # Cy vouches too (local API); Ada syncs and sees Bo admitted
    cy.api("POST", "/api/sync")
    cy.api("POST", "/api/vouch",
           {"subject": bo.did, "level": 2, "context": f"guild:{guild_id}"})  # fmt: skip
    sync_now(page, me)
    go(page, me, guild_path)
    expect(page.locator("#members")).to_have_text("Members (3)")
    expect(page.locator("#members + ul")).to_contain_text("Bo Typesetter")
    expect(page.locator("#applicants")).to_have_text("Applicants (0)")
    screens.shoot(page, "guild-admitted")
    go(page, me, "/guilds")
    expect(page.locator(".guild-list")).to_contain_text("3 members")
    screens.shoot(page, "guilds")

    # and on Bo's own node, after his sync, he is a member too
    sync_now(bo_page, bo)
    go(bo_page, bo, guild_path)
    expect(bo_page.locator("h1")).to_contain_text("you are a member")
    screens.shoot(bo_page, "bo-member-375px")
    go(bo_page, bo, "/")
    expect(bo_page.locator("#my-guilds + ul")).to_contain_text("Typesetters")
    screens.shoot(bo_page, "bo-home-375px")
    bo_page.context.close()


def test_every_page_fits_a_phone_and_a_desktop(
    browser: Browser, trio: Trio, ada: Page, screens: Screens
) -> None:
    me = trio.ada
    link = re.search(r"http://\S+/login\?token=\S+", me.cli("ui"))
    assert link
    phone = signed_in(browser, screens, link.group(0), width=375)
    guild = me.api("GET", "/api/guilds")["guilds"]
    pages = ["/", "/people", f"/people/{trio.bo.did}", "/graph", "/guilds", "/peers", "/briefs",
             "/contracts"]  # fmt: skip
    pages += [f"/guilds/{g['id']}" for g in guild[:1]]
    for path in pages:
        for page, size in ((phone, "375px"), (ada, "desktop")):
            go(page, me, path)
            name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:30] or "home"
            screens.shoot(page, f"{name}-{size}")
        # nothing wider than the phone: no sideways scrolling
        overflow = phone.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375, (path, overflow)
    # keyboard: the first Tab reaches the skip link, and it leads to the content
    go(phone, me, "/people")
    phone.keyboard.press("Tab")
    expect(phone.locator(".skip")).to_be_focused()
    phone.keyboard.press("Enter")
    expect(phone.locator("#main")).to_be_focused()
    phone.context.close()
