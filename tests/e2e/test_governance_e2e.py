"""Guild governance between real processes (SPEC §12.5): three `guildnode run` nodes on
127.0.0.1, each peered with the others, synced by "sync now" (periodic sync off).

Ada founds a guild with Bea and Cal as cofounders. Ada's amendment has no effect on any node
until Bea's yes makes a majority, then every node shows the amended charter; Bea's motion to
remove Cal, with Ada's yes, takes Cal's membership away on every node, Cal's own included.
Refusals go through the real local API: nothing is stored for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_run import START_TIMEOUT, RunningNode, http, wait_until_up
from test_run import spawn as run_node

pytestmark = pytest.mark.e2e


class Api:
    """One node's local API, with the owner's token."""

    def __init__(self, node: RunningNode, client: httpx.Client) -> None:
        self.node, self.client = node, client
        self.did = node.did
        self.headers = {"Authorization": f"Bearer {node.token}"}

    def post(self, path: str, payload: dict[str, Any], status: int = 200) -> Any:
        response = self.client.post(self.node.url + path, json=payload, headers=self.headers)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = self.client.get(self.node.url + path, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def own_seq(self) -> int:
        feeds = self.client.get(self.node.url + "/sync/heads").json()["feeds"]
        return int(feeds[self.did]["seq"])


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[list[RunningNode]]:
    nodes = [
        run_node(tmp_path / name, tmp_path / f"{name}-logs", extra=("--sync-interval", "0"))
        for name in ("ada", "bea", "cal")
    ]
    try:
        wait_until_up(nodes, START_TIMEOUT)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def sync(*apis: Api) -> None:
    """A round with every peer, on each node in turn: a record any one holds reaches all."""
    for api in apis:
        rounds = api.post("/api/sync", {})["rounds"]
        assert all(r["error"] is None for r in rounds), rounds


def test_every_node_agrees_on_the_amended_charter_and_the_removal(
    trio: list[RunningNode],
) -> None:
    with http() as client:
        ada, bea, cal = (Api(node, client) for node in trio)
        everyone = (ada, bea, cal)
        for api in everyone:
            for other in everyone:
                if other is not api:
                    api.post("/api/vouch", {"subject": other.did, "level": 2})
                    api.post("/api/peers", {"url": other.node.url, "allow_private": True})
        guild = ada.post(
            "/api/guilds",
            {"name": "Makers", "purpose": "Make things.", "vouches_required": 1,
             "cofounders": [bea.did, cal.did], "cooling_days": 0},
        )["id"]  # fmt: skip
        sync(bea, cal)
        bea.post(f"/api/guilds/{guild}/apply", {})
        cal.post(f"/api/guilds/{guild}/apply", {})
        sync(ada, bea, cal)
        for api in everyone:
            assert len(api.get(f"/api/guilds/{guild}")["members"]) == 3

        # Without a majority (one yes of three), nothing changes anywhere.
        motion = ada.post(
            f"/api/guilds/{guild}/motions",
            {"action": "amend", "changes": {"name": "Makers Guild", "vouches_required": 2}},
        )["id"]
        sync(bea, cal)
        for api in everyone:
            [shown] = api.get(f"/api/guilds/{guild}/motions")["motions"]
            assert (shown["id"], shown["status"], shown["yes"]) == (motion, "open", [ada.did])
            assert api.get(f"/api/guilds/{guild}")["name"] == "Makers"

        # Refusals through the real routes: nothing is stored.
        before = cal.own_seq()
        refused = cal.post(f"/api/motions/{'0' * 64}/vote", {"choice": "yes"}, status=404)
        assert refused["error"]["code"] == "not_found"
        refused = ada.post(f"/api/motions/{motion}/vote", {"choice": "yes"}, status=400)
        assert refused["error"]["code"] == "already_voted"
        refused = cal.post(
            f"/api/guilds/{guild}/motions",
            {"action": "amend", "changes": {"vouches_required": 0}},
            status=400,
        )
        assert refused["error"]["code"] == "invalid_argument"
        assert cal.own_seq() == before

        # Bea's yes makes the majority: every node shows the amended charter.
        bea.post(f"/api/motions/{motion}/vote", {"choice": "yes"})
        refused = bea.post(f"/api/motions/{motion}/vote", {"choice": "no"}, status=400)
        assert refused["error"]["code"] == "already_voted"
        sync(ada, cal)
        for api in everyone:
            charter = api.get(f"/api/guilds/{guild}")
            assert (charter["name"], charter["vouches_required"]) == ("Makers Guild", 2)
            [shown] = api.get(f"/api/guilds/{guild}/motions")["motions"]
            assert shown["status"] == "adopted"

        # Bea proposes to remove Cal; with Ada's yes, Cal is a member on no node.
        removal = bea.post(f"/api/guilds/{guild}/motions", {"action": "remove", "member": cal.did})[
            "id"
        ]
        sync(ada, cal)
        cal.post(f"/api/motions/{removal}/vote", {"choice": "no"})
        ada.post(f"/api/motions/{removal}/vote", {"choice": "yes"})
        sync(bea, cal, ada)
        for api in everyone:
            members = {m["did"] for m in api.get(f"/api/guilds/{guild}")["members"]}
            assert members == {ada.did, bea.did}, api.node.data
        assert cal.get(f"/api/guilds/{guild}")["you_are_member"] is False

        # Removed, Cal may no longer propose.
        refused = cal.post(
            f"/api/guilds/{guild}/motions", {"action": "amend", "changes": {"name": "Mine"}},
            status=400,
        )  # fmt: skip
        assert refused["error"]["code"] == "not_a_member"
