"""`guildnode demo --once`: the whole story on real node processes, checked from its summary —
the lines it prints, and `summary.json` (what each node saw at each step) in its directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

STEPS_BEFORE_THE_GIG = (
    "nodes started and peered",
    "freelancers vouched for one another",
    "Ada and Bram founded a guild",
    "others applied and were admitted",
    "a member vouched for Northwind Studio",
    "Northwind Studio posted a brief to the guild",
)
GIG = (
    "Ada and Dev proposed on the brief",
    "Northwind Studio offered Ada a contract",
    "Ada countered at her proposed price",
    "Northwind Studio accepted the counter-offer",
    "a milestone submitted and approved",
    "payment attested: paid and received",
    "the contract completed; both receipts public",
    "Ada committed blind feedback",
    "Northwind committed too; both nodes revealed by themselves",
    "trust updated: Chiara's node trusts Ada more in python",
)
ASKED = "Ada asked about the brief; Northwind answered to all"
INBOX = "Ada's inbox: the offer waits on her"
WROTE = "Ada and Northwind wrote on the contract"
AFTER = (
    "the guild amended its purpose by majority vote",
    "Ada exported her credentials and verified them offline",
    "Dev disputed a cancelled contract; Chiara's outcome counts",
)
# The contract's steps, with the talk around it where it happens.
ORDER = (*STEPS_BEFORE_THE_GIG, ASKED, *GIG[:2], INBOX, *GIG[2:4], WROTE, *GIG[4:], *AFTER)
NODES = {"Northwind", "Ada", "Bram", "Chiara", "Dev", "Esi"}
PARTIES = {"Northwind", "Ada"}
OUTSIDERS = NODES - PARTIES


def test_demo_once_plays_every_step_on_every_node(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guildnode", "demo", "--once", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=400,
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in ORDER:
        assert f"✓ {step}" in out, out
    assert "✗" not in out
    assert "the same on all 5 freelancers' nodes" in out
    assert "seen by 5 of 5 members" in out
    total = len(ORDER)
    assert f"Summary: {total} of {total} steps checked on every node." in out
    assert "Trust, as each freelancer's own node computes it:" in out
    for name in ("Northwind Studio", "Ada Okafor", "Esi Mensah"):
        assert name in out
    assert out.count("http://127.0.0.1:") >= 6  # every node's UI login link
    assert "web UI login link" in out
    # Every node was stopped cleanly: no process holds a data directory afterwards.
    for lock_holder in (tmp_path / "demo").glob("*/node.json"):
        raise AssertionError(f"{lock_holder} left behind: a node did not shut down")

    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["ok"] is True
    assert set(summary["members"]) == NODES
    assert summary["cast"] == {
        "organisation": "Northwind", "freelancer": "Ada", "rival": "Dev", "viewer": "Chiara",
    }  # fmt: skip
    steps = {step["title"]: step for step in summary["steps"]}
    assert list(steps) == list(ORDER)
    assert all(step["ok"] for step in steps.values())
    check_every_node(steps)
    check_the_talk(steps, out)
    check_the_guild_and_the_credentials(steps, summary["members"]["Ada"]["did"], tmp_path)
    check_the_dispute(steps)
    check_the_trust_table(out)


def test_demo_once_with_more_freelancers_than_the_vouches_reach(tmp_path: Path) -> None:
    """With 7 freelancers, Dev is more than two vouch hops from the founders: he holds the
    charter because the founders vouch for him before he applies, and the story plays."""
    result = subprocess.run(
        [sys.executable, "-m", "guildnode", "demo", "--once", "--nodes", "7"],
        capture_output=True, text=True, timeout=400, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "7 members, the same on all 7 freelancers' nodes" in out
    assert f"Summary: {len(ORDER)} of {len(ORDER)} steps checked on every node." in out
    assert "yes 4, no 1 of 7 members (needed 4)" in out
    assert "all 7 members' nodes count 1 unpaid contract in Bram's payment record" in out


def check_every_node(steps: dict[str, Any]) -> None:
    """Each step as every node saw it: parties, outsiders, and the whole guild."""
    freelancers = NODES - {"Northwind"}
    admitted = steps["others applied and were admitted"]["nodes"]
    assert admitted.keys() == freelancers
    assert all(set(seen["members"]) == freelancers for seen in admitted.values())
    briefed = steps["Northwind Studio posted a brief to the guild"]["nodes"]
    assert briefed == {name: {"brief": True} for name in freelancers}

    gig = {title: steps[title]["nodes"] for title in GIG[:-1]}
    for title, nodes in gig.items():
        assert nodes.keys() == NODES, title
        for name, seen in nodes.items():
            # Sealed bodies: every node holds every sealed record so far, and neither the
            # offer's scope nor a pitch is in their bytes.
            assert seen["sealed_held"] == seen["sealed_published"] > 0, (title, name, seen)
            assert seen["secrets_in_clear"] is False, (title, name)
            if name in OUTSIDERS and title != GIG[0]:
                assert seen["state"] is None, (title, name)  # no contract, nothing readable
                assert "price" not in seen and "milestone" not in seen

    proposals = gig["Ada and Dev proposed on the brief"]
    assert proposals["Northwind"]["proposals"] == ["Ada", "Dev"]
    assert proposals["Ada"]["proposals"] == ["Ada"] and proposals["Dev"]["proposals"] == ["Dev"]
    assert all(proposals[name]["proposals"] == [] for name in ("Bram", "Chiara", "Esi"))
    assert all(proposals[name]["sealed_published"] == 2 for name in NODES)

    for title, state, price in (
        ("Northwind Studio offered Ada a contract", "offered", 350_000),
        ("Ada countered at her proposed price", "countered", 380_000),
        ("Northwind Studio accepted the counter-offer", "active", 380_000),
    ):
        for party in PARTIES:
            seen = gig[title][party]
            assert (seen["state"], seen["price"], seen["scope_readable"]) == (state, price, True)

    parties_see = {
        "a milestone submitted and approved": ("active", "approved", "due"),
        "payment attested: paid and received": ("active", "paid", "on_time"),
        "the contract completed; both receipts public": ("completed", "paid", "on_time"),
    }
    for title, expected in parties_see.items():
        for party in PARTIES:
            seen = gig[title][party]
            assert (seen["state"], seen["milestone"], seen["payment"]) == expected, (title, seen)

    # Public to the whole guild: receipts, the payment record, commitments and reveals.
    completed = gig["the contract completed; both receipts public"]
    committed = gig["Ada committed blind feedback"]
    revealed = gig["Northwind committed too; both nodes revealed by themselves"]
    for name in NODES:
        assert completed[name]["receipts"] == {"Ada": "on_time", "Northwind": "on_time"}
        assert completed[name]["organisation_payments"]["on_time"] == 1
        assert completed[name]["commitments"] == [] and completed[name]["feedback"] == {}
        assert committed[name]["commitments"] == ["Ada"]
        assert committed[name]["feedback"] == {}  # blind until both have committed
        assert revealed[name]["commitments"] == ["Ada", "Northwind"]
        assert revealed[name]["feedback"] == {"Ada": 3, "Northwind": 3}
    for party in PARTIES:
        assert revealed[party]["feedback_counts"] == ["Ada", "Northwind"]

    # Chiara knows Northwind, not Ada: the contract-backed feedback is what ranks Ada for her.
    trust = steps[GIG[-1]]["nodes"]["Chiara"]
    before, after = trust["before"], trust["after"]
    assert before["rank"] is None and after["rank"] is not None
    assert after["relative"] > before["relative"]
    assert any("backed by a contract" in words for words in trust["paths"])


def check_the_talk(steps: dict[str, Any], out: str) -> None:
    """The question only Northwind read and its answer on every node; Ada's inbox with the
    offer, as `guildnode inbox` prints it; the contract's messages, read by its parties."""
    asked = steps[ASKED]["nodes"]
    assert asked.keys() == NODES
    answer = [
        "Where does the project data live?",
        "PostgreSQL 15 on our own server; a read-only replica is yours for the gig.",
    ]
    for name, seen in asked.items():
        assert seen["answers"] == [answer], name  # the public answer, in Northwind's words
        assert seen["question_in_clear"] is False, name  # her question is sealed everywhere
    # Her question and the answer, in the thread of the two; no one else has a thread.
    assert asked["Northwind"]["threads"] == ["Ada Okafor: 2"]
    assert asked["Ada"]["threads"] == ["Northwind Studio: 2"]
    assert all(asked[name]["threads"] == [] for name in OUTSIDERS)

    notices = steps[INBOX]["nodes"]["Ada"]["notices"]
    assert [n["kind"] for n in notices] == ["offer"]
    offer = "Northwind Studio sent you an offer for “A data dashboard for our studio”"
    assert notices[0]["title"] == offer and notices[0]["link"].startswith("/contracts/")
    assert f"1 thing waits on you:\n      - {offer}\n" in out  # the CLI's lines, printed

    wrote = steps[WROTE]["nodes"]
    assert wrote.keys() == NODES
    for name, seen in wrote.items():
        # Five contract records and the two messages: held sealed by all, read by none.
        assert seen["sealed_held"] == seen["sealed_published"] == 7, (name, seen)
        assert seen["secrets_in_clear"] is False, name
    assert wrote["Northwind"]["threads"] == ["Ada Okafor: 2"]
    assert wrote["Ada"]["threads"] == ["Northwind Studio: 2"]
    for name in OUTSIDERS:
        assert wrote[name]["threads"] == [] and wrote[name]["state"] is None, name


