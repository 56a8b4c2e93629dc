"""The Delegates page in Chromium on a 375 px phone, against a real `guildnode run`: an
organisation is refused a delegation that would last too long, adds a staff key with two
scopes, sees it listed as active, and revokes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from browsing import Screens, go, launch, signed_in, spawn, wait_for_login_links
from playwright.sync_api import expect, sync_playwright

from guildnode.protocol import Identity

pytestmark = pytest.mark.browser

STAFF = Identity(bytes([77]) * 32).did


def test_adding_listing_and_revoking_a_delegate_on_a_phone(tmp_path: Path) -> None:
    node = spawn("acme", tmp_path)
    try:
        wait_for_login_links([node])
        node.api("POST", "/api/profile", {"name": "Acme", "organisation": True})
        screens = Screens(tmp_path)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                page = signed_in(browser, screens, node.login_link, width=375)
                go(page, node, "/delegates")
                expect(page.locator("main")).to_contain_text("No delegates yet")

                page.get_by_label("The staff key (its DID)").fill(STAFF)
                page.get_by_label("Post briefs").check()
                page.get_by_label("Expires in (days)").fill("120")
                page.get_by_role("button", name="Add delegate").click()
                expect(page.locator("main")).to_contain_text("(invalid_expiry)")
                assert node.api("GET", "/api/delegates")["delegates"] == []

                page.get_by_label("Expires in (days)").fill("30")
                page.get_by_label("Make offers").check()
                page.get_by_role("button", name="Add delegate").click()
                expect(page.locator(".flash")).to_contain_text("Delegated")
                row = page.locator(".delegates li")
                expect(row).to_contain_text("briefs, offers")
                expect(row).to_contain_text("active")
                screens.shoot(page, "delegates-375px")
                assert page.evaluate("document.documentElement.scrollWidth") <= 375

                page.get_by_role("button", name="Revoke").click()
                expect(page.locator(".flash")).to_contain_text("Revoked")
                expect(row).to_contain_text("revoked")
                [grant] = node.api("GET", "/api/delegates")["delegates"]
                assert grant["status"] == "revoked" and grant["delegate"] == STAFF
            finally:
                browser.close()
    finally:
        node.stop()
