"""Real processes: a member node (`guildnode run`) and `guildnode indexer run` on 127.0.0.1,
on a real PostgreSQL; the indexer restarts on the same database and keeps what it held."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import verify_record

pytestmark = pytest.mark.e2e

GUILDNODE = Path(sys.executable).parent / "guildnode"
TIMEOUT = 60.0  # a loaded 2-core machine starts Python slowly


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GUILDNODE_")}


class Process:
    def __init__(self, args: list[str], logs: Path) -> None:
        self.port = _port()
        self.logs = logs
        with (
            open(logs.with_suffix(".out"), "ab") as out,
            open(logs.with_suffix(".err"), "ab") as err,
        ):
            self.process = subprocess.Popen(
                [str(GUILDNODE), *args, "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=_env(),
            )
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def stderr(self) -> str:
        return self.logs.with_suffix(".err").read_text()


def wait_for(check: Callable[[], Any], what: str, process: Process) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise AssertionError(f"{what}: the process exited:\n{process.stderr()}")
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {TIMEOUT} s\n{process.stderr()}")


def member_data(path: Path) -> dict[str, str]:
    """A member's data directory with a profile, a listed and an unlisted guild, a brief."""
    datadir = DataDir(path)
    datadir.create()
    node = Node(datadir)
    try:
        node.set_profile(name="Ada", skills=["python"], bio="Dashboards for studios.")
        listed = node.publish(
            "guild",
            {
                "name": "Dashboard Guild",
                "purpose": "People who build dashboards.",
                "founders": [node.did],
                "admission": {"vouches_required": 1},
                "listing": {"description": "Data dashboards, end to end.", "skills": ["python"]},
            },
        )
        unlisted = node.found_guild("Quiet Guild", "Dashboards too, privately.", vouches_required=1)
        brief = node.post_brief(
            guilds=[listed.id],
            title="A data dashboard",
            description="Our project data, readable by the whole studio.",
            acceptance_criteria=["Runs on our server"],
            budget_min=300_000,
            budget_max=450_000,
            currency="EUR",
            skills=["python"],
        )
        return {"listed": listed.id, "unlisted": unlisted.id, "brief": brief.id, "did": node.did}
    finally:
        node.close()


@pytest.fixture
def member(tmp_path: Path) -> Iterator[tuple[Process, dict[str, str]]]:
    made = member_data(tmp_path / "ada")
    process = Process(["--data", str(tmp_path / "ada"), "run"], tmp_path / "ada-log")
    try:
        yield process, made
    finally:
        process.stop()


def test_indexer_run_follows_a_member_process_and_keeps_it_over_a_restart(
    tmp_path: Path, database: str, member: tuple[Process, dict[str, str]]
) -> None:
    node, made = member
    args = ["indexer", "run", "--database", database, "--peer", node.url, "--interval", "1"]
    args += ["--allow-private-peers", "--data", str(tmp_path / "indexer")]  # all on 127.0.0.1
    indexer = Process(args, tmp_path / "indexer-log")
    client = httpx.Client(timeout=10, trust_env=False)
    try:

        def guilds() -> list[dict[str, Any]] | None:
            answer = client.get(indexer.url + "/search/guilds").json()
            return answer["results"] if answer.get("results") else None

        [found] = wait_for(guilds, "the listed guild is found", indexer)
        assert verify_record(found["record"]).id == made["listed"]
        answer = client.get(indexer.url + "/search/briefs", params={"q": "dashboard"}).json()
        assert [verify_record(r["record"]).id for r in answer["results"]] == [made["brief"]]
        assert answer["as_of"] is not None
        for q in ("quiet", "privately", ""):
            guild_ids = [
                r["record"]["body"]["name"]
                for r in client.get(indexer.url + "/search/guilds", params={"q": q}).json()[
                    "results"
                ]
            ]
            assert "Quiet Guild" not in guild_ids
        well_known = client.get(indexer.url + "/.well-known/guildnode").json()
        assert well_known["role"] == "indexer"
        indexer.stop()
        # A graceful stop: uvicorn re-raises the SIGTERM it handled.
        assert indexer.process.returncode in (0, -signal.SIGTERM), indexer.stderr()
        assert "Traceback" not in indexer.stderr()
        # Restarted on the same database and identity, with no peer: it still answers.
        node.stop()
        again = Process(
            ["indexer", "run", "--database", database, "--data", str(tmp_path / "indexer")],
            tmp_path / "indexer2-log",
        )
        indexer = again
        people = wait_for(
            lambda: client.get(again.url + "/search/people", params={"q": "ada"}).json()["results"],
            "the restarted indexer answers",
            again,
        )
        assert [r["record"]["author"] for r in people] == [made["did"]]
        info = client.get(again.url + "/.well-known/guildnode").json()
        assert info["did"] == well_known["did"]
    finally:
        client.close()
        indexer.stop()


def test_indexer_run_refuses_a_database_it_cannot_open(tmp_path: Path) -> None:
    port = _port()  # nothing listens there
    secret = "s3cret-pass"
    result = subprocess.run(
        [
            str(GUILDNODE),
            "indexer",
            "run",
            "--database",
            f"postgresql://someone:{secret}@127.0.0.1:{port}/nothing",
            "--data",
            str(tmp_path / "indexer"),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        check=False,
    )
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr
    assert secret not in result.stderr + result.stdout
