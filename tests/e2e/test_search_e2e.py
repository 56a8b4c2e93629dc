"""Discovery end to end (issue 12), every party a real process: three guilds on separate
member nodes, one indexer on PostgreSQL following them. Fay (a freelancer, founder of guild
1) finds a brief Northwind posted to guild 3 by words of its description, her node verifies
it, fetches it and she proposes through the normal path; Northwind's node receives the
proposal. Guild 2 is not listed and is never found, by its own words or any other search.

The indexer is `guildnode indexer run --database URL --peer URL…`, on a fresh database of
the real PostgreSQL that tests/conftest.py provides.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_run import (
    GUILDNODE,
    START_TIMEOUT,
    RunningNode,
    clean_env,
    cli_ok,
    free_port,
    spawn,
    wait_until_up,
)

pytestmark = pytest.mark.e2e

INDEX_TIMEOUT = 60.0


def ok(node: RunningNode, *args: str) -> Any:
    return json.loads(cli_ok(node.data, *args, "--json"))


def until(check: Callable[[], Any], what: str, limit: float = INDEX_TIMEOUT) -> Any:
    """`check()` once it is truthy, trying every half second up to `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {limit} s")
        time.sleep(0.5)


@pytest.fixture
def network(tmp_path: Path, database: str) -> Iterator[dict[str, Any]]:
    names = ("fay", "gus", "hal", "north")
    extra = ("--sync-interval", "0", "--allow-private-peers")  # all on 127.0.0.1
    nodes = {n: spawn(tmp_path / n, tmp_path / f"{n}-logs", extra=extra) for n in names}
    indexer: subprocess.Popen[bytes] | None = None
    try:
        wait_until_up(list(nodes.values()), START_TIMEOUT)
        port = free_port()
        peers = [arg for node in nodes.values() for arg in ("--peer", node.url)]
        logs = tmp_path / "indexer-logs"
        logs.mkdir()
        with open(logs / "stdout", "ab") as out, open(logs / "stderr", "ab") as err:
            indexer = subprocess.Popen(
                [str(GUILDNODE), "--data", str(tmp_path / "indexer"), "indexer", "run",
                 "--database", database, "--host", "127.0.0.1", "--port", str(port),
                 "--allow-private-peers", *peers],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=clean_env(),
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert indexer is not None and indexer.poll() is None, (logs / "stderr").read_text()
            try:
                with httpx.Client(trust_env=False, timeout=5.0) as client:
                    return client.get(f"{url}/search/guilds?limit=1").status_code == 200
            except httpx.TransportError:
                return False

        until(answers, "the indexer did not answer", START_TIMEOUT)
        yield {**nodes, "indexer": url}
    finally:
        for node in nodes.values():
            node.stop()
        if indexer is not None and indexer.poll() is None:
            indexer.terminate()
            indexer.wait(timeout=10)


def test_a_freelancer_finds_a_brief_of_another_guild_and_proposes(network) -> None:
    fay, gus, hal, north = (network[n] for n in ("fay", "gus", "hal", "north"))
    ok(fay, "profile", "set", "--name", "Fay Ferris", "--skill", "rust", "--endpoint", fay.url)
    ok(gus, "profile", "set", "--name", "Gus", "--endpoint", gus.url)
    ok(hal, "profile", "set", "--name", "Hal", "--endpoint", hal.url)
    ok(north, "profile", "set", "--name", "Northwind", "--org", "--endpoint", north.url)
    guild1 = ok(fay, "guild", "found", "Rustaceans", "--purpose", "Rust work",
                "--vouches-required", "1", "--listed", "Systems programmers who ship Rust.",
                "--listed-skill", "rust", "--how-to-apply", "Apply with a link to your code.",
                )["id"]  # fmt: skip
    guild2 = ok(gus, "guild", "found", "Quiet circle", "--purpose", "Zanzibar marmalade",
                "--vouches-required", "1")["id"]  # fmt: skip
    guild3 = ok(hal, "guild", "found", "Parser guild", "--purpose", "Parsers",
                "--vouches-required", "1", "--listed", "We write parsers and compilers.",
                "--how-to-apply", "Ask Hal.")["id"]  # fmt: skip
    brief = ok(north, "brief", "post", "--guild", guild3, "--title", "Log parser",
               "--description", "A streaming tokenizer for telemetry archives.",
               "--criterion", "Fuzzed", "--budget-min", "200000", "--budget-max", "400000",
               "--currency", "EUR", "--skill", "rust", "--expires-days", "14")["id"]  # fmt: skip
    # Gus's guild is unlisted, even though its brief is public.
    ok(north, "brief", "post", "--guild", guild2, "--title", "Zanzibar marmalade labels",
       "--description", "Zanzibar marmalade.", "--criterion", "Nice", "--budget-min", "1",
       "--budget-max", "2", "--currency", "EUR", "--expires-days", "14")  # fmt: skip

    ok(fay, "indexer", "add", network["indexer"], "--allow-private")

    def found_brief() -> Any:
        data = ok(fay, "search", "briefs", "streaming", "telemetry", "--currency", "EUR")
        return data if any(r["id"] == brief for r in data["results"]) else None

    data = until(found_brief, "the indexer never returned Northwind's brief")
    [result] = [r for r in data["results"] if r["id"] == brief]
    assert result["verified"] is True and result["indexers"] == [network["indexer"]]
    assert result["author"] == north.did and data["dropped"] == []
    assert data["indexers"][0]["as_of"] and data["indexers"][0]["error"] is None

    guilds = until(lambda: ok(fay, "search", "guilds", "parsers")["results"], "no guild 3")
    assert guild3 in {g["id"] for g in guilds}
    for words in ("Zanzibar marmalade", "Quiet circle", ""):
        listed = {g["id"] for g in ok(fay, "search", "guilds", *words.split())["results"]}
        assert guild2 not in listed, words
        assert listed <= {guild1, guild3}

    # An indexer need not serve feeds (SPEC §13): Northwind's node is in its profile.
    people = until(lambda: ok(fay, "search", "people", "Northwind")["results"], "no Northwind")
    [endpoint] = next(p for p in people if p["author"] == north.did)["record"]["body"]["endpoints"]
    fetched = ok(fay, "search", "follow", brief, "--author", north.did, "--from", endpoint)
    assert fetched["kind"] == "brief" and fetched["peer"]["did"] == north.did
    proposal = ok(fay, "propose", brief, "--pitch", "Fuzzed, in three weeks", "--price",
                  "300000", "--currency", "EUR", "--days", "21")["id"]  # fmt: skip
    ok(fay, "sync")

    def received() -> Any:
        ok(north, "sync")
        return ok(north, "proposals", "--brief", brief)["proposals"]

    [got] = until(received, "Northwind never received Fay's proposal", 30.0)
    assert got["id"] == proposal and got["pitch"] == "Fuzzed, in three weeks"


def test_a_brief_fetched_from_its_organisation_s_node_takes_a_proposal(tmp_path: Path) -> None:
    """The half of the story after search, which needs no indexer: Fay fetches a brief of a
    guild she is not in from Northwind's node (`search follow --from`), and proposes."""
    extra = ("--sync-interval", "0", "--allow-private-peers")
    fay, north = (spawn(tmp_path / n, tmp_path / f"{n}-logs", extra=extra) for n in ("fay", "n"))
    try:
        wait_until_up([fay, north], START_TIMEOUT)
        ok(north, "profile", "set", "--name", "Northwind", "--org", "--endpoint", north.url)
        brief = ok(north, "brief", "post", "--guild", "ab" * 32, "--title", "Log parser",
                   "--description", "Streaming.", "--criterion", "Fuzzed", "--budget-min",
                   "1", "--budget-max", "9", "--currency", "EUR")["id"]  # fmt: skip
        assert ok(fay, "brief", "list")["briefs"] == []
        fetched = ok(fay, "search", "follow", brief, "--author", north.did, "--from", north.url)
        assert (fetched["kind"], fetched["from"]) == ("brief", north.url)
        assert fetched["peer"] == {"did": north.did, "url": north.url}
        assert [b["id"] for b in ok(fay, "brief", "list")["briefs"]] == [brief]
        proposal = ok(fay, "propose", brief, "--pitch", "Fuzzed", "--price", "5",
                      "--currency", "EUR", "--days", "3")["id"]  # fmt: skip
        ok(fay, "sync")
        [got] = until(lambda: ok(north, "proposals", "--brief", brief)["proposals"],
                      "Northwind never received Fay's proposal", 30.0)  # fmt: skip
        assert got["id"] == proposal and got["pitch"] == "Fuzzed"
    finally:
        fay.stop()
        north.stop()
