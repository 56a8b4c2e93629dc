"""A staff member acts for its organisation in Chromium (SPEC §15.4, §15.6), against three
real `guildnode run` processes — the e2e fixtures of tests/e2e/test_delegates_e2e.py: Northwind
delegates to a staff node, which posts the brief and the offer for it (CLI); Fay accepts and
submits the first milestone; the staff member's owner approves it and marks it paid on the
contract page; after sync Northwind's own node shows the milestone approved and paid by
Northwind, in its CLI and its web UI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browsing import Screens, go, launch, signed_in
from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from test_delegates_e2e import cli, delegated_contract, ok, sync, trio  # noqa: F401 (the fixture)
from test_run import RunningNode

pytestmark = pytest.mark.browser


def login_link(node: RunningNode) -> str:
    """A fresh single-use link, as `guildnode ui` prints it."""
    code, out = cli(node, "ui")
    assert code == 0, out
    return out.strip().splitlines()[-1]


def test_a_staff_member_approves_and_pays_for_its_organisation_in_the_browser(
    trio: dict[str, RunningNode],  # noqa: F811 (test_delegates_e2e's three nodes)
    tmp_path: Path,
) -> None:
    org, staff, fay = trio["org"], trio["staff"], trio["member"]
    ok(fay, "profile", "set", "--name", "Fay")
    contract, _ = delegated_contract(org, staff, fay)

    screens = Screens(tmp_path)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = signed_in(browser, screens, login_link(staff))
            go(page, staff, "/contracts")  # type: ignore[arg-type]
            listed = page.locator(".contract-list li")
            expect(listed).to_contain_text("With Fay · you are the delegate of Northwind")
            expect(listed).to_contain_text("Next for you: approve milestone 1")
            listed.get_by_role("link", name="Review the drivers").click()
            expect(page).to_have_url(f"{staff.url}/contracts/{contract}")
            main = page.locator("main")
            expect(main).to_contain_text("You act for Northwind as its delegate")
            expect(main).to_contain_text("with Fay, the freelancer")
            first = page.locator("#milestone-1")
            expect(main.get_by_role("button", name="Mark the contract complete")).to_have_count(0)
            expect(page.locator(".withheld")).to_have_count(0)
            expect(page.locator("form.ask")).to_have_count(0)  # no party to its messages
            first.get_by_label("Note (optional)").fill("Looks right.")
            first.get_by_role("button", name="Approve milestone 1").click()
            flash = page.locator(".flash")
            expect(flash).to_contain_text("You approved milestone 1 for Northwind.")
            expect(first.locator(".milestone-status")).to_have_text("approved")
            first.get_by_role("button", name="Mark milestone 1 paid").click()
            expect(flash).to_contain_text("You marked milestone 1 paid for Northwind.")
            expect(first.locator(".milestone-status")).to_have_text(
                "paid, not yet confirmed received"
            )
            expect(first.get_by_role("button")).to_have_count(0)
            screens.shoot(page, "staff-contract")

            sync(staff, fay, org)
            shown = ok(org, "contract", "show", contract)
            assert [m["status"] for m in shown["milestones"]] == [
                "paid, not yet confirmed received",
                "to do",
            ]
            # The staff key's records count as Northwind's own on Northwind's node.
            steps = {e["event"]: e for e in shown["timeline"] if e["record"]}
            assert steps["approve"]["who"] == steps["paid"]["who"] == "you"
            assert steps["approve"]["effect"] and steps["paid"]["effect"]
            own = signed_in(browser, screens, login_link(org))
            go(own, org, f"/contracts/{contract}")  # type: ignore[arg-type]
            mine = own.locator("#milestone-1")
            expect(mine.locator(".milestone-status")).to_have_text(
                "paid, not yet confirmed received"
            )
            expect(own.locator("main")).to_contain_text("you are the organisation")
            screens.shoot(own, "organisation-contract")
            assert screens.server_errors == []
        finally:
            browser.close()
