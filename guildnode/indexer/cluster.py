"""A throwaway PostgreSQL cluster in a temporary directory, for tests and benchmarks.

`initdb` and `pg_ctl` from the machine's PostgreSQL (Debian's `postgresql` package puts
them in /usr/lib/postgresql/<version>/bin). PostgreSQL refuses to run as root, so as root
the cluster runs as the `postgres` user (which the package creates). It listens only on
127.0.0.1, on a port the system picked, with `trust` authentication for its one role:
nothing outside this machine can reach it, and it is deleted on `stop`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ROLE = "guildnode"


class ClusterError(RuntimeError):
    """PostgreSQL is not installed, or the cluster did not start. The message says which."""


def find_tool(name: str) -> str | None:
    """The path of a PostgreSQL server tool, on PATH or in Debian's versioned directories."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TempCluster:
    """`start()` a cluster, use `dsn(database)`, `stop()` it (which deletes it)."""

    def __init__(self, *, durable: bool = True) -> None:
        self.durable = durable  # False: fsync off, for tests (a crash loses a throwaway)
        self.port = 0
        self._dir: Path | None = None
        self._user: str | None = None

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")

    def start(self) -> TempCluster:
        initdb, pg_ctl = find_tool("initdb"), find_tool("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise ClusterError(
                "PostgreSQL's server tools (initdb, pg_ctl) are not installed: "
                "apt-get install postgresql"
            )
        self._dir = Path(tempfile.mkdtemp(prefix="guildnode-pg-"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterError("running as root needs a `postgres` user to run as") from None
            self._user = "postgres"
            os.chown(self._dir, account.pw_uid, account.pw_gid)
        data = self._dir / "data"
        self._run(initdb, "-D", str(data), "-U", ROLE, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.port = _free_port()
        options = f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = self._dir / "server.log"
        self._run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        return self

    def stop(self) -> None:
        if self._dir is None:
            return
        pg_ctl = find_tool("pg_ctl")
        if pg_ctl is not None and (self._dir / "data" / "postmaster.pid").exists():
            self._run(pg_ctl, "-D", str(self._dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None
