"""Guild governance in Chromium (SPEC §12.5), against three real `guildnode run` processes:
Ada drives her web UI at phone width, by keyboard; Bo and Cy use their local APIs.

Motions show on the guild page with their votes; Ada proposes an amendment, votes on Bo's
motion to remove Cy, and sees both take effect once they have a majority."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import Screens, Trio, go, launch, signed_in, start_trio, sync_now
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[Trio]:
    started = start_trio(tmp_path / "nodes")
    try:
        yield started
    finally:
        for node in (started.ada, started.bo, started.cy):
            node.stop()


@pytest.fixture
def phone(trio: Trio, tmp_path: Path) -> Iterator[tuple[Page, Screens]]:
    screens = Screens(tmp_path)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield signed_in(browser, screens, trio.ada.login_link, width=375), screens
        finally:
            browser.close()
    assert not screens.server_errors, screens.server_errors


def press(page: Page, name: str) -> None:
    """Reach a button by keyboard focus and press Enter on it."""
    button = page.get_by_role("button", name=name)
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")


def test_motions_on_the_guild_page_with_vote_buttons(
    trio: Trio, phone: tuple[Page, Screens]
) -> None:
    page, screens = phone
    ada, bo, cy = trio.ada, trio.bo, trio.cy
    bo.api("POST", "/api/profile", {"name": "Bo"})
    cy.api("POST", "/api/profile", {"name": "Cy Compositor"})
    for node in (ada, bo, cy):
        for other in (ada, bo, cy):
            if other is not node:
                node.api("POST", "/api/peers", {"url": other.url, "allow_private": True})
                node.api("POST", "/api/vouch", {"subject": other.did, "level": 2})
    guild = ada.api("POST", "/api/guilds", {
        "name": "Typesetters", "purpose": "Set type.", "vouches_required": 1,
        "cofounders": [bo.did, cy.did], "cooling_days": 0,
    })["id"]  # fmt: skip
    for node in (bo, cy):
        node.api("POST", "/api/sync")
        node.api("POST", f"/api/guilds/{guild}/apply", {})
    sync_now(page, ada)
    go(page, ada, f"/guilds/{guild}")
    expect(page.locator("#members")).to_have_text("Members (3)")
    expect(page.locator("#motions")).to_have_text("Motions (0)")

    # An empty amendment is refused beside the form, with its code; nothing is proposed.
    summary = page.get_by_text("Propose an amendment of the charter")
    summary.focus()
    page.keyboard.press("Enter")
    press(page, "Propose the amendment")
    expect(page.locator(".error[role=alert]")).to_contain_text("malformed_motion")
    expect(page.locator("#motions")).to_have_text("Motions (0)")

    # Ada proposes a new name, by keyboard: her motion is her yes, so she has no vote buttons.
    page.get_by_label("New name (optional)").fill("Typesetters' Guild")
    page.get_by_label("Why (optional)").first.fill("A clearer name.")
    press(page, "Propose the amendment")
    expect(page.locator(".flash")).to_contain_text("You proposed the amendment")
    motions = page.locator(".motions")
    expect(motions).to_contain_text('Rename the guild "Typesetters\' Guild"')
    expect(motions).to_contain_text("yes 1, no 0, needs 2 of 3")
    expect(motions.get_by_role("button", name="Vote yes")).to_have_count(0)
    screens.shoot(page, "motion-proposed-375px")

    # Bo proposes to remove Cy; Ada sees it with vote buttons and votes yes by keyboard.
    bo.api("POST", "/api/sync")
    bo.api("POST", f"/api/guilds/{guild}/motions", {"action": "remove", "member": cy.did})
    sync_now(page, ada)
    go(page, ada, f"/guilds/{guild}")
    expect(page.locator("#motions")).to_have_text("Motions (2)")
    removal = page.locator(".motions li").filter(has_text="Remove Cy Compositor")
    expect(removal.get_by_role("button", name="Vote no")).to_be_visible()
    screens.shoot(page, "motion-to-vote-375px")
    press(page, "Vote yes")
    expect(page.locator(".flash")).to_contain_text("You voted yes.")
    expect(page.locator(".motions li").filter(has_text="Remove Cy")).to_contain_text("adopted")
    expect(page.locator("#members")).to_have_text("Members (2)")
    expect(page.locator("#members + ul")).not_to_contain_text("Cy Compositor")

    # Bo's yes on Ada's amendment makes its majority: the page shows the new name.
    bo.api("POST", "/api/sync")
    listed = bo.api("GET", f"/api/guilds/{guild}/motions")["motions"]
    [amendment] = [m for m in listed if m["action"] == "amend"]
    bo.api("POST", f"/api/motions/{amendment['id']}/vote", {"choice": "yes"})
    sync_now(page, ada)
    go(page, ada, f"/guilds/{guild}")
    expect(page.locator("h1")).to_contain_text("Typesetters' Guild")
    expect(page.locator(".motions")).not_to_contain_text("open")
    screens.shoot(page, "motions-adopted-375px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert re.search(r"Motions \(2\)", page.locator("#motions").inner_text())
