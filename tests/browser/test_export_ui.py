"""The Export page in Chromium against real `guildnode run` processes (SPEC §18): Bo vouches
for Ada; Ada opens Export from her Identity page, sees the vouch, downloads the file, and the
file verifies offline with `guildnode verify-credentials`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from browsing import Screens, go, launch, signed_in, spawn, wait_for_login_links
from playwright.sync_api import expect, sync_playwright

from guildnode.protocol.credentials import verify_file

pytestmark = pytest.mark.browser


def test_downloading_and_verifying_the_credentials(tmp_path: Path) -> None:
    ada, bo = spawn("ada", tmp_path), spawn("bo", tmp_path)
    try:
        wait_for_login_links([ada, bo])
        ada.api("POST", "/api/profile", {"name": "Ada Lovelace"})
        bo.api("POST", "/api/profile", {"name": "Bo"})
        bo.api("POST", "/api/vouch", {"subject": ada.did, "level": 3, "context": "rust"})
        ada.api("POST", "/api/vouch", {"subject": bo.did, "level": 2})  # Bo's feed is hers
        ada.api("POST", "/api/peers", {"url": bo.url, "allow_private": True})
        ada.api("POST", "/api/sync")
        screens = Screens(tmp_path)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                page = signed_in(browser, screens, ada.login_link, width=375)
                go(page, ada, "/identity")
                page.get_by_role("link", name="Export").click()
                expect(page).to_have_url(ada.url + "/identity/export")
                listed = page.get_by_role("list", name="Credentials")
                expect(listed).to_contain_text("Vouch in rust from Bo, level 3")
                expect(page.locator("main")).to_contain_text("Vouches: 1 · Guild memberships: 0")
                assert page.evaluate("document.documentElement.scrollWidth") <= 375
                screens.shoot(page, "export-375px")
                with page.expect_download() as download:
                    page.get_by_role("button", name="Download credentials").click()
                assert download.value.suggested_filename == "guildnode-credentials.json"
                saved = tmp_path / "downloaded.json"
                download.value.save_as(saved)
            finally:
                browser.close()
        assert screens.server_errors == []
    finally:
        for node in (ada, bo):
            node.stop()
    report = verify_file(saved.read_bytes(), int(time.time()))
    assert report.ok and report.holder == ada.did
    assert [c.type for c in report.credentials] == ["GuildnodeVouchCredential"]
    checked = json.loads(ada.cli("verify-credentials", str(saved), "--json"))
    assert checked["ok"] and checked["credentials"][0]["ok"]
