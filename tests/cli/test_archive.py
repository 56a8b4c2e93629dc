"""Backup and restore: export, then import into a fresh data directory."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from guildnode.cli import main
from guildnode.datadir import DataDir
from guildnode.store import Store

PASSPHRASE = "correct horse battery staple"


def run(*args: str, passphrase: str = PASSPHRASE) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"GUILDNODE_PASSPHRASE": passphrase})
    return result.exit_code, result.output


def seeded(tmp_path: Path) -> Path:
    data = tmp_path / "original"
    assert run("--data", str(data), "init", "--name", "Ada")[0] == 0
    other = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"
    assert run("--data", str(data), "vouch", other, "--level", "3", "--context", "python")[0] == 0
    assert run("--data", str(data), "block", other)[0] == 0
    return data


def test_export_then_import_gives_the_same_identity_records_and_check(tmp_path: Path) -> None:
    original = seeded(tmp_path)
    archive = tmp_path / "ada.archive"
    code, out = run("--data", str(original), "export", str(archive))
    assert code == 0, out
    assert archive.stat().st_mode & 0o777 == 0o600
    assert PASSPHRASE not in archive.read_text()
    seed = json.loads((original / "identity.key").read_text())["seed"]
    assert seed not in archive.read_text()

    restored = tmp_path / "restored"
    code, out = run("--data", str(restored), "import", str(archive))
    assert code == 0, out
    assert run("--data", str(restored), "id")[1] == run("--data", str(original), "id")[1]
    logs = [json.loads(run("--data", str(d), "log", "--json")[1]) for d in (original, restored)]
    assert logs[0] == logs[1] and len(logs[0]["records"]) == 2
    checks = [run("--data", str(d), "check", "--json") for d in (original, restored)]
    assert checks[0] == checks[1] and checks[0][0] == 0
    assert (restored / "identity.key").stat().st_mode & 0o777 == 0o600
    # The private block list travels too.
    other = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"
    assert json.loads(run("--data", str(restored), "trust", other, "--json")[1])["blocked"]


def test_a_wrong_passphrase_is_refused_clearly_and_writes_nothing(tmp_path: Path) -> None:
    archive = tmp_path / "ada.archive"
    assert run("--data", str(seeded(tmp_path)), "export", str(archive))[0] == 0
    restored = tmp_path / "restored"
    code, out = run(
        "--data", str(restored), "import", str(archive), passphrase="not the one at all"
    )
    assert code == 1
    assert "wrong_passphrase" in out and "does not open" in out
    assert not restored.exists()


def test_a_weak_passphrase_is_refused(tmp_path: Path) -> None:
    code, out = run(
        "--data", str(seeded(tmp_path)), "export", str(tmp_path / "a"), passphrase="short"
    )
    assert code == 1 and "weak_passphrase" in out
    assert not (tmp_path / "a").exists()


def test_an_altered_archive_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    archive = tmp_path / "ada.archive"
    assert run("--data", str(seeded(tmp_path)), "export", str(archive))[0] == 0
    data = json.loads(archive.read_text())
    data["records"][-1]["body"]["level"] = 1  # breaks the signature
    archive.write_text(json.dumps(data))
    restored = tmp_path / "restored"
    code, out = run("--data", str(restored), "import", str(archive))
    assert code == 1 and "damaged_archive" in out and "bad_signature" in out
    assert not (restored / "identity.key").exists()


def test_import_refuses_a_data_directory_that_holds_an_identity(tmp_path: Path) -> None:
    original = seeded(tmp_path)
    archive = tmp_path / "ada.archive"
    assert run("--data", str(original), "export", str(archive))[0] == 0
    code, out = run("--data", str(original), "import", str(archive))
    assert code == 1 and "not_empty" in out


def test_unrevealed_feedback_travels_sealed(tmp_path: Path) -> None:
    original = seeded(tmp_path)
    secret_statement = "Paid late twice; otherwise fine"
    store = Store(DataDir(original).db_path)
    store.save_draft("c" * 64, {"rating": 2, "statement": secret_statement})
    store.close()
    archive = tmp_path / "ada.archive"
    assert run("--data", str(original), "export", str(archive))[0] == 0
    assert secret_statement not in archive.read_text()  # sealed under the passphrase
    restored = tmp_path / "restored"
    assert run("--data", str(restored), "import", str(archive))[0] == 0
    store = Store(DataDir(restored).db_path)
    assert store.drafts() == {"c" * 64: {"rating": 2, "statement": secret_statement}}
    store.close()
