"""Search in Chromium on a 375 px phone, against a real `guildnode run` and the tampering
indexer (a real process, tests/search/tampering_indexer.py): Fay names the indexer on the
"find a guild" page, searches from the briefs board's box, sees the verified result with
the indexer that returned it and the altered one dropped, fetches the brief, and proposes
through the normal form. Every page is screenshotted; any server error fails the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browsing import Screens, go, launch, signed_in, spawn, wait_for_login_links
from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).parents[1] / "search"))
from fakes import ORG, Fake, altered, answer, brief, profile

pytestmark = pytest.mark.browser


def test_search_find_and_propose_on_a_phone(tmp_path: Path) -> None:
    fake = Fake(tmp_path)
    fay = spawn("fay", tmp_path)
    screens = Screens(tmp_path)
    try:
        wait_for_login_links([fay])
        first = profile()
        good = brief(seq=2, prev=first.id)
        feed = [first, good]
        tampered = altered(brief(title="Other"), lambda w: w["body"].update(title="Free work"))
        fake.serve({
            "/search/guilds": answer(),
            "/search/briefs": answer(tampered, good),
            f"/sync/feed/{ORG.did}": {"records": [r.to_wire() for r in feed]},
        })  # fmt: skip
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                phone = signed_in(browser, screens, fay.login_link, width=375)
                go(phone, fay, "/guilds")
                phone.get_by_role("link", name="Find a guild").click()
                phone.get_by_label("Indexer address").fill(fake.url(""))
                phone.get_by_label("It is on my own machine").check()
                phone.get_by_role("button", name="Add indexer").click()
                expect(phone.locator(".flash")).to_contain_text("Your searches now ask")
                screens.shoot(phone, "find-a-guild-375px")

                go(phone, fay, "/briefs")
                phone.get_by_label("Search every guild").fill("parser")
                phone.get_by_role("button", name="Search", exact=True).click()
                results = phone.locator(".search-results")
                expect(results).to_contain_text("Port our parser to Rust")
                expect(results).to_contain_text("verified")
                expect(results).to_contain_text(fake.url(""))
                expect(phone.locator(".dropped")).to_contain_text("bad_signature")
                expect(phone.locator("main")).not_to_contain_text("Free work")
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, width
                screens.shoot(phone, "search-briefs-375px")

                phone.get_by_role("button", name="Fetch and propose").click()
                expect(phone.locator(".flash")).to_contain_text("Fetched and verified")
                expect(phone.locator("h1")).to_contain_text("Port our parser to Rust")
                phone.get_by_label("Pitch").fill("Streaming, fuzzed, in three weeks.")
                phone.get_by_label("Price").fill("2500")
                phone.get_by_label("Days the work takes").fill("21")
                phone.get_by_role("button", name="Send the proposal").click()
                expect(phone.locator(".flash")).to_contain_text("Your proposal is sent")
                screens.shoot(phone, "proposed-375px")
            finally:
                browser.close()
    finally:
        fay.stop()
        fake.process.terminate()
        fake.process.wait(timeout=10)
    assert not screens.server_errors, screens.server_errors
