"""`guildnode demo --once`: the whole story on real node processes, checked from its summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_once_plays_every_step_on_every_node(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guildnode", "demo", "--once", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=400,
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in (
        "nodes started and peered",
        "freelancers vouched for one another",
        "Ada and Bram founded a guild",
        "others applied and were admitted",
        "a member vouched for Northwind Studio",
        "Northwind Studio posted a brief to the guild",
    ):
        assert f"✓ {step}" in out, out
    assert "✗" not in out
    assert "the same on all 5 freelancers' nodes" in out
    assert "seen by 5 of 5 members" in out
    assert "Summary: 6 of 6 steps checked on every node." in out
    assert "Trust, as each freelancer's own node computes it:" in out
    for name in ("Northwind Studio", "Ada Okafor", "Esi Mensah"):
        assert name in out
    assert out.count("http://127.0.0.1:") >= 6  # every node's UI login link
    assert "web UI login link" in out
    # Every node was stopped cleanly: no process holds a data directory afterwards.
    for lock_holder in (tmp_path / "demo").glob("*/node.json"):
        raise AssertionError(f"{lock_holder} left behind: a node did not shut down")