def check_the_guild_and_the_credentials(steps: dict[str, Any], ada: str, tmp_path: Path) -> None:
    """The amended charter on every node, the same tally on every member's; Ada's credentials
    file, which verifies with every node stopped."""
    amended = steps[AFTER[0]]["nodes"]
    assert amended.keys() == NODES
    charters = [seen["charter"] for seen in amended.values()]
    assert charters[0]["purpose"] == "Designers and developers who ship, and say how it went."
    assert all(charter == charters[0] for charter in charters)
    tally = {"status": "adopted", "yes": 3, "no": 1, "needed": 3, "electorate": 5}
    assert all(amended[name]["motion"] == tally for name in NODES - {"Northwind"})

    carried = steps[AFTER[1]]["nodes"]["Ada"]
    assert (carried["holder"], carried["verified"]) == (ada, True)
    assert (carried["vouches"], carried["memberships"], carried["contracts"]) == (2, 1, 1)
    assert carried["edited_fails"] == ["bad_proof"]  # one claim changed after signing
    # Offline for real: every node has stopped, and the CLI checks the file on its own.
    result = subprocess.run(
        [sys.executable, "-m", "guildnode", "verify-credentials", "--json",
         str(tmp_path / "demo" / carried["file"])],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["holder"] == ada
    assert len(report["credentials"]) == carried["credentials"] == 4


def check_the_dispute(steps: dict[str, Any]) -> None:
    """Bram's second contract with Dev, cancelled after the delivery: Chiara's outcome counts
    on every member's node, each counting it unpaid in Bram's payment record. Only the two
    parties read the contract; Northwind, no member, replicates none of Bram's records."""
    decided = steps[AFTER[2]]["nodes"]
    outcome = {"by": "Chiara", "payment": "unpaid", "counts": True}
    for name in NODES - {"Northwind"}:
        seen = decided[name]
        assert (seen["unpaid"], seen["decisions"]) == (1, [outcome]), (name, seen)
        assert seen["state"] == ("cancelled" if name in {"Bram", "Dev"} else None), name
    assert decided["Northwind"]["state"] is None


def check_the_trust_table(out: str) -> None:
    """The table at the end reflects the gig: Chiara's node now ranks Ada in python, and
    every freelancer's node counts Northwind's payment on time."""
    table = out.split("Trust, as each freelancer's own node computes it:")[1].split("\n\n")[0]
    rows = {line.split()[0]: line for line in table.strip().splitlines()[1:]}
    assert rows.keys() == NODES - {"Northwind"}
    assert "Ada" in rows["Chiara"]
    assert all(row.rstrip().endswith("1 on time") for row in rows.values())
