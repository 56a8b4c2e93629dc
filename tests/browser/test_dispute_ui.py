"""A dispute in Chromium on a 375 px phone, against three real `guildnode run` processes:
Northwind hired Fay through their guild Makers, of which Mia is a member too. The setup goes
through the local API; Fay then opens the dispute from the contract page with the keyboard,
Mia follows her notification to the dispute's page and decides it there, and after
"Sync now" Fay's contract page shows the outcome (SPEC §17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browsing import Running, Screens, go, launch, signed_in, spawn, sync_now, wait_for_login_links
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.browser


def sync(*nodes: Running) -> None:
    for _ in range(2):
        for node in nodes:
            node.api("POST", "/api/sync")


def work(node: Running, action: str, **fields: Any) -> str:
    return str(node.api("POST", f"/api/work/{action}", fields)["id"])


def test_a_dispute_from_the_contract_page(tmp_path: Path) -> None:
    nodes = [spawn(name, tmp_path) for name in ("north", "fay", "mia")]
    org, fay, mia = nodes
    try:
        wait_for_login_links(nodes)
        org.api("POST", "/api/profile", {"name": "Northwind", "organisation": True})
        fay.api("POST", "/api/profile", {"name": "Fay"})
        mia.api("POST", "/api/profile", {"name": "Mia"})
        for node in nodes:
            for peer in nodes:
                if peer is not node:
                    node.api("POST", "/api/peers", {"url": peer.url, "allow_private": True})
        for node in (org, mia):
            node.api("POST", "/api/vouch", {"subject": fay.did, "level": 2})
        charter = {"name": "Makers", "purpose": "Makers", "vouches_required": 1,
                   "cooling_days": 0, "cofounders": [org.did, mia.did]}  # fmt: skip
        guild = fay.api("POST", "/api/guilds", charter)["id"]
        sync(*nodes)
        for node in (org, mia):
            node.api("POST", f"/api/guilds/{guild}/apply", {})
        brief = org.api("POST", "/api/briefs", {
            "guilds": [guild], "title": "A sign", "description": "Oak.",
            "acceptance_criteria": ["It hangs"], "budget_min": 100, "budget_max": 900,
            "currency": "EUR"})["id"]  # fmt: skip
        sync(*nodes)
        proposal = work(fay, "propose", brief=brief, pitch="Oak", amount=500, currency="EUR",
                        duration_days=5)  # fmt: skip
        sync(org, fay)
        contract = work(org, "offer", proposal=proposal, scope="The sign", days=10,
                        acceptance_criteria=["It hangs"],
                        milestones=[{"title": "Sign", "amount": 500, "due_days": 5}])  # fmt: skip
        sync(org, fay)
        work(fay, "accept", offer=contract)
        sync(*nodes)

        screens = Screens(tmp_path)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                phone = signed_in(browser, screens, fay.login_link, width=375)
                go(phone, fay, f"/contracts/{contract}")
                opener = phone.get_by_text("Open a dispute", exact=True)
                opener.focus()
                phone.keyboard.press("Enter")  # a <details> opens from the keyboard
                phone.get_by_label("Guild", exact=True).select_option(guild)
                phone.get_by_label("Mediators (one DID a line)").fill(mia.did)
                phone.get_by_label("Your statement").fill("The scope grew by half.")
                phone.get_by_label("Your statement").press("Tab")
                phone.keyboard.press("Enter")  # the focused button submits
                expect(phone.locator(".flash")).to_contain_text("You opened a dispute")
                expect(phone.get_by_text("No outcome yet.")).to_be_visible()
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, width
                screens.shoot(phone, "dispute-opened-375px")

                sync(fay, mia)
                (dispute,) = mia.api("GET", "/api/disputes")["disputes"]
                mediator = signed_in(browser, screens, mia.login_link, width=375)
                go(mediator, mia, "/notifications")  # the notice links to the decide form
                mediator.get_by_role("link", name="Fay asks you to mediate a dispute").click()
                expect(mediator).to_have_url(f"{mia.url}/disputes/{dispute['id']}#decide")
                expect(mediator.get_by_text("The scope grew by half.")).to_be_visible()
                go(mediator, mia, f"/disputes/{dispute['id']}")  # every field labelled
                mediator.get_by_label("Your finding").fill("The scope grew by agreement.")
                mediator.get_by_label("Payment").select_option("on_time")
                mediator.get_by_role("button", name="Publish the outcome").click()
                expect(mediator.locator(".flash")).to_contain_text("Your outcome is published")
                expect(mediator.get_by_role("button", name="Publish the outcome")).to_have_count(0)
                width = mediator.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, width
                screens.shoot(mediator, "dispute-mediator-decided-375px")
                go(mediator, mia, "/notifications")
                expect(mediator.get_by_text("Nothing waits on you.")).to_be_visible()
                sync_now(phone, fay)
                go(phone, fay, f"/contracts/{contract}")
                expect(phone.get_by_text("The scope grew by agreement.")).to_be_visible()
                expect(phone.get_by_text("payment found on time")).to_be_visible()
                screens.shoot(phone, "dispute-decided-375px")
            finally:
                browser.close()
    finally:
        for node in nodes:
            node.stop()
