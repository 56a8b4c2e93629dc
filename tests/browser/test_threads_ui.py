"""Conversations in Chromium (SPEC §16), against two real `guildnode run` processes:
Fay (a freelancer, on a 375 px phone) asks Northwind about its brief from the brief's page;
Northwind sees the unread count in its navigation and Messages list, opens the thread (which
marks it read) and answers to all; Fay sees the answer unread in her thread and on the brief,
and replies. Setup goes through the local API; everything after it through the web UI, with
"Sync now" instead of waiting.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browsing import Screens, go, launch, signed_in, spawn, sync_now, wait_for_login_links
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.browser

QUESTION = "Does the port need to keep the C API <stable>?"


def test_asking_and_replying_with_unread_counts(tmp_path: Path) -> None:
    screens = Screens(tmp_path)
    nodes = [spawn("north", tmp_path), spawn("fay", tmp_path)]
    try:
        wait_for_login_links(nodes)
        org, fay = nodes
        org.api("POST", "/api/profile", {"name": "Northwind Studio", "organisation": True})
        fay.api("POST", "/api/profile", {"name": "Fay Ferris", "skills": ["rust"]})
        org.api("POST", "/api/peers", {"url": fay.url, "allow_private": True})
        fay.api("POST", "/api/peers", {"url": org.url, "allow_private": True})
        fay.api("POST", "/api/vouch", {"subject": org.did, "level": 2})
        brief = org.api("POST", "/api/briefs", {
            "guilds": ["cd" * 32], "title": "Port a parser", "description": "Rust.",
            "acceptance_criteria": ["Tests pass"], "budget_min": 1000, "budget_max": 9000,
            "currency": "EUR", "expires_days": 14,
        })["id"]  # fmt: skip
        for node in (fay, org, fay):
            node.api("POST", "/api/sync")
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                north = signed_in(browser, screens, org.login_link)
                phone = signed_in(browser, screens, fay.login_link, width=375)

                # Fay asks from the brief's page, on her phone.
                go(phone, fay, f"/briefs/{brief}")
                phone.get_by_label("Ask Northwind Studio a question").fill(QUESTION)
                phone.get_by_role("button", name="Send", exact=True).click()
                expect(phone.locator(".flash")).to_contain_text("Your message is sent")
                expect(phone.locator(".messages")).to_contain_text(QUESTION)
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
                screens.shoot(phone, "fay-asked-375px")

                # Northwind: one unread, in the navigation and the Messages list.
                sync_now(north, org)
                go(north, org, "/")
                expect(north.locator("#unread-badge")).to_have_text("1")
                north.get_by_role("link", name="Messages").click()
                expect(north.locator(".threads")).to_contain_text("1 new")
                screens.shoot(north, "org-messages-unread")
                north.get_by_role("link", name="Port a parser").click()
                expect(north.locator(".messages")).to_contain_text(QUESTION)
                expect(north.locator("#unread-badge")).to_have_count(0)  # opened: read

                # It answers to all, restating the question in its own words.
                north.get_by_label("Your reply").fill("No: only the Rust API matters.")
                north.get_by_label("Answer to all who hold the brief").check()
                north.get_by_label("The question, in your words, for all to see").fill(
                    "Must the C API stay stable?"
                )
                north.get_by_role("button", name="Send the reply").click()
                expect(north.locator(".flash")).to_contain_text("published to all")
                expect(north.locator(".messages")).to_contain_text("answered to all")
                screens.shoot(north, "org-answered")

                # Fay: the answer is unread in her thread, and shown with the brief.
                sync_now(phone, fay)
                expect(phone.locator("#unread-badge")).to_have_text("1")
                go(phone, fay, "/messages")
                expect(phone.locator(".threads")).to_contain_text("1 new")
                go(phone, fay, f"/briefs/{brief}")
                expect(phone.locator(".answers")).to_contain_text("Must the C API stay stable?")
                expect(phone.locator(".answers")).to_contain_text("only the Rust API matters")
                phone.get_by_role("link", name="With Northwind Studio").click()
                expect(phone.locator(".messages")).to_contain_text("answered to all")
                expect(phone.locator("#unread-badge")).to_have_count(0)
                phone.get_by_label("Your reply").fill("Thanks, that settles it.")
                phone.get_by_role("button", name="Send the reply").click()
                expect(phone.locator(".flash")).to_contain_text("Your reply is sent")
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
                screens.shoot(phone, "fay-replied-375px")

                # Northwind: one unread again.
                sync_now(north, org)
                expect(north.locator("#unread-badge")).to_have_text("1")
            finally:
                browser.close()
    finally:
        for node in nodes:
            node.stop()
    assert not screens.server_errors, f"pages answered with server errors: {screens.server_errors}"
