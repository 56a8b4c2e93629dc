"""The work commands of the CLI against two real `guildnode run` processes: a brief, a
proposal, an offer and a counter, acceptance, a milestone, payment, completion and blind
feedback — every step a `guildnode …` command, every listing read back with `--json`, and
rounds driven by `guildnode sync`. Then, with the nodes stopped, the same listings straight
from the data directories. The CLI runs in this process (click's runner); the nodes do not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_run import RunningNode, spawn, wait_until_up

from guildnode.cli import main

pytestmark = pytest.mark.e2e

GUILD = "cd" * 32


def cli(node: RunningNode | Path, *args: str) -> tuple[int, str]:
    data = node.data if isinstance(node, RunningNode) else node
    result = CliRunner().invoke(main, ["--data", str(data), *args])
    return result.exit_code, result.output


def ok(node: RunningNode | Path, *args: str) -> Any:
    code, out = cli(node, *args, "--json")
    assert code == 0, (args, out)
    return json.loads(out)


def sync(*nodes: RunningNode) -> None:
    for _ in range(2):
        for node in nodes:
            ok(node, "sync")


def test_a_gig_through_the_cli(tmp_path: Path) -> None:
    org, fay = (spawn(tmp_path / n, tmp_path / f"{n}-logs", extra=("--sync-interval", "0"))
                for n in ("org", "fay"))  # fmt: skip
    try:
        wait_until_up([org, fay])
        ok(org, "profile", "set", "--name", "Northwind", "--org")
        ok(fay, "profile", "set", "--name", "Fay", "--skill", "rust")
        ok(org, "peer", "add", fay.url, "--allow-private")
        ok(fay, "peer", "add", org.url, "--allow-private")
        ok(fay, "vouch", org.did, "--level", "2")  # Fay knows Northwind: its feed is hers
        brief = ok(org, "brief", "post", "--guild", GUILD, "--title", "Parser port",
                   "--description", "Rust.", "--criterion", "Tests pass", "--budget-min", "1000",
                   "--budget-max", "9000", "--currency", "EUR", "--skill", "rust",
                   "--expires-days", "14")["id"]  # fmt: skip
        sync(org, fay)
        assert [b["id"] for b in ok(fay, "brief", "list", "--skill", "rust")["briefs"]] == [brief]

        # Amounts are integers: the CLI refuses a fraction before anything is sent.
        code, out = cli(fay, "propose", brief, "--pitch", "p", "--price", "12.5",
                        "--currency", "EUR", "--days", "5")  # fmt: skip
        assert code != 0 and "12.5" in out
        proposal = ok(fay, "propose", brief, "--pitch", "I can do it", "--price", "5000",
                      "--currency", "EUR", "--days", "5")["id"]  # fmt: skip
        sync(org, fay)
        listed = ok(org, "proposals", "--brief", brief)["proposals"]
        assert [(p["id"], p["pitch"], p["open"]) for p in listed] == [
            (proposal, "I can do it", True)
        ]

        offer = ok(org, "offer", proposal, "--scope", "The parser", "--criterion", "Tests pass",
                   "--milestone", "Parser:4000:7", "--days", "10")["id"]  # fmt: skip
        code, out = cli(org, "offer", proposal, "--scope", "s", "--criterion", "c",
                        "--milestone", "M:1:1", "--days", "181")  # fmt: skip
        assert code == 1 and "contract_too_long" in out
        sync(org, fay)
        counter = ok(fay, "counter", offer, "--milestone", "Parser:5000:7")["id"]
        sync(org, fay)
        assert [c["state"] for c in ok(org, "contracts")["contracts"]] == ["countered"]
        ok(org, "accept", counter)
        sync(org, fay)
        assert ok(fay, "contracts", "--state", "active")["contracts"][0]["id"] == offer

        ok(fay, "milestone", "submit", offer, "1", "--note", "Done")
        sync(org, fay)
        ok(org, "milestone", "approve", offer, "1")
        ok(org, "paid", offer, "1")
        sync(org, fay)
        ok(fay, "received", offer, "1")
        ok(fay, "complete", offer)
        sync(org, fay)
        shown = ok(org, "contract", "show", offer)
        assert shown["state"] == "completed" and shown["payment"] == "on_time"
        assert shown["terms"]["price"] == {"amount": 5000, "currency": "EUR"}
        assert {r["author"] for r in shown["receipts"]} == {org.did, fay.did}

        ok(fay, "feedback", offer, "--rating", "3", "--payment-promptness", "3")
        code, out = cli(fay, "feedback", offer, "--rating", "2")
        assert code == 1 and "already_committed" in out
        ok(org, "feedback", offer, "--rating", "3", "--statement", "Great work")
        sync(org, fay)
        shown = ok(fay, "contract", "show", offer)
        assert sorted((f["from"], f["rating"], f["counts"]) for f in shown["feedback"]) == [
            ("Northwind", 3, True),
            ("you", 3, True),
        ]
        code, text = cli(fay, "contract", "show", offer)
        assert code == 0 and "completed" in text and "Timeline:" in text
        trust = ok(fay, "trust", org.did, "--context", "rust")
        assert trust["score"] > 0
    finally:
        for node in (org, fay):
            node.stop()
    # Without a running node the CLI reads the data directory itself, with the same answers.
    assert ok(org.data, "contracts")["contracts"][0]["state"] == "completed"
    assert ok(fay.data, "contract", "show", offer)["payment"] == "on_time"
