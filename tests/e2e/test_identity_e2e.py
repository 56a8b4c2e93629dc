"""Identity over time with real processes (SPEC §14): three `guildnode run` nodes agree on
who is one member after a rotation — B synced the old key before, C never saw it — on guild
membership and trust, and the contract's two parties on its state; and a
thief's rotation is undone by a recovery on every node whichever arrives first, unless the
recovery comes after the 72-hour window. Ports from binding port 0; sync by `guildnode sync`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_federation import START_TIMEOUT, clis_ok, publish, spawn
from test_run import RunningNode, http, wait_until_up

from guildnode.identities import WINDOW
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.protocol.httpsig import sign_request

pytestmark = pytest.mark.e2e

HOUR = 3600
PEER = Identity(bytes([201]) * 32)  # signs the inbox posts, as a peer node would


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[dict[str, RunningNode]]:
    nodes = {name: spawn(tmp_path / name, tmp_path / f"{name}-logs") for name in "abc"}
    try:
        wait_until_up(list(nodes.values()), START_TIMEOUT)
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


def get(node: RunningNode, path: str) -> Any:
    with http() as client:
        response = client.get(node.url + path, headers={"Authorization": f"Bearer {node.token}"})
    assert response.status_code == 200, response.text
    return response.json()


def post(node: RunningNode, path: str, payload: dict[str, Any]) -> Any:
    with http() as client:
        response = client.post(
            node.url + path, json=payload, headers={"Authorization": f"Bearer {node.token}"}
        )
    assert response.status_code == 200, response.text
    return response.json()


def peer(*pairs: tuple[RunningNode, RunningNode]) -> None:
    clis_ok(*((x, ["peer", "add", y.url, "--allow-private", "--json"]) for x, y in pairs))


def sync(*nodes: RunningNode) -> None:
    for node in nodes:
        [answer] = clis_ok((node, ["sync", "--json"]))
        assert all(r["error"] is None for r in answer["rounds"]), answer


def members(node: RunningNode, guild: str) -> set[str]:
    return {m["did"] for m in get(node, f"/api/guilds/{guild}")["members"]}


def test_a_rotation_is_one_member_on_every_node(trio: dict[str, RunningNode]) -> None:
    a, b, c = trio["a"], trio["b"], trio["c"]
    old = a.did
    # Before: A founds a guild, B applies and A admits B; A and B vouch for each other.
    guild = post(a, "/api/guilds", {"name": "Keepers", "purpose": "Keys change.",
                                    "vouches_required": 1, "cooling_days": 0})["id"]  # fmt: skip
    peer((a, b), (b, a))
    publish((b, "/api/vouch", {"subject": old, "level": 3}))
    sync(b)
    post(b, f"/api/guilds/{guild}/apply", {})
    publish(
        (a, "/api/vouch", {"subject": b.did, "level": 2, "context": f"guild:{guild}"}),
        (a, "/api/vouch", {"subject": b.did, "level": 3}),
    )
    sync(a, b)
    assert members(b, guild) == {old, b.did}
    # …and B hires A through the guild: a contract, active before the rotation.
    brief_fields = {
        "guilds": [guild],
        "title": "Rotate our keys",
        "description": "Key hygiene.",
        "acceptance_criteria": ["Done"],
        "budget_min": 1000,
        "budget_max": 5000,
        "currency": "EUR",
    }
    brief = post(b, "/api/briefs", brief_fields)["id"]
    sync(a)
    pitch = {"brief": brief, "pitch": "I can.", "amount": 2000, "currency": "EUR"}
    proposal = post(a, "/api/work/propose", pitch | {"duration_days": 10})["id"]
    sync(b)
    milestones = [
        {"title": "One", "amount": 1000, "due_days": 5},
        {"title": "Two", "amount": 1000, "due_days": 9},
    ]
    terms = {"proposal": proposal, "scope": "Rotate.", "acceptance_criteria": ["Done"]}
    contract = post(b, "/api/work/offer", terms | {"milestones": milestones})["id"]
    sync(a)
    post(a, "/api/work/accept", {"offer": contract})
    sync(b)
    assert get(b, f"/api/contracts/{contract}")["state"] == "active"

    # A rotates. B, which synced the old key, and C, which never saw it, follow.
    [rotated] = clis_ok((a, ["identity", "rotate", "--reason", "New laptop.", "--json"]))
    new = rotated["new"]
    assert rotated["old"] == old and get(a, "/api/me")["did"] == new
    publish((a, "/api/vouch", {"subject": b.did, "level": 3, "context": "python"}))  # by NEW
    peer((c, a))
    publish((c, "/api/vouch", {"subject": new, "level": 3}))  # C knows only the new key
    sync(b, c, c)  # C's first round brings NEW's chain, whose succeed names OLD; then OLD's

    for node in (a, b, c):
        member = get(node, f"/api/identity/{old}")
        assert member["member"] == new, node.url
        assert [k["did"] for k in member["keys"]] == [old, new], node.url
        assert members(node, guild) == {new, b.did}, node.url
    # Trust: B's vouch for the old key reaches the member; the old key's vouch for B, made
    # before the rotation, counts for A (now NEW) and for C, who reaches B only through it.
    assert get(b, f"/api/trust/{new}")["score"] > 0
    assert get(b, f"/api/trust/{old}")["member"] == new
    assert get(a, f"/api/trust/{b.did}")["score"] > 0
    assert get(c, f"/api/trust/{b.did}")["score"] > 0
    state = get(a, "/api/identity")
    assert state["signing_key_is_current"] is True
    assert state["keys"][0]["cut"] is not None

    # The contract goes on: A (now NEW) submits, B approves; both parties derive the same
    # state and milestones, and C, not a party, derives no contract at all.
    post(a, "/api/work/submit", {"contract": contract, "milestone": 0})
    sync(b)
    post(b, "/api/work/approve", {"contract": contract, "milestone": 0})
    sync(a)
    views = [get(node, f"/api/contracts/{contract}") for node in (a, b)]
    assert views[0]["state"] == views[1]["state"] == "active"
    assert [m["status"] for m in views[0]["milestones"]] == [
        m["status"] for m in views[1]["milestones"]
    ]
    assert views[0]["milestones"][0]["status"] != views[0]["milestones"][1]["status"]
    assert get(c, "/api/contracts")["contracts"] == []


class Key:
    """A key outside any node, signing its own chain with the times the test gives."""

    def __init__(self, n: int) -> None:
        self.identity = Identity(bytes([n]) * 32)
        self.did = self.identity.did
        self.chain: list[VerifiedRecord] = []

    def sign(self, kind: str, body: dict[str, Any], at: int) -> VerifiedRecord:
        head = self.chain[-1] if self.chain else None
        record = sign_record(
            self.identity,
            kind=kind,
            body=body,
            seq=len(self.chain) + 1,
            prev=head.id if head else None,
            created_at=at,
        )
        self.chain.append(record)
        return record


def push(node: RunningNode, records: list[VerifiedRecord]) -> None:
    """POST records to the node's inbox as a peer does; each must be accepted."""
    url = f"{node.url}/inbox"
    body = json.dumps({"records": [r.to_wire() for r in records]}).encode()
    headers = sign_request(
        PEER,
        method="POST",
        url=url,
        headers={"content-type": "application/json"},
        body=body,
        now=int(time.time()),
        nonce=secrets.token_urlsafe(12),
    ) | {"content-type": "application/json"}
    with http() as client:
        response = client.post(url, content=body, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * len(records), results


def theft(base: int, stolen_ago: int) -> tuple[Key, Key, Key, list[VerifiedRecord], Any, Any]:
    """OLD names two friends (2 of 2) and is stolen `stolen_ago` seconds ago: the thief's
    rotation, and the friends' recovery to RESCUE an hour ago. Keys numbered from `base`."""
    old, thief, rescue, f1, f2 = (Key(base + n) for n in range(5))
    now = int(time.time())
    setup = [old.sign("recovery", {"keys": [f1.did, f2.did], "threshold": 2}, now - 9 * 86_400)]
    stolen = old.sign("rotate", {"successor": thief.did}, now - stolen_ago)
    by_thief = [stolen, thief.sign("succeed", {"predecessor": old.did, "via": stolen.id}, now)]
    vote = {"key": old.did, "from_seq": stolen.seq, "successor": rescue.did}
    votes = [f.sign("compromise", vote, now - HOUR) for f in (f1, f2)]
    by_friends = [*votes, rescue.sign("succeed", {"predecessor": old.did, "via": votes[0].id}, now)]
    return old, thief, rescue, setup, by_thief, by_friends


@pytest.mark.parametrize(
    ("stolen_ago", "winner"), [(2 * 86_400, "rescue"), (WINDOW + 2 * HOUR, "thief")]
)
def test_a_recovery_in_the_window_wins_on_every_node_whichever_arrives_first(
    trio: dict[str, RunningNode], stolen_ago: int, winner: str
) -> None:
    a, b, c = trio["a"], trio["b"], trio["c"]
    old, thief, rescue, setup, by_thief, by_friends = theft(110, stolen_ago)
    publish(*((node, "/api/vouch", {"subject": old.did, "level": 2}) for node in (a, b, c)))
    for node in (a, b, c):
        push(node, setup)
    # A: the thief's records first; B: the recovery first; C: one record at a time, mixed.
    for record in by_thief:
        push(a, [record])
    for record in by_friends:
        push(a, [record])
    for record in by_friends:
        push(b, [record])
    for record in by_thief:
        push(b, [record])
    for record in (by_friends[0], by_thief[0], by_friends[1], by_thief[1], by_friends[2]):
        push(c, [record])

    expected = rescue.did if winner == "rescue" else thief.did
    loser = thief.did if winner == "rescue" else rescue.did
    for node in (a, b, c):
        assert get(node, f"/api/identity/{old.did}")["member"] == expected, node.url
        assert get(node, f"/api/trust/{expected}")["score"] > 0, node.url  # the vouch for OLD
        assert get(node, f"/api/trust/{loser}")["score"] == 0, node.url
