"""Live notifications in Chromium against two real `guildnode run` processes: Fay, on a 375 px
phone, has her node's page open when Northwind's node pushes her an offer; the badge and the
list update without a reload, and the notice's link leads to the accept/counter form — all
by keyboard.

The setup (profiles, peers, a guild, a brief and Fay's proposal) goes through the local API;
the offer is published on Northwind's node, whose push delivers it to Fay's inbox: Fay's node
never syncs after the browser opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browsing import Running, Screens, go, launch, signed_in, spawn, wait_for_login_links
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser

PHONE = 375


@dataclass
class Pair:
    org: Running
    fay: Running
    proposal: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("notify")
    nodes = [spawn("north", root), spawn("fay", root)]
    try:
        wait_for_login_links(nodes)
        org, fay = nodes
        org.api("POST", "/api/profile", {"name": "Northwind Studio", "organisation": True})
        fay.api("POST", "/api/profile", {"name": "Fay Ferris", "skills": ["rust"]})
        org.api("POST", "/api/peers", {"url": fay.url, "allow_private": True})
        fay.api("POST", "/api/peers", {"url": org.url, "allow_private": True})
        org.api("POST", "/api/vouch", {"subject": fay.did, "level": 2})
        fay.api("POST", "/api/vouch", {"subject": org.did, "level": 2})
        brief = org.api("POST", "/api/briefs", {
            "guilds": ["ab" * 32], "title": "Port a JSON parser to <Rust>",
            "description": "Streaming.", "acceptance_criteria": ["Tests pass"],
            "budget_min": 200_000, "budget_max": 500_000, "currency": "EUR",
            "skills": ["rust"], "expires_days": 14,
        })["id"]  # fmt: skip
        for _ in range(3):
            org.api("POST", "/api/sync")
            fay.api("POST", "/api/sync")
            if any(b["id"] == brief for b in fay.api("GET", "/api/briefs")["briefs"]):
                break
        else:
            raise AssertionError("Fay never received Northwind's brief")
        proposal = fay.api("POST", "/api/work/propose", {
            "brief": brief, "pitch": "Fuzzed, in 3 weeks.", "amount": 350_000,
            "currency": "EUR", "duration_days": 21,
        })["id"]  # fmt: skip
        for _ in range(3):
            fay.api("POST", "/api/sync")
            org.api("POST", "/api/sync")
            if org.api("GET", "/api/notifications")["count"] == 1:
                break
        else:
            raise AssertionError("Northwind never received Fay's proposal")
        yield Pair(org, fay, proposal)
    finally:
        for node in nodes:
            node.stop()


def fits(page: Page, width: int = PHONE) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, (page.url, scroll)


def tab_to(page: Page, selector: str, most: int = 40) -> None:
    """Press Tab until the element `selector` has the focus (it must, within `most`)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable by Tab on {page.url}")


def test_an_offer_pushed_by_a_peer_appears_live_and_leads_to_its_form(
    pair: Pair, tmp_path: Path
) -> None:
    screens = Screens(tmp_path)
    org, fay = pair.org, pair.fay
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            phone = signed_in(browser, screens, fay.login_link, width=PHONE)
            go(phone, fay, "/")
            badge = phone.locator("[data-notice-count]")
            expect(badge).to_have_text("0")
            fits(phone)
            phone.evaluate("window.sameDocument = true")  # gone if the page reloads

            offer = org.api("POST", "/api/work/offer", {
                "proposal": pair.proposal, "scope": "Port the tokenizer and the parser.",
                "acceptance_criteria": ["Tests pass"], "days": 30,
                "milestones": [{"title": "All of it", "amount": 350_000, "due_days": 21}],
            })["id"]  # fmt: skip

            # Northwind's node pushes the offer; Fay's node wakes her page's stream.
            expect(badge).to_have_text("1", timeout=15_000)
            expect(phone.locator("[data-notice-announce]")).to_contain_text(
                "Northwind Studio sent you an offer"
            )
            assert phone.evaluate("window.sameDocument === true"), "the page reloaded"
            screens.shoot(phone, "fay-badge-375px")

            # By keyboard: the badge, then the notice, then the form it asks for.
            tab_to(phone, "a.notices-link")
            phone.keyboard.press("Enter")
            expect(phone).to_have_url(fay.url + "/notifications")
            notice = phone.locator("[data-notice-list] li")
            expect(notice).to_have_count(1)
            expect(notice).to_contain_text("Northwind Studio sent you an offer")
            expect(notice).to_contain_text("Accept it, or answer with a counter-offer")
            fits(phone)
            screens.shoot(phone, "fay-notifications-375px")
            tab_to(phone, "[data-notice-list] a")
            phone.keyboard.press("Enter")
            expect(phone).to_have_url(f"{fay.url}/contracts/{offer}#answer")
            accept = phone.get_by_role("button", name="Accept the offer")
            expect(accept).to_be_visible()
            expect(accept).to_be_in_viewport()
            expect(phone.get_by_text("Counter with other terms")).to_be_visible()
            fits(phone)
            screens.shoot(phone, "fay-offer-form-375px")

            # Accepting it is acting on it: the notice is gone, from the badge too.
            tab_to(phone, "form[action$='/accept'] button")
            phone.keyboard.press("Enter")
            expect(phone.locator(".flash")).to_contain_text("the contract is active")
            expect(badge).to_have_text("0")
            go(phone, fay, "/notifications")
            expect(phone.locator("[data-notice-empty]")).to_be_visible()
            expect(phone.locator("[data-notice-list] li")).to_have_count(0)
        finally:
            browser.close()
    assert not screens.server_errors, f"pages answered with server errors: {screens.server_errors}"


def test_reading_a_thread_in_another_tab_drops_the_badge_live(pair: Pair, tmp_path: Path) -> None:
    """Reading changes only the node's local read state (no record is stored), and still
    wakes the stream: Northwind's other tab loses the message's notice without a reload."""
    screens = Screens(tmp_path)
    org, fay = pair.org, pair.fay
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            home = signed_in(browser, screens, org.login_link, width=PHONE)
            go(home, org, "/")
            badge = home.locator("[data-notice-count]")
            before = org.api("GET", "/api/notifications")["count"]
            expect(badge).to_have_text(str(before))
            home.evaluate("window.sameDocument = true")

            (brief,) = fay.api("GET", "/api/briefs")["briefs"]
            thread = fay.api("POST", "/api/thread/ask", {"on": brief["id"], "text": "Which Rust?"})
            expect(badge).to_have_text(str(before + 1), timeout=15_000)  # pushed, then woken
            expect(home.locator("[data-notice-announce]")).to_contain_text("Fay Ferris wrote")

            reader = home.context.new_page()  # the same session, another tab
            go(reader, org, f"/messages/{thread['id']}")
            expect(reader.get_by_text("Which Rust?")).to_be_visible()
            expect(badge).to_have_text(str(before))  # the first tab, not reloaded
            assert home.evaluate("window.sameDocument === true"), "the page reloaded"
            assert org.api("GET", "/api/notifications")["count"] == before
        finally:
            browser.close()
    assert not screens.server_errors, f"pages answered with server errors: {screens.server_errors}"
