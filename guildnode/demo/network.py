"""The demo's network: an organisation and the freelancers, each a `guildnode run` process
on 127.0.0.1 with its own data directory and a free port, started, peered and stopped
together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from ..datadir import DataDir
from .member import DemoError, Member

ORGANISATION = ("Northwind Studio", ["design", "branding"])
FREELANCERS = [
    ("Ada Okafor", ["python", "data"]),
    ("Bram de Vries", ["python", "design"]),
    ("Chiara Rossi", ["design", "illustration"]),
    ("Dev Patel", ["python", "devops"]),
    ("Esi Mensah", ["writing", "design"]),
    ("Farid Haddad", ["python", "testing"]),
    ("Greta Lind", ["illustration", "writing"]),
    ("Hiro Tanaka", ["devops", "python"]),
    ("Ines Duarte", ["data", "writing"]),
    ("Jonas Berg", ["design", "python"]),
]
STARTUP_SECONDS = 120.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Network:
    """The demo's node processes: started, peered, and stopped together."""

    def __init__(self, base: Path, freelancers: int) -> None:
        self.base = base
        people = [(ORGANISATION[0], ORGANISATION[1], True)] + [
            (name, skills, False) for name, skills in _freelancers(freelancers)
        ]
        self.members = [
            Member(name, skills, organisation, base / name.split()[0].lower())
            for name, skills, organisation in people
        ]

    @property
    def organisation(self) -> Member:
        return self.members[0]

    @property
    def freelancers(self) -> list[Member]:
        return self.members[1:]

    def start(self) -> None:
        for member in self.members:
            member.port = _free_port()
            member.data_dir.parent.mkdir(parents=True, exist_ok=True)
            log = open(member.data_dir.with_suffix(".log"), "ab")  # noqa: SIM115 - the child owns it
            member.process = subprocess.Popen(
                [
                    sys.executable, "-m", "guildnode", "--data", str(member.data_dir), "run",
                    "--host", "127.0.0.1", "--port", str(member.port),
                    "--sync-interval", "10", "--allow-private-peers",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            log.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        for member in self.members:
            while True:
                assert member.process is not None
                if member.process.poll() is not None:
                    raise DemoError(
                        f"{member.name}'s node exited at start; see {member.data_dir}.log"
                    )
                try:
                    info = httpx.get(f"{member.url}/.well-known/guildnode", timeout=1.0).json()
                    member.did = info["did"]
                    break
                except (httpx.HTTPError, ValueError):
                    if time.monotonic() > deadline:
                        raise DemoError(f"{member.name}'s node did not start in time") from None
                    time.sleep(0.1)
            token = DataDir(member.data_dir).token()
            member.client = httpx.AsyncClient(
                base_url=member.url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=60.0,
                trust_env=False,
            )

    async def close_clients(self) -> None:
        for member in self.members:
            if member.client is not None:
                await member.client.aclose()

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                member.process.send_signal(signal.SIGTERM)
        for member in self.members:
            if member.process is not None:
                try:
                    member.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    member.process.kill()
                    member.process.wait()

    async def sync(self, rounds: int = 2) -> None:
        """Every node runs "sync now", a few times over, so records cross the network."""
        for _ in range(rounds):
            for member in self.members:
                await member.call("POST", "/api/sync")


def _freelancers(count: int) -> Iterator[tuple[str, list[str]]]:
    for index in range(count):
        name, skills = FREELANCERS[index % len(FREELANCERS)]
        if index >= len(FREELANCERS):
            name = f"{name} {index // len(FREELANCERS) + 1}"
        yield name, skills
