"""Organisation delegates with real `guildnode run` processes (SPEC §15): an organisation
delegates `briefs` to a staff member's node; the staff node posts a brief for it that a guild
member's node shows as the organisation's; after the revocation a new brief by the staff key
has no effect there; and bad input through the CLI (and so the local API) is refused with a
code. Every step a `guildnode …` command (click's runner, in this process, against the
running nodes); rounds driven by `guildnode sync`; ports from binding port 0.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_identity_e2e import push
from test_run import RunningNode, http, spawn, wait_until_up
from test_work_cli import cli, ok, sync

from guildnode.datadir import DataDir
from guildnode.protocol import VerifiedRecord, format_timestamp, sign_record
from guildnode.protocol.sealed import seal

pytestmark = pytest.mark.e2e


def refused(node: RunningNode, code: str, *args: str) -> None:
    exit_code, out = cli(node, *args)
    assert exit_code != 0, (args, out)
    assert code in out, (args, out)


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[dict[str, RunningNode]]:
    nodes = {
        name: spawn(tmp_path / name, tmp_path / f"{name}-logs", extra=("--sync-interval", "0"))
        for name in ("org", "staff", "member")
    }
    try:
        wait_until_up(list(nodes.values()))
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


def brief(staff: RunningNode, guild: str, title: str, *extra: str) -> list[str]:
    return ["brief", "post", "--guild", guild, "--title", title, "--description", "Drivers.",
            "--criterion", "A review", "--budget-min", "1000", "--budget-max", "9000",
            "--currency", "EUR", *extra]  # fmt: skip


def test_a_staff_node_posts_briefs_for_its_organisation_until_revoked(
    trio: dict[str, RunningNode],
) -> None:
    org, staff, member = trio["org"], trio["staff"], trio["member"]
    ok(org, "profile", "set", "--name", "Northwind", "--org")
    # The staff node pushes to no one: its records travel when the others pull, so the test
    # decides what the organisation's node has seen when it revokes.
    for a, b in ((org, staff), (org, member), (member, org), (member, staff)):
        ok(a, "peer", "add", b.url, "--allow-private")
    guild = ok(member, "guild", "found", "Firmware", "--purpose", "Drivers.",
               "--vouches-required", "1", "--cooling-days", "0")["id"]  # fmt: skip
    ok(member, "vouch", org.did, "--level", "2", "--context", f"guild:{guild}")

    # Bad input, each refused with its code; nothing published.
    refused(org, "invalid_scope", "delegate", "add", staff.did, "--scope", "briefs,sign")
    refused(org, "invalid_expiry", "delegate", "add", staff.did, "--scope", "briefs",
            "--expires", "-1d")  # fmt: skip
    refused(org, "invalid_expiry", "delegate", "add", staff.did, "--scope", "briefs",
            "--expires", "91d")  # fmt: skip
    refused(org, "self_delegation", "delegate", "add", org.did, "--scope", "briefs")
    refused(org, "not_delegate", "delegate", "revoke", staff.did)
    refused(staff, "not_delegated", *brief(staff, guild, "Too early", "--for", org.did))
    assert ok(org, "delegate", "list")["delegates"] == []

    granted = ok(org, "delegate", "add", staff.did, "--scope", "briefs", "--expires", "30d")
    assert granted["record"]["body"] == {"delegate": staff.did, "scope": ["briefs"]}
    sync(org)  # the grant names the staff key: its node takes Northwind's chain
    assert [g["organisation"] for g in ok(staff, "delegate", "list")["acting_for"]] == [org.did]
    first = ok(staff, *brief(staff, guild, "Review the drivers", "--for", org.did))["id"]
    sync(member)
    [seen] = ok(member, "brief", "list", "--guild", guild)["briefs"]
    assert seen["id"] == first
    assert seen["author"] == org.did and seen["organisation"] == "Northwind"
    assert seen["delegate"] == staff.did

    # The organisation's node has the staff chain up to the first brief when it revokes;
    # meanwhile the staff node, not yet told, posts a second brief (the staff key's seq 2).
    sync(org)
    second = ok(staff, *brief(staff, guild, "One more review", "--for", org.did))["id"]
    revoked = ok(org, "delegate", "revoke", staff.did)
    assert revoked["record"]["body"]["from_seq"] == 2
    assert [g["status"] for g in ok(org, "delegate", "list")["delegates"]] == ["revoked"]
    sync(org, member)
    # The member's node holds the second brief, and it has no effect there: never the org's.
    with http() as client:
        assert client.get(f"{member.url}/records/{second}").status_code == 200
    assert [b["id"] for b in ok(member, "brief", "list", "--guild", guild)["briefs"]] == [first]
    # And the staff node, now holding the revocation, refuses to post for Northwind.
    refused(staff, "not_delegated", *brief(staff, guild, "After", "--for", org.did))

    # Granted `briefs` again: an offer the staff key signs for Northwind (its own client, not
    # its node, which would refuse) is outside the scope and makes no contract on any node.
    ok(org, "delegate", "add", staff.did, "--scope", "briefs", "--expires", "7d")
    sync(org)
    offer = staff_offer(staff, org.did, member.did, first)
    push(org, [offer])
    sync(member)
    for node in (org, member):
        with http() as client:
            assert client.get(f"{node.url}/records/{offer.id}").status_code == 200
        assert ok(node, "contracts")["contracts"] == [], node.url
    assert [g["status"] for g in ok(org, "delegate", "list")["delegates"]] == [
        "revoked",
        "active",
    ]


def staff_offer(staff: RunningNode, org: str, freelancer: str, brief_id: str) -> VerifiedRecord:
    """The staff key's next record: a first offer for `org`, sealed to it, the freelancer and
    the staff key, signed with the key in the staff node's data directory."""
    now = int(time.time())
    inner = {
        "brief": brief_id,
        "organisation": org,
        "freelancer": freelancer,
        "scope": "Review the drivers.",
        "acceptance_criteria": ["A review"],
        "price": {"amount": 1000, "currency": "EUR"},
        "milestones": [{"title": "Review", "amount": 1000, "due": format_timestamp(now + 86_400)}],
        "starts": format_timestamp(now),
        "ends": format_timestamp(now + 2 * 86_400),
    }
    return staff_record(staff, "offer", inner, [org, freelancer], now, now + 86_400)


