"""The Identity page in Chromium on a 375 px phone, against a real `guildnode run`: name a
paper key (its seed shown once), rotate the key, mark the old key compromised, and see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from browsing import Screens, go, launch, signed_in, spawn, wait_for_login_links
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.browser


def test_keeping_an_identity_on_a_phone(tmp_path: Path) -> None:
    node = spawn("ida", tmp_path)
    try:
        wait_for_login_links([node])
        node.api("POST", "/api/profile", {"name": "Ida Keeper"})
        old = node.did
        screens = Screens(tmp_path)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                page = signed_in(browser, screens, node.login_link, width=375)
                go(page, node, "/identity")
                expect(page.locator("main")).to_contain_text("No recovery keys named yet")
                page.get_by_label("Also make a paper key (its seed is shown once)").check()
                page.get_by_role("button", name="Name recovery keys").click()
                expect(page.locator("main")).to_contain_text("Your paper key")
                assert page.evaluate("document.documentElement.scrollWidth") <= 375
                screens.shoot(page, "paper-key-375px")
                go(page, node, "/identity")
                expect(page.locator("main")).not_to_contain_text("Your paper key")
                expect(page.locator("main")).to_contain_text("1 of 1 can take your identity")

                page.get_by_label("Why (public)").fill("New phone.")
                page.get_by_role("button", name="Rotate my key").click()
                expect(page.locator(".flash")).to_contain_text("Rotated your key")
                new = node.api("GET", "/api/me")["did"]
                assert new != old
                page.get_by_label("The key").fill(old)
                page.get_by_label("From its record number").fill("3")
                page.get_by_role("button", name="Mark compromised").click()
                expect(page.locator(".flash")).to_contain_text("Marked")
                expect(page.locator("main")).to_contain_text("records after 2 have no effect")
                screens.shoot(page, "rotated-375px")
                assert page.evaluate("document.documentElement.scrollWidth") <= 375
            finally:
                browser.close()
    finally:
        node.stop()
