"""`guildnode demo`: a small guild network of real node processes on this machine.

An organisation and a handful of freelancers each run `guildnode run` in their own data
directory on 127.0.0.1. The demo peers them, then plays the story through each node's local
API — exactly as each member would with the CLI — and drives sync with "sync now" rather
than waiting for the periodic rounds. Every step is checked on every node that should see
it; `--once` prints a summary and exits non-zero if any check failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx

from .datadir import DataDir

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


class DemoError(Exception):
    """A step of the story failed; the message says which and why."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Member:
    name: str
    skills: list[str]
    organisation: bool
    data_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    did: str = ""
    client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def short(self) -> str:
        return self.name.split()[0]

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self.client is not None
        response = await self.client.request(method, path, **kwargs)
        data = response.json()
        if response.is_error:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise DemoError(
                f"{self.short}: {method} {path} failed: {error.get('code')}: {error.get('detail')}"
            )
        return data


@dataclass
class Story:
    """What the demo did, step by step, with the checks that prove each step."""

    steps: list[tuple[str, bool, str]] = field(default_factory=list)

    def record(self, title: str, ok: bool, detail: str = "") -> None:
        self.steps.append((title, ok, detail))
        mark = click.style("✓", fg="green") if ok else click.style("✗", fg="red")
        click.echo(f"  {mark} {title}" + (f" — {detail}" if detail else ""))

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.steps)


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


async def vouch(voucher: Member, subject: Member, level: int, context: str, statement: str) -> None:
    body = {"subject": subject.did, "level": level, "context": context, "statement": statement}
    await voucher.call("POST", "/api/vouch", json=body)


async def play(network: Network, story: Story) -> None:
    """The story, step by step, each checked where it should show."""
    org = network.organisation
    people = network.freelancers
    ada, bram, chiara, dev = people[0], people[1], people[2], people[3]
    newcomers = people[2:]

    for member in network.members:
        await member.call(
            "POST",
            "/api/profile",
            json={"name": member.name, "organisation": member.organisation, "skills": member.skills,
                  "endpoints": [member.url]},
        )  # fmt: skip
    for member in network.members:
        for other in network.members:
            if other is not member:
                await member.call("POST", "/api/peers", json={"url": other.url})
    story.record(
        "nodes started and peered",
        True,
        f"{len(network.members)} nodes on 127.0.0.1, each peered with every other",
    )

    pairs = [(people[i], people[(i + 1) % len(people)]) for i in range(len(people))]
    for a, b in pairs:
        skill = next((s for s in a.skills if s in b.skills), b.skills[0])
        await vouch(a, b, 2, skill, f"Worked with {b.short} on {skill}.")
        await vouch(b, a, 2, skill, f"{a.short} delivers.")
    await vouch(org, ada, 3, "python", "Built our data pipeline.")
    await network.sync()
    received = (await chiara.call("GET", f"/api/trust/{bram.did}"))["rank"]
    story.record(
        "freelancers vouched for one another",
        received is not None,
        f"{2 * len(pairs)} vouches; Chiara's node ranks Bram #{received}",
    )

    charter = await ada.call(
        "POST",
        "/api/guilds",
        json={"name": "Riverside Makers Guild", "purpose": "Designers and developers who ship.",
              "vouches_required": 2, "cofounders": [bram.did], "skills": ["design", "python"],
              "cooling_days": 0},
    )  # fmt: skip
    guild_id = charter["id"]
    await network.sync()
    await bram.call("POST", f"/api/guilds/{guild_id}/apply", json={"note": "Co-founding."})
    story.record("Ada and Bram founded a guild", True, f"Riverside Makers Guild ({guild_id[:12]}…)")

    for newcomer in newcomers:
        await network.sync(1)
        await newcomer.call("POST", f"/api/guilds/{guild_id}/apply", json={"note": "Hello!"})
    await network.sync()
    for newcomer in newcomers:
        for founder in (ada, bram):
            await vouch(founder, newcomer, 2, f"guild:{guild_id}", "Welcome.")
    await network.sync()
    guild_members = set()
    views = {}
    for member in people:
        view = await member.call("GET", f"/api/guilds/{guild_id}")
        views[member.short] = {m["did"] for m in view["members"]}
        guild_members |= views[member.short]
    expected = {m.did for m in people}
    everywhere = all(seen == expected for seen in views.values())
    story.record(
        "others applied and were admitted",
        everywhere,
        f"{len(expected)} members, the same on all {len(people)} freelancers' nodes"
        if everywhere
        else f"membership differs: {', '.join(f'{k} sees {len(v)}' for k, v in views.items())}",
    )

    await vouch(dev, org, 2, f"guild:{guild_id}", "Northwind pays on time.")
    await network.sync()
    org_trust = await ada.call(
        "GET", f"/api/trust/{org.did}", params={"context": f"guild:{guild_id}"}
    )
    story.record(
        "a member vouched for Northwind Studio",
        org_trust["score"] > 0,
        f"Ada's node: {org_trust['paths'][0]['words'] if org_trust['paths'] else 'no path'}",
    )

    brief = await org.call(
        "POST",
        "/api/briefs",
        json={
            "guilds": [guild_id],
            "title": "A data dashboard for our studio",
            "description": "Turn our project data into a dashboard the whole studio can read.",
            "acceptance_criteria": ["Runs on our server", "Updates daily", "Documented"],
            "budget_min": 300_000,
            "budget_max": 450_000,
            "currency": "EUR",
            "skills": ["python", "data"],
            "deadline_days": 45,
            "expires_days": 14,
        },
    )
    await network.sync()
    seen = []
    for member in people:
        listed = await member.call("GET", "/api/briefs", params={"guild": guild_id})
        if any(b["id"] == brief["id"] for b in listed["briefs"]):
            seen.append(member.short)
    top = (await ada.call("GET", "/api/briefs"))["briefs"]
    story.record(
        "Northwind Studio posted a brief to the guild",
        len(seen) == len(people),
        f"seen by {len(seen)} of {len(people)} members; first on Ada's board, matching "
        f"{', '.join(top[0]['matches_my_skills']) if top else 'nothing'}",
    )


