"""`guildnode identity …` (SPEC §14) on a data directory with no running node: rotate, a
recovery set with a paper key, marks, refusals, and a paper-key recovery on a fresh node."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from guildnode.cli import main


def run(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data", str(data), *args])
    return result.exit_code, result.output


def ok(data: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code, out = run(data, *args, "--json")
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def test_rotate_recovery_and_compromise_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "ada"
    assert run(data, "init", "--name", "Ada")[0] == 0
    old = json.loads((data / "identity.key").read_text())["did"]
    recovery = ok(data, "identity", "recovery", "set", "--paper")
    paper = recovery["paper_key"]
    assert recovery["record"]["body"] == {"keys": [paper["did"]], "threshold": 1}
    assert paper["seed"] not in json.dumps(ok(data, "identity", "show"))  # printed once only

    rotated = ok(data, "identity", "rotate", "--reason", "New laptop.")
    assert rotated["old"] == old
    new = rotated["new"]
    code, out = run(data, "id")
    assert new in out
    shown = ok(data, "identity", "show")
    assert [k["did"] for k in shown["keys"]] == [old, new]
    assert shown["recovery"]["keys"] == [paper["did"]]  # still in force from the old key
    code, text = run(data, "identity", "show")
    assert code == 0 and f"member: {new}" in text and "recovery: 1 of 1" in text

    marked = ok(data, "identity", "compromise", old, "--from-seq", "2")
    assert marked["record"]["author"] == new
    assert ok(data, "identity", "show", old)["keys"][0]["cut"] == 1

    code, out = run(data, "identity", "recovery", "set", paper["did"], "--threshold", "2")
    assert code == 1 and "invalid_recovery" in out

    fresh = tmp_path / "fresh"
    assert run(fresh, "init")[0] == 0
    seed_file = tmp_path / "paper.txt"
    seed_file.write_text(paper["seed"] + "\n")
    recovered = ok(fresh, "identity", "recover", old, "--from-seq", "4", "--paper-key",
                   str(seed_file))  # fmt: skip
    assert recovered["vote"]["record"]["author"] == paper["did"]
    assert recovered["succeed"]["record"]["body"]["predecessor"] == old
    again = run(fresh, "identity", "recover", old, "--from-seq", "4", "--paper-key",
                str(seed_file))  # fmt: skip
    assert again[0] == 1 and "key_already_used" in again[1]


def test_every_identity_command_has_help() -> None:
    result = CliRunner().invoke(main, ["identity", "--help"])
    assert result.exit_code == 0
    for name in ("rotate", "recovery", "compromise", "succeed", "recover", "show"):
        assert name in result.output
    result = CliRunner().invoke(main, ["identity", "recovery", "set", "--help"])
    assert "--paper" in result.output and "--threshold" in result.output


def test_a_backup_after_a_rotation_restores_the_earlier_keys(tmp_path: Path) -> None:
    data = tmp_path / "ada"
    assert run(data, "init", "--name", "Ada")[0] == 0
    old = json.loads((data / "identity.key").read_text())["did"]
    new = ok(data, "identity", "rotate")["new"]
    archive = tmp_path / "ada.archive"
    env = {"GUILDNODE_PASSPHRASE": "correct horse battery staple"}
    exported = CliRunner().invoke(main, ["--data", str(data), "export", str(archive)], env=env)
    assert exported.exit_code == 0, exported.output
    earlier_seed = json.loads((data / "previous-keys.json").read_text())[0]["seed"]
    assert earlier_seed not in archive.read_text()  # sealed by the passphrase
    restored = tmp_path / "restored"
    imported = CliRunner().invoke(main, ["--data", str(restored), "import", str(archive)], env=env)
    assert imported.exit_code == 0, imported.output
    kept = json.loads((restored / "previous-keys.json").read_text())
    assert [k["did"] for k in kept] == [old]
    assert (restored / "previous-keys.json").stat().st_mode & 0o777 == 0o600
    assert [k["did"] for k in ok(restored, "identity", "show")["keys"]] == [old, new]