def delegated_contract(org: RunningNode, staff: RunningNode, fay: RunningNode) -> tuple[str, Any]:
    """Northwind (`org`) delegates briefs, offers, approve and pay to `staff`, which posts a
    brief and offers a contract on `fay`'s proposal for Northwind (CLI); Fay accepts and
    submits milestone 1; the three nodes have synced. The contract's id, and Fay's accept."""
    everyone = (org, staff, fay)
    ok(org, "profile", "set", "--name", "Northwind", "--org")
    for a in everyone:
        for b in everyone:
            if a is not b:
                ok(a, "peer", "add", b.url, "--allow-private")
    guild = ok(fay, "guild", "found", "Firmware", "--purpose", "Drivers.",
               "--vouches-required", "1", "--cooling-days", "0")["id"]  # fmt: skip
    ok(fay, "vouch", org.did, "--level", "2", "--context", f"guild:{guild}")
    ok(org, "delegate", "add", staff.did, "--scope", "briefs,offers,approve,pay",
       "--expires", "30d")  # fmt: skip
    sync(org, staff, fay)
    brief_id = ok(staff, *brief(staff, guild, "Review the drivers", "--for", org.did))["id"]
    sync(staff, fay)
    proposal = ok(fay, "propose", brief_id, "--pitch", "I can.", "--price", "3000",
                  "--currency", "EUR", "--days", "5")["id"]  # fmt: skip
    sync(fay, staff)
    offer = ok(staff, "offer", proposal, "--scope", "Review.", "--criterion", "Done",
               "--milestone", "Review:1000:5", "--milestone", "Fix:2000:9",
               "--for", org.did)  # fmt: skip
    contract = offer["id"]
    sync(staff, fay, org)
    accept = ok(fay, "accept", contract)
    ok(fay, "milestone", "submit", contract, "1")
    sync(fay, staff)
    return contract, accept


