"""A dispute from opening to a mediator's outcome, every step a real `guildnode …` command
against four real `guildnode run` processes (SPEC §17): Northwind hires Fay through their
guild, Fay delivers a milestone, Northwind cancels before approving it (so both receipts say
`none_due`). Fay opens a dispute naming Mia, a member of the guild, discloses the offer and
her submission to her, and Mia finds the work delivered and unpaid. Tom, a fourth member who
is no party, sees the outcome and Northwind's payment record change from nothing to one
`unpaid`. Bad input goes through the same commands: a dispute by a non-party, mediators who
do not qualify, an outcome by a non-mediator, a second outcome — each refused, nothing stored.
Then Mia is removed from the guild by vote: her outcome stops counting, and her node refuses
another (SPEC §17.2: members as of §12.5).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_run import RunningNode, spawn, wait_until_up
from test_work_cli import cli, ok, sync

pytestmark = pytest.mark.e2e

OUTSIDER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def own_records(node: RunningNode) -> list[dict[str, Any]]:
    return list(ok(node, "log", "--author", node.did)["records"])


def refused(node: RunningNode, code: str, *args: str) -> None:
    """`guildnode ARGS` fails with `code`, and the node published nothing."""
    before = own_records(node)
    status, out = cli(node, *args)
    assert status == 1 and code in out, (args, out)
    assert own_records(node) == before


def test_a_dispute_through_the_cli(tmp_path: Path) -> None:
    names = ("org", "fay", "mia", "tom")
    nodes = [spawn(tmp_path / n, tmp_path / f"{n}-logs", extra=("--sync-interval", "0"))
             for n in names]  # fmt: skip
    org, fay, mia, tom = nodes
    try:
        wait_until_up(nodes)
        ok(org, "profile", "set", "--name", "Northwind", "--org")
        for node, name in ((fay, "Fay"), (mia, "Mia"), (tom, "Tom")):
            ok(node, "profile", "set", "--name", name)
        for node in nodes:
            for peer in nodes:
                if peer is not node:
                    ok(node, "peer", "add", peer.url, "--allow-private")
        for node in (org, mia, tom):  # Fay's feed is theirs, her charter with it
            ok(node, "vouch", fay.did, "--level", "2")
        cofounders = [arg for node in (org, mia, tom) for arg in ("--cofounder", node.did)]
        guild = ok(fay, "guild", "found", "Makers", "--purpose", "Makers who vouch",
                   "--vouches-required", "1", "--cooling-days", "0", *cofounders)["id"]  # fmt: skip
        sync(*nodes)
        for node in (org, mia, tom):
            ok(node, "guild", "apply", guild)
        sync(*nodes)
        assert len(ok(tom, "guild", "show", guild)["members"]) == 4

        brief = ok(org, "brief", "post", "--guild", guild, "--title", "Shop sign",
                   "--description", "A sign.", "--criterion", "It hangs", "--budget-min", "100",
                   "--budget-max", "900", "--currency", "EUR")["id"]  # fmt: skip
        sync(org, fay)
        proposal = ok(fay, "propose", brief, "--pitch", "Oak", "--price", "500",
                      "--currency", "EUR", "--days", "5")["id"]  # fmt: skip
        sync(org, fay)
        contract = ok(org, "offer", proposal, "--scope", "The sign", "--criterion", "It hangs",
                      "--milestone", "Sign:500:5", "--days", "10")["id"]  # fmt: skip
        sync(org, fay)
        opening = ("dispute", "open", contract, "--guild", guild, "--statement", "Unpaid work")
        refused(fay, "not_started", *opening, "--mediator", mia.did)  # only offered yet
        ok(fay, "accept", contract)
        sync(org, fay)
        submitted = ok(fay, "milestone", "submit", contract, "1", "--note", "Hung it")["id"]
        sync(org, fay)
        ok(org, "cancel", contract, "--reason", "No longer needed")
        sync(*nodes)
        assert ok(fay, "contract", "show", contract)["state"] == "cancelled"
        before = ok(tom, "trust", org.did, "--json")["payments"]
        assert before == {"on_time": 0, "late": 0, "unpaid": 0, "disputed": 0}

        # Bad input, through the real commands: each refused, nothing published.
        refused(tom, "not_a_party", *opening, "--mediator", mia.did)
        solo = ok(fay, "guild", "found", "Solo", "--purpose", "Just Fay", "--vouches-required",
                  "1", "--cooling-days", "0")["id"]  # fmt: skip
        refused(fay, "not_a_member", "dispute", "open", contract, "--guild", solo,
                "--statement", "Unpaid work", "--mediator", mia.did)  # fmt: skip
        refused(fay, "mediator_not_qualified", *opening, "--mediator", org.did)
        refused(fay, "mediator_not_qualified", *opening, "--mediator", OUTSIDER)
        refused(fay, "invalid_did", *opening, "--mediator", "did:key:zNotAKey")
        elsewhere = ("--statement", "Unpaid work", "--mediator", mia.did)
        refused(fay, "not_found", "dispute", "open", contract, "--guild", "cd" * 32, *elsewhere)
        refused(fay, "not_found", "dispute", "open", "cd" * 32, "--guild", guild, *elsewhere)

        dispute = ok(fay, *opening, "--mediator", mia.did)["id"]
        refused(fay, "unknown_record", "dispute", "disclose", dispute, "ab" * 32)
        sync(fay, mia)
        refused(mia, "not_a_party", "dispute", "disclose", dispute, contract)  # a mediator
        ok(fay, "dispute", "disclose", dispute, contract, submitted)
        sync(*nodes)
        shown = ok(mia, "dispute", "show", dispute)
        assert shown["role"] == "mediator" and shown["statement"] == "Unpaid work"
        disclosed = {r["record"]: r for r in shown["disclosures"][0]["records"]}
        assert disclosed[submitted]["of_contract"]
        assert disclosed[submitted]["body"]["action"] == "submitted"
        assert disclosed[contract]["body"]["price"] == {"amount": 500, "currency": "EUR"}
        assert ok(org, "dispute", "list")["disputes"][0]["role"] == "party"

        refused(tom, "not_a_mediator", "dispute", "outcome", dispute, "--finding", "Mine")
        refused(mia, "not_found", "dispute", "outcome", "ab" * 32, "--finding", "Which?")
        refused(mia, "invalid_argument", "dispute", "outcome", dispute, "--finding", "F",
                "--void-feedback", tom.did)  # fmt: skip
        refused(tom, "not_found", "dispute", "show", dispute)  # sealed: Tom cannot open it
        decided = ok(mia, "dispute", "outcome", dispute, "--payment", "unpaid",
                     "--finding", "The sign was hung and never paid for.")["id"]  # fmt: skip
        refused(mia, "already_decided", "dispute", "outcome", dispute, "--finding", "Again")
        sync(*nodes)

        # The outcome is public: a member who is no party sees it, and Northwind's payment
        # record counts the contract as unpaid (SPEC §12.4, §17.5).
        seen = ok(tom, "trust", org.did, "--json")
        assert seen["payments"]["unpaid"] == 1
        assert [
            (d["id"], d["contract"], d["mediator"], d["counts"]) for d in seen["decisions"]
        ] == [(decided, contract, mia.did, True)]
        listed = ok(fay, "dispute", "list")["disputes"]
        assert [(d["id"], d["outcome"]["id"]) for d in listed] == [(dispute, decided)]
        outcomes = ok(org, "dispute", "show", dispute)["outcomes"]
        assert [(o["id"], o["counts"], o["payment"]) for o in outcomes] == [
            (decided, True, "unpaid")
        ]
        code, text = cli(fay, "dispute", "show", dispute)
        assert code == 0 and "counts" in text and "Mia" in text

        # Mia is removed from the guild by vote (SPEC §12.5): from then on she qualifies as
        # no mediator (§17.2), so her outcome counts on no node and her node refuses another.
        motion = ok(fay, "guild", "propose", guild, "--remove", mia.did, "--reason", "Gone")
        sync(*nodes)
        for node in (org, tom):
            ok(node, "guild", "vote", motion["id"], "yes")
        sync(*nodes)
        members = ok(tom, "guild", "show", guild)["members"]
        assert sorted(m["did"] for m in members) == sorted([org.did, fay.did, tom.did])
        seen = ok(tom, "trust", org.did, "--json")
        assert seen["payments"]["unpaid"] == 0 and seen["decisions"] == []
        outcomes = ok(org, "dispute", "show", dispute)["outcomes"]
        assert [(o["id"], o["counts"]) for o in outcomes] == [(decided, False)]
        refused(mia, "mediator_not_qualified", "dispute", "outcome", dispute, "--finding", "Again")
        refused(fay, "mediator_not_qualified", *opening, "--mediator", mia.did)
    finally:
        for node in nodes:
            node.stop()
