"""The notification stream of a real `guildnode run` (SPEC §9.11, **Notifications**): only the
owner's session opens it, it pushes when a record is stored, its slots are bounded, and an
open stream does not hold up the node's shutdown."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import signed_headers
from test_run import RunningNode, cli_ok, spawn, wait_until_up

from guildnode.protocol import Identity, sign_record
from guildnode.ui.live import MAX_STREAMS

pytestmark = pytest.mark.e2e

STREAM = "/notifications/stream"


@contextmanager
def signed_in(node: RunningNode) -> Iterator[httpx.Client]:
    """A client holding the owner's UI session cookie, as a browser would."""
    with httpx.Client(base_url=node.url, timeout=10, trust_env=False) as client:
        link = client.post("/api/ui/login-link", headers={"authorization": f"Bearer {node.token}"})
        assert link.status_code == 200, link.text
        assert client.get(link.json()["url"]).status_code == 303
        yield client


def events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event name, data) of each event of an SSE answer; comments come as ("", text)."""
    name, data = "", []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "", line[1:].strip()
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif line == "" and (name or data):
            yield name, "\n".join(data)
            name, data = "", []


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    running = spawn(tmp_path / "node", tmp_path / "logs")
    try:
        wait_until_up([running])
        yield running
    finally:
        running.stop()


def test_the_stream_refuses_a_client_without_the_owners_session(node: RunningNode) -> None:
    with httpx.Client(base_url=node.url, timeout=10, trust_env=False) as client:
        for headers in ({}, {"authorization": f"Bearer {node.token}"}):
            refused = client.get(STREAM, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/json"
            assert refused.json()["error"]["code"] == "unauthorized"
        client.cookies.set(f"guildnode_session_{node.port}", "made-up")
        forged = client.get(STREAM)
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
        assert client.get("/.well-known/guildnode").status_code == 200  # still serving


def test_the_stream_pushes_when_a_record_is_stored_and_ends_on_shutdown(
    node: RunningNode, tmp_path: Path
) -> None:
    owner = {"authorization": f"Bearer {node.token}"}
    with signed_in(node) as client, client.stream("GET", STREAM) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = events(response)
        name, data = next(received)
        assert (name, json.loads(data)) == ("notices", {"count": 0, "notices": []})

        # The owner founds a guild and someone applies: the node, woken by the stored
        # record, pushes the application without being asked.
        guild = httpx.post(
            node.url + "/api/guilds",
            json={"name": "Weavers", "purpose": "Looms", "vouches_required": 1,
                  "cooling_days": 0},
            headers=owner, timeout=10,
        ).json()["id"]  # fmt: skip
        applicant = Identity(bytes([7]) * 32)
        apply = sign_record(applicant, kind="apply", body={"guild": guild}, seq=1, prev=None,
                            created_at=int(time.time()))  # fmt: skip
        body = json.dumps({"records": [apply.to_wire()]}).encode()
        pushed_at = time.monotonic()
        inbox = node.url + "/inbox"
        answer = httpx.post(inbox, content=body, headers=signed_headers(inbox, body))
        assert answer.json()["results"][0]["status"] == "accepted", answer.text
        name, data = next(e for e in received if e[0] == "notices")
        notice = json.loads(data)
        assert time.monotonic() - pushed_at < 5  # pushed, not found at the next heartbeat
        assert notice["count"] == 1
        assert notice["notices"][0]["kind"] == "application"
        assert notice["notices"][0]["link"] == f"/guilds/{guild}#applicant-{applicant.did}"

        # The CLI asks the running node for the same list.
        listed = json.loads(cli_ok(node.data, "inbox", "--json"))
        assert listed == notice
        text = cli_ok(node.data, "inbox")
        assert text.startswith("1 thing waits on you:")
        assert f"/guilds/{guild}#applicant-{applicant.did}" in text

        # Shut down with the stream open: the node ends it and exits promptly.
        stopping = time.monotonic()
        node.process.send_signal(signal.SIGTERM)
        rest = list(received)  # the server closes the stream
        assert all(name != "notices" for name, _ in rest)
        assert node.process.wait(timeout=10) == -signal.SIGTERM  # uvicorn re-raises it
        assert time.monotonic() - stopping < 5

    # With no node running, the CLI derives the same list from the data directory.
    assert json.loads(cli_ok(node.data, "inbox", "--json")) == notice


def test_the_streams_are_bounded_and_a_closed_one_frees_its_slot(node: RunningNode) -> None:
    with signed_in(node) as client:
        with ExitStack() as open_streams:
            readers = []  # kept: a reader closed early closes its connection
            for _ in range(MAX_STREAMS):
                response = open_streams.enter_context(client.stream("GET", STREAM))
                assert response.status_code == 200
                readers.append(events(response))
                assert next(readers[-1])[0] == "notices"  # the stream holds its slot now
            refused = client.get(STREAM)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "too_many_streams"
            assert refused.headers["retry-after"] == "5"
        deadline = time.monotonic() + 10
        while True:  # the server sees the disconnects and frees the slots
            with client.stream("GET", STREAM) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "closed streams never freed their slots"
            time.sleep(0.2)
