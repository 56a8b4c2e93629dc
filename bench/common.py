"""What the benchmarks share: the failure they exit 1 on, their entry wrapper, progress
lines, the PASS/BELOW verdict, profiling, and starting a real `guildnode run` process."""

from __future__ import annotations

import contextlib
import cProfile
import hashlib
import io
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

import guildnode
from guildnode.protocol import Identity, VerifiedRecord, sign_record

HOST = "127.0.0.1"
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0


class BenchFailure(Exception):
    """A correctness check failed: the figures would be meaningless."""


def run(main: Callable[[], int]) -> None:
    """Run a benchmark's `main`: its exit code, or 1 with a message on a `BenchFailure`."""
    try:
        sys.exit(main())
    except BenchFailure as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        sys.exit(1)


def step_logger(started: float) -> Callable[[str], None]:
    """A progress line on stderr, stamped with the seconds since `started`."""

    def step(message: str) -> None:
        print(f"[{time.perf_counter() - started:5.1f} s] {message}", file=sys.stderr, flush=True)

    return step


def verdict(ok: bool) -> str:
    return "PASS" if ok else "BELOW"


# -- profiling -------------------------------------------------------------------------------


class Profiler:
    """cProfile in this thread and in every thread started while it runs."""

    def __init__(self) -> None:
        self.profilers: list[cProfile.Profile] = []

    def _start_in_thread(self, *_: Any) -> None:
        profiler = cProfile.Profile()
        self.profilers.append(profiler)
        profiler.enable()

    def start(self) -> None:
        threading.setprofile(self._start_in_thread)
        self._start_in_thread()

    def stop(self) -> None:
        threading.setprofile(None)
        self.profilers[0].disable()

    def stats(self) -> pstats.Stats:
        stats: pstats.Stats | None = None
        for profiler in self.profilers:
            profiler.create_stats()
            stats = pstats.Stats(profiler) if stats is None else stats.add(profiler)
        assert stats is not None
        return stats


def print_stats(title: str, stats: pstats.Stats, limit: int = 30) -> None:
    for sort in ("tottime", "cumulative"):
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.strip_dirs().sort_stats(sort).print_stats(limit)
        text = out.getvalue()
        header = next((line.strip() for line in text.splitlines() if "function calls" in line), "")
        body = text[text.find("   ncalls") :] if "   ncalls" in text else text
        print(f"\n--- cProfile {title}, by {sort} ({header})")
        print(body.rstrip())


# -- a real `guildnode run` process ----------------------------------------------------------


def vouch_chains(
    records: int, authors: int, *, label: bytes, statement: str, base_time: int
) -> tuple[list[Identity], list[list[VerifiedRecord]]]:
    """`records` signed vouches of `authors` fixed identities (seeds from `label`), each
    author's records chained; author `a` vouches, at seq `s`, for author `(a + s) % authors`
    at level `1 + s % 3`, `created` counting up from `base_time`."""
    if records % authors:
        raise SystemExit("--records must be a multiple of --authors")
    per_author = records // authors
    identities = [Identity(hashlib.sha256(b"%s/%d" % (label, a)).digest()) for a in range(authors)]
    chains: list[list[VerifiedRecord]] = []
    for a, identity in enumerate(identities):
        chain: list[VerifiedRecord] = []
        prev: str | None = None
        for s in range(1, per_author + 1):
            subject = identities[(a + s) % authors if authors > 1 else 0].did
            record = sign_record(
                identity,
                kind="vouch",
                body={"subject": subject, "level": 1 + s % 3, "statement": statement},
                seq=s,
                prev=prev,
                created_at=base_time + a * per_author + s,
            )
            chain.append(record)
            prev = record.id
        chains.append(chain)
    return identities, chains


def guildnode_command() -> list[str]:
    """How to start `guildnode`: `-m guildnode` if it has a `__main__`, else the script."""
    if (Path(guildnode.__file__).parent / "__main__.py").exists():
        return [sys.executable, "-m", "guildnode"]
    script = Path(sys.executable).parent / "guildnode"
    if script.exists():
        return [str(script)]
    found = shutil.which("guildnode")
    if found:
        return [found]
    raise BenchFailure("cannot find the guildnode command: run through `uv run`")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(
    data: Path,
    extra: Sequence[str] = (),
    *,
    launcher: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """`guildnode --data DATA run --host 127.0.0.1 --port PORT [EXTRA…]` on a free port,
    started by `launcher` (default: `guildnode_command()`) with `env` (default: this
    process's), its output in `DATA.log`; yields its base URL once it answers and stops it
    (SIGTERM, then SIGKILL after a timeout) whatever happens."""
    port = free_port()
    args = ["--data", str(data), "run", "--host", HOST, "--port", str(port), *extra]
    command = [*(guildnode_command() if launcher is None else launcher), *args]
    log_path = data.with_name(data.name + ".log")
    url = f"http://{HOST}:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_up(process, url, log_path)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_up(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    with httpx.Client(base_url=url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchFailure(
                    f"the server exited with {process.returncode}:\n{log_path.read_text()[-2000:]}"
                )
            with contextlib.suppress(httpx.TransportError):
                if client.get("/.well-known/guildnode").status_code == 200:
                    return
            time.sleep(0.1)
    raise BenchFailure(f"the server did not answer within {SERVER_START_TIMEOUT} s")
