"""Portable reputation through real processes (SPEC §18): on a small network of two
`guildnode run` nodes, Fay earns vouches, a guild membership and a completed contract with
feedback; she exports them with `guildnode export-credentials` (through the running node's
local API) and the file verifies offline with `guildnode verify-credentials`, with the nodes
stopped. A tampered copy fails with its code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_run import RunningNode, spawn, wait_until_up
from test_work_cli import cli, ok, sync

pytestmark = pytest.mark.e2e


def _gig(org: RunningNode, fay: RunningNode) -> str:
    """A contract from brief to feedback, every step through the CLI; its id."""
    brief = ok(org, "brief", "post", "--guild", "ab" * 32, "--title", "Parser port",
               "--description", "Rust.", "--criterion", "Tests pass", "--budget-min", "1000",
               "--budget-max", "9000", "--currency", "EUR", "--skill", "rust",
               "--expires-days", "14")["id"]  # fmt: skip
    sync(org, fay)
    proposal = ok(fay, "propose", brief, "--pitch", "I can", "--price", "4000",
                  "--currency", "EUR", "--days", "5")["id"]  # fmt: skip
    sync(org, fay)
    offer: str = ok(org, "offer", proposal, "--scope", "The parser", "--criterion", "Tests",
                    "--milestone", "Parser:4000:7", "--days", "10")["id"]  # fmt: skip
    sync(org, fay)
    ok(fay, "accept", offer)
    sync(org, fay)
    ok(fay, "milestone", "submit", offer, "1")
    sync(org, fay)
    ok(org, "milestone", "approve", offer, "1")
    ok(org, "paid", offer, "1")
    sync(org, fay)
    ok(fay, "received", offer, "1")
    ok(fay, "complete", offer)
    sync(org, fay)
    ok(fay, "feedback", offer, "--rating", "3")
    ok(org, "feedback", offer, "--rating", "3", "--statement", "Great work", "--skill", "rust")
    sync(org, fay)
    return offer


def test_a_member_exports_and_the_file_verifies_offline(tmp_path: Path) -> None:
    org, fay = (spawn(tmp_path / n, tmp_path / f"{n}-logs", extra=("--sync-interval", "0"))
                for n in ("org", "fay"))  # fmt: skip
    out = tmp_path / "fay-credentials.json"
    try:
        wait_until_up([org, fay])
        ok(org, "profile", "set", "--name", "Northwind", "--org")
        ok(fay, "profile", "set", "--name", "Fay", "--skill", "rust")
        ok(org, "peer", "add", fay.url, "--allow-private")
        ok(fay, "peer", "add", org.url, "--allow-private")
        ok(fay, "vouch", org.did, "--level", "2")
        guild = ok(org, "guild", "found", "Rustaceans", "--purpose", "Rust work",
                   "--vouches-required", "1", "--cooling-days", "0")["id"]  # fmt: skip
        ok(org, "vouch", fay.did, "--level", "3", "--context", "rust", "--statement", "Solid")
        sync(org, fay)
        ok(fay, "guild", "apply", guild)
        ok(org, "vouch", fay.did, "--level", "2", "--context", f"guild:{guild}")
        sync(org, fay)
        assert fay.did in [m["did"] for m in ok(fay, "guild", "show", guild)["members"]]
        contract = _gig(org, fay)

        summary = ok(fay, "export-credentials", "--out", str(out))
        assert summary == {
            "holder": fay.did,
            "credentials": 4,
            "vouches": 2,
            "memberships": 1,
            "contracts": 1,
            "file": str(out),
        }
    finally:
        for node in (org, fay):
            node.stop()

    # Offline: both nodes are stopped; the file alone verifies.
    elsewhere = tmp_path / "no-node"  # verifying needs no data directory at all
    report = ok(elsewhere, "verify-credentials", str(out))
    assert report["ok"] and report["holder"] == fay.did
    assert sorted(c["type"] for c in report["credentials"]) == [
        "GuildnodeContractCredential",
        "GuildnodeMembershipCredential",
        "GuildnodeVouchCredential",
        "GuildnodeVouchCredential",
    ]
    exported = json.loads(out.read_text())
    by_type = {c["type"][1]: c for c in exported["verifiableCredential"]}
    assert all(c["issuer"] == fay.did for c in exported["verifiableCredential"])
    member = by_type["GuildnodeMembershipCredential"]["credentialSubject"]
    assert member["memberOf"]["id"] == f"urn:guildnode:guild:{guild}"
    assert member["vouchedInBy"] == [org.did] and member["founder"] is False
    work = by_type["GuildnodeContractCredential"]["credentialSubject"]
    assert work["contract"] == f"urn:guildnode:contract:{contract}"
    assert (work["role"], work["counterparty"], work["payment"]) == (
        "freelancer",
        org.did,
        "on_time",
    )
    assert work["feedback"] == [{"rating": 3, "statement": "Great work", "skills": ["rust"]}]

    # A tampered copy: Fay raises the level of a vouch she received.
    tampered = json.loads(out.read_text())
    vouch = next(
        c for c in tampered["verifiableCredential"] if c["credentialSubject"].get("level") == 2
    )
    vouch["credentialSubject"]["level"] = 3
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    code, text = cli(elsewhere, "verify-credentials", str(bad))
    assert code == 1 and "bad_proof" in text
    report = _json_failure(elsewhere, bad)
    assert [c["error"]["code"] for c in report["credentials"] if not c["ok"]] == ["bad_proof"]


def _json_failure(data: Path, file: Path) -> Any:
    code, text = cli(data, "verify-credentials", str(file), "--json")
    assert code == 1
    return json.loads(text)
