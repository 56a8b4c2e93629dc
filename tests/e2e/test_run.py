"""Real processes: `guildnode run` on 127.0.0.1, and the CLI as a separate process beside it.

One module-scoped pair of nodes is started at once (starting a process costs seconds): `shared`
serves most tests, `victim` is killed with SIGKILL by the crash test. Ports come from binding
port 0; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from guildnode.protocol import Identity

pytestmark = pytest.mark.e2e

GUILDNODE = Path(sys.executable).parent / "guildnode"
START_TIMEOUT = 60.0  # generous: a loaded 2-core machine starts Python slowly
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 30.0
OTHER = Identity(bytes([9]) * 32).did


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without GUILDNODE_* or proxy variables, plus `extra`."""
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GUILDNODE_") and k.lower() not in proxies
    }
    return {**env, **extra}


def http() -> httpx.Client:
    return httpx.Client(timeout=10.0, trust_env=False)


def cli(
    data: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`guildnode --data DATA ARGS…` as its own process."""
    return subprocess.run(
        [str(GUILDNODE), "--data", str(data), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        env=env or clean_env(),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def cli_ok(data: Path, *args: str) -> str:
    result = cli(data, *args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def cli_processes(calls: Sequence[tuple[Path, Sequence[str]]]) -> list[tuple[int, str, str]]:
    """Several CLI processes at once, each `(data, args)`; (exit code, stdout, stderr) of
    each, in order."""
    processes = [
        subprocess.Popen(
            [str(GUILDNODE), "--data", str(data), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=clean_env(),
        )
        for data, args in calls
    ]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=CLI_TIMEOUT)
            results.append((process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


def cli_parallel(data: Path, *commands: Sequence[str]) -> list[tuple[int, str, str]]:
    """Several CLI processes at once on one data directory."""
    return cli_processes([(data, args) for args in commands])


@dataclass
class RunningNode:
    data: Path
    port: int
    process: subprocess.Popen[bytes]
    logs: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout(self) -> str:
        return (self.logs / "stdout").read_text()

    @property
    def stderr(self) -> str:
        return (self.logs / "stderr").read_text()

    @property
    def token(self) -> str:
        return (self.data / "token").read_text().strip()

    @property
    def did(self) -> str:
        return str(json.loads((self.data / "identity.key").read_text())["did"])

    def answers(self, client: httpx.Client) -> bool:
        try:
            return client.get(self.url + "/.well-known/guildnode").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig`, wait up to STOP_TIMEOUT, then SIGKILL; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        return self.process.returncode


def spawn(
    data: Path, logs: Path, port: int | None = None, extra: Sequence[str] = ()
) -> RunningNode:
    """`guildnode run` on 127.0.0.1, on `port` (else a free one), with `extra` options.
    Output is appended to files, not pipes: nothing to drain, nothing left open, and a
    restarted node's log follows the first run's."""
    logs.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    with open(logs / "stdout", "ab") as out, open(logs / "stderr", "ab") as err:
        process = subprocess.Popen(
            [
                str(GUILDNODE),
                "--data",
                str(data),
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                f"{port}",
                *extra,
            ],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=clean_env(),
        )
    return RunningNode(data, port, process, logs)


def wait_until_up(nodes: Sequence[RunningNode], limit: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + limit
    waiting = list(nodes)
    with http() as client:
        while waiting:
            for node in list(waiting):
                if node.process.poll() is not None:
                    raise RuntimeError(
                        f"guildnode run exited with {node.process.returncode}:\n{node.stderr}"
                    )
                if node.answers(client):
                    waiting.remove(node)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"guildnode run did not answer within {limit} s")
            time.sleep(0.1)


@dataclass
class Nodes:
    shared: RunningNode
    victim: RunningNode


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    root = tmp_path_factory.mktemp("e2e")
    started = [spawn(root / name, root / f"{name}-logs") for name in ("shared", "victim")]
    try:
        wait_until_up(started)
        yield Nodes(*started)
    finally:
        for node in started:
            node.stop()


@pytest.fixture
def shared(nodes: Nodes) -> RunningNode:
    if nodes.shared.process.poll() is not None:
        pytest.fail(f"the shared node has stopped:\n{nodes.shared.stderr}")
    return nodes.shared


def feed(node: RunningNode, did: str) -> list[dict[str, Any]]:
    with http() as client:
        response = client.get(f"{node.url}/sync/feed/{did}")
    assert response.status_code == 200, response.text
    return response.json()["records"]  # type: ignore[no-any-return]


# -- the running process -----------------------------------------------------------------


def test_run_initialises_an_empty_data_dir_and_prints_its_url_and_did(shared: RunningNode) -> None:
    did = shared.did
    assert did.startswith("did:key:z6Mk")
    out = shared.stdout
    assert f"Created a new identity: {did}" in out
    assert shared.url in out
    assert did in out
    for name in ("identity.key", "token"):
        assert stat.S_IMODE((shared.data / name).stat().st_mode) == 0o600, name
    with http() as client:
        known = client.get(shared.url + "/.well-known/guildnode").json()
    assert known["did"] == did
    assert known["protocol"] == 1
    # the secret stays in the key file
    seed_text = json.loads((shared.data / "identity.key").read_text())["seed"]
    assert seed_text.rstrip("=") not in out + shared.stderr


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port`, from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_the_node_listens_on_127_0_0_1_only(shared: RunningNode) -> None:
    running = json.loads((shared.data / "node.json").read_text())
    assert running["url"] == shared.url
    assert running["pid"] == shared.process.pid
    with socket.create_connection(("127.0.0.1", shared.port), timeout=5):
        pass
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to read listening sockets from")
    assert listening_addresses(shared.port) == {"0100007F"}  # 127.0.0.1, nothing else


def test_the_node_starts_its_verifying_process_at_start_up(shared: RunningNode) -> None:
    """So that the first large inbox batch or sync page does not wait for it to start."""
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat_file.read_text().rpartition(")")[2].split()
            if int(fields[1]) == shared.process.pid:  # the parent's pid
                children.append((stat_file.parent / "cmdline").read_bytes().split(b"\0"))
    assert [b"-m", b"guildnode.verifier"] in [argv[1:3] for argv in children]


def test_the_openapi_docs_are_served(shared: RunningNode) -> None:
    with http() as client:
        docs = client.get(shared.url + "/docs")
        schema = client.get(shared.url + "/openapi.json")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/inbox" in paths
    assert "post" in paths["/inbox"]
    assert "/.well-known/guildnode" in paths


# -- the CLI beside a running node -------------------------------------------------------


def test_the_cli_goes_through_the_local_api_while_the_node_runs(shared: RunningNode) -> None:
    published = json.loads(
        cli_ok(shared.data, "vouch", OTHER, "--level", "2", "--context", "python", "--json")
    )
    record = published["record"]
    assert record["author"] == shared.did
    # served over HTTP at once: the CLI wrote through the running node, not beside it
    assert record in feed(shared, shared.did)
    with http() as client:
        fetched = client.get(f"{shared.url}/records/{published['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == record

    (log_rc, log_out, log_err), (check_rc, check_out, check_err) = cli_parallel(
        shared.data, ["log", "--json"], ["check"]
    )
    assert log_rc == 0, log_err
    assert published["id"] in [e["id"] for e in json.loads(log_out)["records"]]
    assert check_rc == 0, check_err
    assert "all verify" in check_out
    # the lock is still the running node's
    assert json.loads((shared.data / "node.json").read_text())["pid"] == shared.process.pid


def test_the_cli_uses_the_token_file_to_reach_the_running_node(shared: RunningNode) -> None:
    token_path = shared.data / "token"
    token = token_path.read_bytes()
    before = feed(shared, shared.did)
    try:
        token_path.write_text("not-the-owner-token")
        result = cli(shared.data, "vouch", OTHER, "--level", "1")
    finally:
        token_path.write_bytes(token)
    assert result.returncode == 1
    assert "unauthorized" in result.stderr
    assert "Traceback" not in result.stderr
    assert feed(shared, shared.did) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic b3duZXI6cGFzcw=="},
        {"Authorization": "not-the-token"},
    ],
    ids=["missing", "wrong", "empty", "basic", "no-scheme"],
)
def test_the_local_api_refuses_a_missing_or_wrong_token(
    shared: RunningNode, headers: dict[str, str]
) -> None:
    before = feed(shared, shared.did)
    with http() as client:
        for method, path, body in (
            ("GET", "/api/me", None),
            ("GET", "/api/records", None),
            ("GET", "/api/check", None),
            ("POST", "/api/vouch", {"subject": OTHER, "level": 3}),
            ("POST", "/api/profile", {"name": "Mallory"}),
        ):
            response = client.request(method, shared.url + path, headers=headers, json=body)
            assert response.status_code == 401, (path, response.text)
            error = response.json()["error"]
            assert error["code"] == "unauthorized"
            assert error["detail"]
            assert response.headers["www-authenticate"].startswith("Bearer")
        owner = client.get(
            shared.url + "/api/me", headers={"Authorization": f"Bearer {shared.token}"}
        )
    assert owner.status_code == 200
    assert owner.json()["did"] == shared.did
    assert feed(shared, shared.did) == before


def test_a_second_run_on_the_same_data_dir_is_refused(shared: RunningNode) -> None:
    result = cli(shared.data, "run", "--host", "127.0.0.1", "--port", str(free_port()))
    assert result.returncode != 0
    message = result.stderr.lower()
    assert "in use" in message or "already served" in message, result.stderr
    assert str(shared.data) in result.stderr
    # the first node is untouched and still the one the CLI finds
    with http() as client:
        assert shared.answers(client)
    assert json.loads((shared.data / "node.json").read_text())["url"] == shared.url


class FakeProxy:
    """A listener on 127.0.0.1 that records whatever is sent to it and answers 502."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received += conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def test_the_cli_speaks_to_the_local_node_directly_even_with_a_proxy_set(
    shared: RunningNode,
) -> None:
    """The owner's token must never travel through a proxy named in the environment."""
    proxy = FakeProxy()
    try:
        url = f"http://127.0.0.1:{proxy.port}"
        env = clean_env(HTTP_PROXY=url, http_proxy=url, ALL_PROXY=url, all_proxy=url)
        result = cli(shared.data, "log", "--json", env=env)
    finally:
        proxy.close()
    assert shared.token.encode() not in proxy.received, "the owner token went to the proxy"
    assert proxy.received == b""
    assert result.returncode == 0, result.stderr


