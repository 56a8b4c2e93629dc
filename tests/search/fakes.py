"""The tampering indexer's process (`tampering_indexer.py`; each test module's `fake`
fixture yields from `running_fake`) and the records and answers the search tests serve
through it. (Not a conftest.py: a second conftest module would shadow tests/conftest.py
for `from conftest import …`, as tests/browser/browsing.py does.)"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guildnode.protocol import Identity, VerifiedRecord, sign_record

SCRIPT = Path(__file__).with_name("tampering_indexer.py")
INDEXER = Identity(bytes([50]) * 32)
OTHER_INDEXER = Identity(bytes([51]) * 32)
ORG = Identity(bytes([60]) * 32)
GUILD = "ab" * 32
NOW = int(time.time())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_for_http(url: str, process: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the tampering indexer exited with {process.returncode}")
            try:
                client.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class Fake:
    """The tampering indexer's process and its answers file."""

    def __init__(self, directory: Path) -> None:
        self.answers = directory / "answers.json"
        self.answers.write_text("{}")
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(self.answers), str(self.port)],
            stdin=subprocess.DEVNULL,
        )
        wait_for_http(f"{self.url('')}/nothing", self.process)

    def url(self, prefix: str) -> str:
        return f"http://127.0.0.1:{self.port}{prefix}"

    def serve(self, answers: dict[str, Any]) -> None:
        """`answers`: path → answer body (or `{"status": …, "body": …}` with `status`)."""
        shaped = {p: a if "status" in a else {"body": a} for p, a in answers.items()}
        self.answers.write_text(json.dumps(shaped))

    def asked(self) -> list[str]:
        log = self.answers.with_suffix(".log")
        return log.read_text().splitlines() if log.exists() else []


def brief(seq: int = 1, prev: str | None = None, **changes: Any) -> VerifiedRecord:
    body: dict[str, Any] = {
        "guilds": [GUILD],
        "title": "Port our parser to Rust",
        "description": "A streaming parser for our log format, with tests.",
        "acceptance_criteria": ["Tests pass"],
        "budget": {"min": 100_000, "max": 300_000, "currency": "EUR"},
        "engagement": "fixed",
        "skills": ["rust"],
    } | changes
    prev = prev or (None if seq == 1 else "0" * 64)
    return sign_record(ORG, kind="brief", body=body, seq=seq, prev=prev,
                       created_at=NOW - 3600, expires_at=NOW + 14 * 86_400)  # fmt: skip


def answer(
    *records: Any, did: str = INDEXER.did, as_of: str | None = "2026-12-04T12:00:00Z"
) -> Any:
    wired = [r.to_wire() if isinstance(r, VerifiedRecord) else r for r in records]
    return {
        "indexer": {"did": did, "url": "https://index.example"},
        "as_of": as_of,
        "results": [{"record": r} for r in wired],
    }


def row(fake: Fake, prefix: str, did: str = INDEXER.did) -> dict[str, Any]:
    return {"url": fake.url(prefix), "did": did, "allow_private": True}


def altered(record: VerifiedRecord, change: Any) -> dict[str, Any]:
    wire = copy.deepcopy(record.to_wire())
    change(wire)
    return wire


def profile(who: Identity = ORG, seq: int = 1, **changes: Any) -> VerifiedRecord:
    body: dict[str, Any] = {"name": "Northwind", "kind": "organisation"} | changes
    prev = None if seq == 1 else "0" * 64
    return sign_record(
        who, kind="profile", body=body, seq=seq, prev=prev, created_at=NOW - 7200 + seq
    )


def closed_brief() -> VerifiedRecord:
    return sign_record(ORG, kind="brief", body=brief().body, seq=1, prev=None,
                       created_at=NOW - 90_000, expires_at=NOW - 1)  # fmt: skip


def running_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    """The tampering indexer for one test module: its `fake` fixture yields from this."""
    indexer = Fake(tmp_path_factory.mktemp("tampering"))
    yield indexer
    indexer.process.terminate()
    indexer.process.wait(timeout=10)