async def trust_table(network: Network) -> list[str]:
    """Each freelancer's view: whom they trust most in python."""
    lines = [f"  {'viewer':<10} {'most trusted in python (relative trust)':<60}"]
    for member in network.freelancers:
        ranked = (await member.call("GET", "/api/people", params={"context": "python"}))["people"]
        top = ", ".join(f"{p['name'].split()[0]} {p['relative']:.3f}" for p in ranked[:3])
        lines.append(f"  {member.short:<10} {top or '—'}")
    return lines


def run_demo(base: Path | None, freelancers: int, once: bool, echo: Callable[[str], None]) -> bool:
    """Start the network, play the story, then wait for Ctrl-C (or exit with `once`)."""
    if freelancers < 4:
        raise click.BadParameter("the story needs at least 4 freelancers", param_hint="--nodes")
    with contextlib.ExitStack() as stack:
        if base is None:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="guildnode-demo-")))
        network = Network(base, freelancers)
        story = Story()
        echo(f"Starting {len(network.members)} Guildnode nodes in {base} …")
        try:
            network.start()

            async def main() -> tuple[list[str], list[str]]:
                try:
                    await play(network, story)
                    table = await trust_table(network)
                    links = [
                        (await m.call("POST", "/api/ui/login-link"))["url"] for m in network.members
                    ]
                    return table, links
                finally:
                    await network.close_clients()

            table, links = asyncio.run(main())
            echo("\nTrust, as each freelancer's own node computes it:")
            for line in table:
                echo(line)
            echo("\nThe nodes, each with a web UI login link (single use, 10 minutes):")
            for member, link in zip(network.members, links, strict=True):
                echo(f"  {member.name:<18} {member.did}")
                echo(f"  {'':<18} {link}")
            echo(
                "\nTry the CLI against one: "
                f"uv run guildnode --data {network.members[1].data_dir} people"
            )
            if once:
                passed = sum(1 for _, ok, _ in story.steps if ok)
                echo(f"\nSummary: {passed} of {len(story.steps)} steps checked on every node.")
                return story.ok
            echo("\nThe network stays up. Press Ctrl-C to stop every node.")
            with contextlib.suppress(KeyboardInterrupt):
                while all(m.process and m.process.poll() is None for m in network.members):
                    time.sleep(0.5)
            return story.ok
        except DemoError as exc:
            echo(click.style(f"\nThe demo stopped: {exc}", fg="red"))
            return False
        finally:
            echo("Stopping the nodes …")
            network.stop()
