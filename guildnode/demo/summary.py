"""What the demo reports: each step of the story as it is checked, and at the end the trust
each freelancer's own node computes, every node with a web UI login link, and — with
`--once` — the count of steps checked and `summary.json`, what each node saw at each step."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .network import Network


@dataclass(frozen=True)
class Step:
    title: str
    ok: bool
    detail: str = ""
    nodes: dict[str, Any] = field(default_factory=dict)  # what each node saw, by short name


@dataclass
class Story:
    """What the demo did, step by step, with what each node saw to prove each step."""

    steps: list[Step] = field(default_factory=list)
    cast: dict[str, str] = field(default_factory=dict)  # part in the story → short name

    def record(
        self,
        title: str,
        ok: bool,
        detail: str = "",
        nodes: dict[str, Any] | None = None,
        lines: list[str] | None = None,
    ) -> None:
        """One step as checked; `lines` are shown under it, as a CLI command prints them."""
        self.steps.append(Step(title, ok, detail, nodes or {}))
        mark = click.style("✓", fg="green") if ok else click.style("✗", fg="red")
        click.echo(f"  {mark} {title}" + (f" — {detail}" if detail else ""))
        for line in lines or []:
            click.echo(f"      {line}")

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def as_dict(self, network: Network) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "cast": self.cast,
            "members": {
                m.short: {"name": m.name, "did": m.did, "organisation": m.organisation}
                for m in network.members
            },
            "steps": [
                {"title": s.title, "ok": s.ok, "detail": s.detail, "nodes": s.nodes}
                for s in self.steps
            ],
        }


async def trust_table(network: Network) -> list[str]:
    """Each freelancer's view: whom they trust most in python, and how the organisation pays
    by the receipts their node holds."""
    org = network.organisation
    lines = [f"  {'viewer':<10} {'most trusted in python (relative trust)':<48} {org.short} pays"]
    for member in network.freelancers:
        ranked = (await member.call("GET", "/api/people", params={"context": "python"}))["people"]
        top = ", ".join(f"{p['name'].split()[0]} {p['relative']:.3f}" for p in ranked[:3])
        paid = (await member.call("GET", f"/api/trust/{org.did}"))["payments"]
        record = ", ".join(
            f"{count} {how.replace('_', ' ')}" for how, count in paid.items() if count
        )
        lines.append(f"  {member.short:<10} {top or '—':<48} {record or '—'}")
    return lines


async def login_links(network: Network) -> list[str]:
    """A single-use web UI login link for every node, in the network's order."""
    return [(await m.call("POST", "/api/ui/login-link"))["url"] for m in network.members]


def show_network(
    network: Network,
    table: list[str],
    links: list[str],
    echo: Callable[[str], None],
    *,
    lasting: bool = True,
) -> None:
    """The trust table, then each node with its login link, and a CLI command to try —
    when the data outlives this run (`lasting`), else how to keep it."""
    echo("\nTrust, as each freelancer's own node computes it:")
    for line in table:
        echo(line)
    echo("\nThe nodes, each with a web UI login link (single use, 10 minutes):")
    for member, link in zip(network.members, links, strict=True):
        echo(f"  {member.name:<18} {member.did}")
        echo(f"  {'':<18} {link}")
    if lasting:
        data_dir = network.members[1].data_dir
        echo(f"\nTry the CLI against one: uv run guildnode --data {data_dir} people")
    else:
        echo("\n(The nodes and their data go when this run ends: use --dir DIR to keep them.)")


def write_summary(
    story: Story, network: Network, base: Path, kept: bool, echo: Callable[[str], None]
) -> None:
    """The count of steps checked, and `summary.json` in `base` (named when `base` is kept)."""
    passed = sum(1 for step in story.steps if step.ok)
    echo(f"\nSummary: {passed} of {len(story.steps)} steps checked on every node.")
    summary = base / "summary.json"
    summary.write_text(json.dumps(story.as_dict(network), indent=2) + "\n")
    if kept:
        echo(f"What each node saw, step by step: {summary}")
