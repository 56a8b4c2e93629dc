"""Real processes federating: three `guildnode run` nodes on 127.0.0.1, synced by "sync now".

A ⇄ B ⇄ C, and A and C never peer. C vouches for B and B for A, so A is two vouch hops
from C along vouches given (DESIGN, Scope): C replicates A's chain, and gets it only
through B. Then C dies by SIGKILL, A writes on, and C catches up after a restart. Periodic
sync is off (`--sync-interval 0`): every round here is a `guildnode sync`. Ports come from
binding port 0; every wait is bounded.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_run import (
    OTHER,
    STOP_TIMEOUT,
    RunningNode,
    cli,
    cli_ok,
    cli_processes,
    http,
    wait_until_up,
)
from test_run import spawn as run_node

from guildnode.protocol import Identity, verify_record

pytestmark = pytest.mark.e2e

ANOTHER = Identity(bytes([10]) * 32).did
START_TIMEOUT = 60.0  # three nodes start at once, and a CI machine may have two cores


def spawn(data: Path, logs: Path, port: int | None = None) -> RunningNode:
    """`guildnode run` with periodic sync off: this test drives sync with `guildnode sync`."""
    return run_node(data, logs, port, extra=("--sync-interval", "0"))


def clis(*calls: tuple[RunningNode, Sequence[str]]) -> list[tuple[int, str, str]]:
    """Several CLI processes at once, each beside its node; (exit code, stdout, stderr)."""
    return cli_processes([(node.data, args) for node, args in calls])


def clis_ok(*calls: tuple[RunningNode, Sequence[str]]) -> list[Any]:
    """Like `clis`, each call must succeed; their stdout parsed as JSON."""
    outputs = []
    for (_, args), (rc, out, err) in zip(calls, clis(*calls), strict=True):
        assert rc == 0, (args, out, err)
        outputs.append(json.loads(out))
    return outputs


def publish(*calls: tuple[RunningNode, str, dict[str, Any]]) -> list[str]:
    """POST each payload to a node's local API (`/api/vouch`, `/api/profile`) with the
    owner's token, as the CLI does (a CLI process costs a second); the new records' ids."""
    published = []
    with http() as client:
        for node, path, payload in calls:
            response = client.post(
                node.url + path, json=payload, headers={"Authorization": f"Bearer {node.token}"}
            )
            assert response.status_code == 200, response.text
            published.append(response.json()["id"])
    return published


def heads(node: RunningNode) -> dict[str, Any]:
    with http() as client:
        response = client.get(node.url + "/sync/heads")
    assert response.status_code == 200, response.text
    return response.json()["feeds"]  # type: ignore[no-any-return]


def held(node: RunningNode) -> dict[str, list[str]]:
    """author → ids of the records `node` serves, in seq order (each one verified here)."""
    chains: dict[str, list[str]] = {}
    with http() as client:
        for author, head in heads(node).items():
            response = client.get(f"{node.url}/sync/feed/{author}", params={"limit": 200})
            assert response.status_code == 200, response.text
            records = [verify_record(r) for r in response.json()["records"]]
            assert [r.seq for r in records] == list(range(1, head["seq"] + 1)), author
            assert records[-1].id == head["id"], author
            chains[author] = [r.id for r in records]
    return chains


def ids(log: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in log["records"]]


def seqs(log: dict[str, Any]) -> list[int]:
    return [entry["record"]["seq"] for entry in log["records"]]


def the_round(sync: dict[str, Any], peer: RunningNode) -> dict[str, Any]:
    """The one round of a `sync --json` answer; it must be with `peer`, and clean."""
    rounds = sync["rounds"]
    assert [r["url"] for r in rounds] == [peer.url], rounds
    assert rounds[0]["error"] is None, rounds
    assert rounds[0]["rejected"] == {}, rounds
    return rounds[0]  # type: ignore[no-any-return]


class Trio:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes = {name: spawn(root / name, root / f"{name}-logs") for name in "abc"}

    def __getitem__(self, name: str) -> RunningNode:
        return self.nodes[name]

    def restart(self, name: str) -> RunningNode:
        """Start `name` again on its data directory and port."""
        old = self.nodes[name]
        assert old.process.poll() is not None, "restart a stopped node only"
        self.nodes[name] = spawn(old.data, old.logs, old.port)
        wait_until_up([self.nodes[name]], START_TIMEOUT)
        return self.nodes[name]


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[Trio]:
    started = Trio(tmp_path)
    try:
        wait_until_up(list(started.nodes.values()), START_TIMEOUT)
        yield started
    finally:
        for node in started.nodes.values():
            node.stop()


def test_c_replicates_a_through_b_and_catches_up_after_a_crash(trio: Trio) -> None:
    a, b, c = trio["a"], trio["b"], trio["c"]
    did_a, did_b, did_c = a.did, b.did, c.did

    # Records first, peers after: nothing is pushed, so only `sync` moves records.
    publish(
        (c, "/api/vouch", {"subject": did_b, "level": 3}),  # C → B
        (b, "/api/vouch", {"subject": did_a, "level": 2}),  # B → A: A is two hops from C
        (b, "/api/vouch", {"subject": did_c, "level": 2}),
        (a, "/api/vouch", {"subject": did_b, "level": 2}),
        (a, "/api/profile", {"name": "Ada"}),
    )
    # A loopback peer needs the owner's explicit --allow-private (issue 14).
    refused = cli(a.data, "peer", "add", b.url, "--json")
    assert refused.returncode != 0
    assert "private_address" in refused.stderr, refused.stderr
    assert json.loads(cli_ok(a.data, "peer", "list", "--json"))["peers"] == []
    [added, *_] = clis_ok(
        (a, ["peer", "add", b.url, "--allow-private", "--json"]),
        (b, ["peer", "add", a.url, "--allow-private", "--json"]),
        (b, ["peer", "add", c.url, "--allow-private", "--json"]),
        (c, ["peer", "add", b.url, "--allow-private", "--json"]),
    )
    assert added["url"] == b.url and added["allow_private"] is True

    # B pulls A's records (and C's, and offers C its own); then C pulls from B: B's vouch
    # for A brings A into C's scope, and A's records come from B, the only peer C has.
    [b_sync] = clis_ok((b, ["sync", "--json"]))
    assert all(r["error"] is None for r in b_sync["rounds"]), b_sync
    [c_sync] = clis_ok((c, ["sync", "--json"]))
    assert the_round(c_sync, b)["accepted"] >= 2  # A's two records at least

    a_chain = held(a)[did_a]
    assert len(a_chain) == 2
    before_crash = held(c)
    assert before_crash[did_a] == a_chain
    assert set(before_crash) == {did_a, did_b, did_c}

    # C dies without warning; A writes on, and B takes A's new records.
    c.process.send_signal(signal.SIGKILL)
    c.process.wait(timeout=STOP_TIMEOUT)
    assert c.process.returncode == -signal.SIGKILL
    publish(
        (a, "/api/vouch", {"subject": OTHER, "level": 1, "context": "python"}),
        (a, "/api/vouch", {"subject": ANOTHER, "level": 3}),
        (a, "/api/profile", {"name": "Ada Lovelace", "skills": ["python"]}),
    )
    [b_sync] = clis_ok((b, ["sync", "--json"]))
    by_url = {r["url"]: r for r in b_sync["rounds"]}
    assert by_url[a.url]["error"] is None, b_sync
    assert by_url[c.url]["error"]["code"] == "peer_unreachable", b_sync
    a_chain = held(a)[did_a]
    assert len(a_chain) == 5
    assert held(b)[did_a] == a_chain

    # C comes back on the same directory and port, holding all it had acknowledged.
    c = trio.restart("c")
    assert held(c) == before_crash
    [c_sync] = clis_ok((c, ["sync", "--json"]))
    assert the_round(c_sync, b)["accepted"] == 3  # A's three new records, through B

    *answers, (check_rc, check_out, check_err) = clis(
        (c, ["log", "--json", "--author", did_a]),
        (c, ["peer", "list", "--json"]),
        (c, ["check"]),
    )
    assert all(rc == 0 for rc, _, _ in answers), answers
    c_log, c_peers = (json.loads(out) for _, out, _ in answers)
    # A's whole chain as A serves it, in order: no gap, no duplicate
    assert ids(c_log) == a_chain
    assert seqs(c_log) == [1, 2, 3, 4, 5]
    after = held(c)
    assert after[did_a] == a_chain
    for author, chain in before_crash.items():  # nothing C acknowledged was lost
        assert after[author][: len(chain)] == chain
    assert check_rc == 0, (check_out, check_err)
    assert "all verify" in check_out
    [peer_b] = c_peers["peers"]  # C never peered with A
    assert peer_b["did"] == did_b
    assert peer_b["url"] == b.url
    assert peer_b["records_received"] > 0
    assert peer_b["rejections"] == {}
    assert peer_b["last_error"] is None
    assert did_a not in json.dumps(c_peers)
    assert a.url not in json.dumps(c_peers)