# -- crashes --------------------------------------------------------------------------------


def test_no_acknowledged_record_is_lost_when_the_node_is_killed(nodes: Nodes) -> None:
    victim = nodes.victim
    outputs = cli_parallel(
        victim.data,
        *[["vouch", OTHER, "--level", str(level), "--json"] for level in (1, 2, 3)],
    )
    acknowledged = []
    for rc, out, err in outputs:
        assert rc == 0, err
        acknowledged.append(json.loads(out)["id"])
    assert len(set(acknowledged)) == 3

    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=STOP_TIMEOUT)
    assert victim.process.returncode == -signal.SIGKILL

    # direct mode now: the lock died with the process, though node.json was left behind
    check = cli(victim.data, "check")
    assert check.returncode == 0, (check.stdout, check.stderr)
    assert "all verify" in check.stdout
    held = json.loads(cli_ok(victim.data, "log", "--json"))["records"]
    ids = [e["id"] for e in held]
    assert set(acknowledged) <= set(ids)
    assert [e["record"]["seq"] for e in held] == list(range(1, len(held) + 1))


# -- last: a graceful stop ------------------------------------------------------------------


def test_sigterm_stops_the_node_cleanly_and_releases_the_directory(nodes: Nodes) -> None:
    shared = nodes.shared
    # uvicorn shuts down gracefully, then re-raises the signal it caught (uvicorn ≥ 0.29)
    assert shared.stop(signal.SIGTERM) in (0, -signal.SIGTERM), shared.stderr
    assert not (shared.data / "node.json").exists()
    assert "Traceback" not in shared.stderr