def test_a_staff_node_approves_and_pays_for_its_organisation_until_revoked(
    trio: dict[str, RunningNode],
) -> None:
    """SPEC §6.10, §15.4, §15.6: D offers for O, F accepts and submits, D approves and pays
    for O, F confirms; O's and F's nodes show it as O's. After O revokes D, D's node refuses
    the next approval, and the same approval forced into O's node has no effect."""
    org, staff, fay = trio["org"], trio["staff"], trio["member"]
    everyone = (org, staff, fay)
    contract, accept = delegated_contract(org, staff, fay)
    assert {k["to"] for k in accept["record"]["body"]["keys"]} == {org.did, fay.did, staff.did}
    # The staff node derives the contract as Northwind's (it is no party, only a reader).
    seen = ok(staff, "contract", "show", contract)
    assert seen["state"] == "active" and seen["organisation"] == org.did
    approved = ok(staff, "milestone", "approve", contract, "1", "--for", org.did)
    paid = ok(staff, "paid", contract, "1", "--for", org.did)
    assert {k["to"] for k in paid["record"]["body"]["keys"]} == {org.did, fay.did, staff.did}
    sync(staff, fay, org)
    ok(fay, "received", contract, "1")
    sync(fay, org, staff)
    for node in everyone:
        shown = ok(node, "contract", "show", contract)
        assert shown["organisation"] == org.did and shown["freelancer"] == fay.did, node.url
        assert [m["status"] for m in shown["milestones"]] == ["paid", "to do"], node.url
        who = {e["record"]: e["who"] for e in shown["timeline"] if e["record"]}
        as_org = "you" if node is org else "Northwind"
        assert who[approved["id"]] == who[paid["id"]] == as_org, node.url

    # O revokes D; F submits the next milestone; D's node refuses to approve it for O.
    ok(org, "delegate", "revoke", staff.did)
    ok(fay, "milestone", "submit", contract, "2")
    sync(org, fay, staff)
    refused(staff, "not_delegated", "milestone", "approve", contract, "2", "--for", org.did)
    # Forced through another node: D's key signs the approval itself and O's node takes it.
    forced = staff_record(
        staff, "milestone", {"contract": contract, "index": 1, "action": "approved"},
        [org.did, fay.did],
    )  # fmt: skip
    push(org, [forced])
    sync(org, fay)
    for node in (org, fay):
        with http() as client:
            assert client.get(f"{node.url}/records/{forced.id}").status_code == 200
        shown = ok(node, "contract", "show", contract)
        assert [m["status"] for m in shown["milestones"]] == ["paid", "submitted"], node.url
        # D's own record on O's contract: no party's, so not even in the timeline (§12.3).
        assert forced.id not in {e["record"] for e in shown["timeline"]}, node.url


def staff_record(
    staff: RunningNode,
    kind: str,
    inner: dict[str, Any],
    to: list[str],
    created_at: int | None = None,
    expires_at: int | None = None,
) -> VerifiedRecord:
    """The staff key's next record of `kind`, sealed to `to` and the staff key, signed with
    the key in the staff node's data directory (not through its node, which would refuse)."""
    identity = DataDir(staff.data).load_identity()
    last = ok(staff, "log", "--author", staff.did)["records"][-1]
    return sign_record(
        identity,
        kind=kind,
        body=seal(identity, kind, inner, to),
        seq=last["record"]["seq"] + 1,
        prev=last["id"],
        created_at=int(time.time()) if created_at is None else created_at,
        expires_at=expires_at,
    )
