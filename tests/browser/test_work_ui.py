"""A gig in Chromium, from brief to feedback, against two real `guildnode run` processes:
Northwind (an organisation, on a desktop) and Fay (a freelancer, on a 375 px phone).

Fay founded the guild Rustaceans and vouches for Northwind in its context (SPEC §9.7), which
is what carries Northwind's briefs to the guild's members; that setup goes through the local
API, everything after it through each owner's web UI. Every page is screenshotted into the
test's tmp_path; any server error fails the test. Sync is "Sync now", never a wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browsing import (
    Running,
    Screens,
    go,
    launch,
    signed_in,
    spawn,
    sync_now,
    wait_for_login_links,
)
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser


@dataclass
class Pair:
    org: Running
    fay: Running
    guild: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("work")
    nodes = [spawn("north", root), spawn("fay", root)]
    try:
        wait_for_login_links(nodes)
        org, fay = nodes
        org.api("POST", "/api/profile", {"name": "Northwind Studio", "organisation": True})
        fay.api("POST", "/api/profile", {"name": "Fay Ferris", "skills": ["rust"]})
        org.api("POST", "/api/peers", {"url": fay.url, "allow_private": True})
        fay.api("POST", "/api/peers", {"url": org.url, "allow_private": True})
        charter = {"name": "Rustaceans", "purpose": "Rust work", "vouches_required": 1,
                   "cooling_days": 0}  # fmt: skip
        guild = fay.api("POST", "/api/guilds", charter)["id"]
        fay.api("POST", "/api/vouch",
                {"subject": org.did, "level": 2, "context": f"guild:{guild}"})  # fmt: skip
        for _ in range(3):  # Fay's round pushes her vouch, which widens Northwind's scope
            fay.api("POST", "/api/sync")
            org.api("POST", "/api/sync")
            if any(g["id"] == guild for g in org.api("GET", "/api/guilds")["guilds"]):
                break
        else:
            raise AssertionError("Northwind never received the guild's charter")
        yield Pair(org, fay, guild)
    finally:
        for node in nodes:
            node.stop()


def press(page: Page, button: str, confirmation: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator(".flash")).to_contain_text(confirmation)
    expect(page.locator(".flash-error")).to_have_count(0)


def test_a_gig_from_brief_to_feedback_in_two_browsers(pair: Pair, tmp_path: Path) -> None:
    screens = Screens(tmp_path)
    org, fay = pair.org, pair.fay
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            north = signed_in(browser, screens, org.login_link)
            phone = signed_in(browser, screens, fay.login_link, width=375)
            run_the_gig(north, phone, pair, screens)
        finally:
            browser.close()
    assert not screens.server_errors, f"pages answered with server errors: {screens.server_errors}"


def fits_the_phone(phone: Page) -> None:
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, (phone.url, width)


def run_the_gig(north: Page, phone: Page, pair: Pair, screens: Screens) -> None:
    org, fay = pair.org, pair.fay

    # Northwind posts a brief to the guild
    go(north, org, "/briefs")
    north.locator("#brief-guild").select_option(label="Rustaceans")
    north.locator("#brief-title").fill("Port a JSON parser to <Rust>")
    north.locator("#brief-description").fill("Streaming, with tests.")
    north.locator("#brief-criteria").fill("All upstream tests pass\nNo unsafe")
    north.locator("#brief-budget_min").fill("2000")
    north.locator("#brief-budget_max").fill("5000")
    north.locator("#brief-skills").fill("rust")
    press(north, "Post the brief", "is posted")
    expect(north.locator("h1")).to_contain_text("Port a JSON parser to <Rust>")
    expect(north.locator("main")).to_contain_text("2,000.00 to 5,000.00 EUR")
    brief_path = north.url.removeprefix(org.url)
    screens.shoot(north, "org-brief-posted")

    # Fay finds it on her phone, first among briefs matching her skills, and proposes
    sync_now(phone, fay)
    go(phone, fay, "/")
    expect(phone.locator("#my-briefs + ul")).to_contain_text("Port a JSON parser")
    screens.shoot(phone, "fay-home-375px")
    go(phone, fay, "/briefs")
    expect(phone.locator(".brief-list")).to_contain_text("matches rust")
    fits_the_phone(phone)
    screens.shoot(phone, "fay-briefs-375px")
    phone.get_by_role("link", name="Port a JSON parser to <Rust>").click()
    phone.get_by_label("Pitch").fill("A streaming parser in 3 weeks, fuzzed.")
    phone.get_by_label("Price").fill("3500")
    phone.get_by_label("Days the work takes").fill("21")
    press(phone, "Send the proposal", "Your proposal is sent to Northwind Studio")
    expect(phone.locator("main")).to_contain_text("You proposed 3,500.00 EUR in 21 days")
    fits_the_phone(phone)
    screens.shoot(phone, "fay-proposed-375px")

    # Northwind sees the proposal and offers a contract
    sync_now(north, org)
    go(north, org, brief_path)
    expect(north.locator("#received")).to_have_text("Proposals received (1)")
    north.get_by_text("Offer Fay Ferris a contract").click()
    north.get_by_label("Scope").fill("Port the tokenizer and the parser.")
    expect(north.get_by_label("Milestones")).to_have_value("All of the work | 3500.00 | 21")
    screens.shoot(north, "org-offer-form")
    press(north, "Send the offer", "You offered Fay Ferris a contract for 3,500.00 EUR")
    contract_path = north.url.removeprefix(org.url)
    assert contract_path.startswith("/contracts/"), contract_path
    expect(north.locator(".timeline")).to_contain_text("Offer: 3,500.00 EUR")
    screens.shoot(north, "org-offered")

    # Fay accepts, from her contracts list, and submits the work
    sync_now(phone, fay)
    go(phone, fay, "/contracts")
    expect(phone.locator(".contract-list")).to_contain_text("Next for you: accept or answer")
    screens.shoot(phone, "fay-contracts-375px")
    phone.get_by_role("link", name="Port a JSON parser to <Rust>").click()
    expect(phone).to_have_url(fay.url + contract_path)
    press(phone, "Accept the offer", "the contract is active")
    press(phone, "Submit milestone 1", "You submitted milestone 1")
    fits_the_phone(phone)
    screens.shoot(phone, "fay-submitted-375px")

    # Northwind approves and pays
    sync_now(north, org)
    go(north, org, contract_path)
    press(north, "Approve milestone 1", "You approved milestone 1")
    press(north, "Mark milestone 1 paid", "You marked milestone 1 paid")
    screens.shoot(north, "org-paid")

    # Fay confirms the payment, completes, and gives feedback
    sync_now(phone, fay)
    go(phone, fay, contract_path)
    press(phone, "Confirm payment of milestone 1 received", "You confirmed you received")
    press(phone, "Mark the contract complete", "You marked the contract complete")
    phone.get_by_label("3 — excellent").check()
    phone.get_by_label("Prompt payment (optional)").select_option("3")
    phone.get_by_label("Statement (optional)").fill("Clear <brief>, paid at once.")
    press(phone, "Give feedback", "Your feedback is committed")
    expect(phone.locator("#feedback + p")).to_contain_text("You gave your feedback")
    screens.shoot(phone, "fay-feedback-375px")

    # Northwind gives its feedback: both are committed, so both are revealed
    sync_now(north, org)
    go(north, org, contract_path)
    expect(north.locator("h1 .tag")).to_have_text("completed")
    north.get_by_label("2 — it went well").check()
    north.get_by_label("Statement (optional)").fill("Good work, a little late.")
    press(north, "Give feedback", "Your feedback is committed")
    sync_now(phone, fay)
    sync_now(north, org)

    # Each step is on the contract's timeline, on both nodes
    steps = [
        "Offer: 3,500.00 EUR",
        "Accepted the offer",
        "Submitted milestone 1",
        "Approved milestone 1",
        "Paid 3,500.00 EUR for milestone 1",
        "Received the payment for milestone 1",
        "Marked the contract complete",
        "Receipt: the contract completed; payment on time",
        "Committed to feedback",
        "Feedback revealed: rating 3 of 3 (payment promptness 3)",
        "Feedback revealed: rating 2 of 3",
    ]
    for page, node, name in ((north, org, "org-timeline"), (phone, fay, "fay-timeline-375px")):
        go(page, node, contract_path)
        timeline = page.locator(".timeline")
        for step in steps:
            expect(timeline).to_contain_text(step)
        expect(timeline).to_contain_text("Clear <brief>, paid at once.")
        screens.shoot(page, name)
    fits_the_phone(phone)

    # Fay's page about Northwind shows its payment record and her feedback
    go(phone, fay, f"/people/{org.did}")
    expect(phone.locator(".payment-record")).to_contain_text("1 on time, 0 late")
    expect(phone.locator(".feedback-list")).to_contain_text("rating 3 of 3")
    fits_the_phone(phone)
    screens.shoot(phone, "fay-about-northwind-375px")
    go(north, org, "/contracts?state=completed")
    expect(north.locator(".contract-list")).to_contain_text("Port a JSON parser")
    screens.shoot(north, "org-contracts-completed")
    go(north, org, "/")
    screens.shoot(north, "org-home")
    # keyboard: the contract page's first form control is reachable by Tab
    go(north, org, contract_path)
    north.keyboard.press("Tab")
    expect(north.locator(".skip")).to_be_focused()
