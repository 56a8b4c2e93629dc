"""The command line in this process, in direct mode: `guildnode --data DIR …` through CliRunner.

Each test works on its own data directory. Failures are checked for their exit code, their
stable error code on stderr, and for having changed nothing.
"""

from __future__ import annotations

import base64
import http.server
import json
import logging
import socket
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from guildnode.cli import main
from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import Identity, parse_timestamp

OTHER = Identity(bytes([7]) * 32).did
GUILDNODE_ENV = ("GUILDNODE_DATA", "GUILDNODE_HOST", "GUILDNODE_PORT", "GUILDNODE_PUBLIC_URL")


class Cli:
    """Runs the CLI on one data directory, keeping every output (for the leak checks)."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.runner = CliRunner()
        self.outputs: list[str] = []
        self.did = ""

    def __call__(self, *args: str, env: dict[str, str] | None = None, data: bool = True) -> Result:
        argv = ["--data", str(self.data), *args] if data else list(args)
        # SystemExit is still turned into an exit code; any other exception is a bug and fails.
        result = self.runner.invoke(main, argv, env=env, catch_exceptions=False)
        self.outputs += [result.stdout, result.stderr]
        return result

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def fails(self, *args: str, code: str, exit_code: int = 1) -> Result:
        result = self(*args)
        assert result.exit_code == exit_code, (args, result.stdout, result.stderr)
        assert code in result.stderr, (code, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def records(self, *filters: str) -> list[dict[str, Any]]:
        return self.json("log", *filters)["records"]  # type: ignore[no-any-return]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for name in GUILDNODE_ENV:
        monkeypatch.delenv(name, raising=False)
    return Cli(tmp_path / "node")


@pytest.fixture
def member(cli: Cli) -> Cli:
    """An initialised data directory whose owner has a profile named Ada."""
    cli.did = cli.ok("init", "--name", "Ada").stdout.strip()
    return cli


def seed_of(data: Path) -> bytes:
    seed = base64.urlsafe_b64decode(json.loads((data / "identity.key").read_text())["seed"])
    assert len(seed) == 32
    return seed


def ingest_foreign(data: Path, foreign: Any, count: int) -> list[str]:
    """Store `count` vouches by another author, through the node's own ingest."""
    records = [foreign.next() for _ in range(count)]
    datadir = DataDir(data)
    datadir.acquire()
    node = Node(datadir)
    try:
        results = node.ingest([r.to_wire() for r in records])
    finally:
        node.close()
        datadir.release()
    assert [r.status for r in results] == ["accepted"] * count
    return [r.id for r in records]


# -- init and identity ---------------------------------------------------------------


def test_init_prints_a_did_and_creates_private_key_and_token_files(cli: Cli) -> None:
    result = cli.ok("init")
    did = result.stdout.strip()
    assert did.startswith("did:key:z6Mk")
    assert json.loads((cli.data / "identity.key").read_text())["did"] == did
    for name in ("identity.key", "token"):
        mode = stat.S_IMODE((cli.data / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert (cli.data / "token").read_text().strip()


def test_a_second_init_refuses_to_overwrite_the_key(cli: Cli) -> None:
    did = cli.ok("init").stdout.strip()
    key_before = (cli.data / "identity.key").read_bytes()
    token_before = (cli.data / "token").read_bytes()
    result = cli("init", "--name", "Mallory")
    assert result.exit_code == 1
    assert "refusing to overwrite" in result.stderr
    assert str(cli.data) in result.stderr
    assert did not in result.stdout
    assert (cli.data / "identity.key").read_bytes() == key_before
    assert (cli.data / "token").read_bytes() == token_before
    assert cli.ok("id").stdout.strip() == did
    assert cli.records() == []


def test_init_with_name_and_org_publishes_an_organisation_profile(cli: Cli) -> None:
    did = cli.ok("init", "--name", "Acme Ltd", "--org").stdout.strip()
    [entry] = cli.records()
    record = entry["record"]
    assert record["kind"] == "profile"
    assert record["author"] == did
    assert record["seq"] == 1
    assert record["body"]["name"] == "Acme Ltd"
    assert record["body"]["kind"] == "organisation"


def test_init_with_name_alone_publishes_a_person_profile(cli: Cli) -> None:
    cli.ok("init", "--name", "Ada")
    [entry] = cli.records("--kind", "profile")
    assert entry["record"]["body"] == {"name": "Ada", "kind": "person"}


def test_id_prints_the_same_did(member: Cli) -> None:
    assert member.ok("id").stdout.strip() == member.did


def test_guildnode_data_works_in_place_of_data(cli: Cli) -> None:
    env = {"GUILDNODE_DATA": str(cli.data)}
    init = cli("init", "--name", "Env", env=env, data=False)
    assert init.exit_code == 0, init.stderr
    did = init.stdout.strip()
    assert (cli.data / "identity.key").exists()
    assert cli("id", env=env, data=False).stdout.strip() == did
    vouch = cli("vouch", OTHER, "--level", "1", "--json", env=env, data=False)
    assert vouch.exit_code == 0, vouch.stderr
    # the same directory, named with --data, holds what the variable pointed at
    assert [e["record"]["kind"] for e in cli.records()] == ["profile", "vouch"]


def test_commands_on_a_directory_without_identity_fail_clearly(cli: Cli) -> None:
    for args in (["id"], ["log"], ["check"], ["vouch", OTHER, "--level", "1"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert "guildnode init" in result.stderr, (args, result.stderr)
    assert not (cli.data / "identity.key").exists()


# -- profile ---------------------------------------------------------------------------


def test_profile_set_with_skills_and_bio_keeps_the_other_fields(member: Cli) -> None:
    result = member.json(
        "profile", "set", "--skill", "python", "--skill", "sql", "--bio", "Data plumber."
    )
    assert result["record"]["kind"] == "profile"
    profiles = member.records("--kind", "profile")
    assert [p["record"]["seq"] for p in profiles] == [1, 2]
    assert profiles[-1]["id"] == result["id"]
    assert profiles[-1]["record"]["body"] == {
        "name": "Ada",
        "kind": "person",
        "skills": ["python", "sql"],
        "bio": "Data plumber.",
    }
    text = member.ok("profile", "set", "--org").stdout
    assert "Published profile" in text
    body = member.records("--kind", "profile")[-1]["record"]["body"]
    assert body["kind"] == "organisation" and body["skills"] == ["python", "sql"]


def test_profile_set_without_any_name_is_refused(cli: Cli) -> None:
    cli.ok("init")
    cli.fails("profile", "set", "--bio", "Who am I?", code="missing_name")
    assert cli.records() == []


# -- vouch --------------------------------------------------------------------------------


def test_vouch_with_context_level_statement_and_expiry(member: Cli) -> None:
    result = member.json(
        "vouch", OTHER, "--context", "python", "--level", "2",
        "--statement", "Shipped the parser with me.", "--expires-days", "30",
    )  # fmt: skip
    record = result["record"]
    assert record["kind"] == "vouch"
    assert record["author"] == member.did
    assert record["body"] == {
        "subject": OTHER,
        "context": "python",
        "level": 2,
        "statement": "Shipped the parser with me.",
    }
    lifetime = parse_timestamp(record["expires"]) - parse_timestamp(record["created"])
    assert abs(lifetime - 30 * 86_400) <= 5
    [held] = member.records("--kind", "vouch")
    assert held == {"id": result["id"], "record": record}


def test_vouch_text_output_names_the_new_record(member: Cli) -> None:
    out = member.ok("vouch", OTHER, "--level", "1").stdout
    [held] = member.records("--kind", "vouch")
    assert held["id"] in out
    assert "expires" not in held["record"]
    assert "context" not in held["record"]["body"]  # a general vouch


@pytest.mark.parametrize(
    "did",
    [
        "did:key:zBAD",
        "not-a-did",
        "did:web:example.com",
        OTHER[:-1],
        OTHER + "1",
        "did:key:" + OTHER[9:],  # no multibase prefix
    ],
)
def test_vouch_for_a_malformed_did_fails_and_publishes_nothing(member: Cli, did: str) -> None:
    before = member.records()
    result = member.fails("vouch", did, "--level", "2", code="invalid_did")
    assert result.stdout == ""
    assert member.records() == before


def test_a_self_vouch_is_refused(member: Cli) -> None:
    before = member.records()
    member.fails("vouch", member.did, "--level", "3", code="self_vouch")
    assert member.records() == before


@pytest.mark.parametrize("level", ["0", "4", "two"])
def test_a_level_outside_1_to_3_is_refused_by_click(member: Cli, level: str) -> None:
    before = member.records()
    result = member.fails("vouch", OTHER, "--level", level, code="--level", exit_code=2)
    assert "Invalid value" in result.stderr
    assert member.records() == before


def test_the_level_is_required(member: Cli) -> None:
    member.fails("vouch", OTHER, code="--level", exit_code=2)


@pytest.mark.parametrize("days", ["400", "366", "0", "-1"])
def test_expires_days_outside_1_to_365_is_refused(member: Cli, days: str) -> None:
    before = member.records()
    result = member.fails(
        "vouch", OTHER, "--level", "2", "--expires-days", days, code="invalid_argument"
    )
    assert "365" in result.stderr
    assert member.records() == before


def test_expires_days_365_is_allowed(member: Cli) -> None:
    record = member.json("vouch", OTHER, "--level", "2", "--expires-days", "365")["record"]
    lifetime = parse_timestamp(record["expires"]) - parse_timestamp(record["created"])
    assert abs(lifetime - 365 * 86_400) <= 5


# -- revoke -------------------------------------------------------------------------------


def test_revoking_an_own_vouch_publishes_a_revoke_naming_it(member: Cli) -> None:
    vouch_id = member.json("vouch", OTHER, "--level", "2")["id"]
    result = member.json("revoke", vouch_id, "--reason", "Vouched by mistake.")
    assert result["record"]["body"] == {"target": vouch_id, "reason": "Vouched by mistake."}
    [revoke] = member.records("--kind", "revoke")
    assert revoke["id"] == result["id"]
    text = member.ok("log", "--kind", "revoke").stdout
    assert "revoke" in text
    assert vouch_id in text
    assert member.ok("revoke", vouch_id).stdout.startswith(f"Revoked {vouch_id}")


def test_revoking_an_unknown_id_is_not_found(member: Cli) -> None:
    before = member.records()
    member.fails("revoke", "0" * 64, code="not_found")
    member.fails("revoke", "no-such-record", code="not_found")
    assert member.records() == before


def test_revoking_someone_elses_record_is_refused(member: Cli, author: Any) -> None:
    [foreign_id] = ingest_foreign(member.data, author(3), 1)
    before = member.records()
    member.fails("revoke", foreign_id, code="not_own_record")
    assert member.records() == before


# -- log ------------------------------------------------------------------------------------


def test_log_text_lists_each_record_with_its_seq_and_kind(member: Cli) -> None:
    vouch_id = member.json("vouch", OTHER, "--level", "2", "--context", "python")["id"]
    lines = member.ok("log").stdout.splitlines()
    assert lines[0] == member.did
    first, second = lines[1].split(), lines[2].split()
    assert first[0] == "1" and first[2] == "profile"
    assert second[0] == "2" and second[2] == "vouch"
    assert vouch_id.startswith(second[3])
    assert OTHER in lines[2] and "python" in lines[2]


def test_log_of_an_empty_node_says_so(cli: Cli) -> None:
    cli.ok("init")
    assert cli.ok("log").stdout.strip() == "No records."
    assert cli.json("log") == {"records": []}


def test_log_json_has_records_with_id_and_record(member: Cli) -> None:
    member.ok("vouch", OTHER, "--level", "1")
    data = member.json("log")
    assert set(data) == {"records"}
    assert len(data["records"]) == 2
    for entry in data["records"]:
        assert set(entry) == {"id", "record"}
        assert len(entry["id"]) == 64
        assert entry["record"]["author"] == member.did
        assert entry["record"]["sig"]
    assert [e["record"]["seq"] for e in data["records"]] == [1, 2]


def test_log_filters_by_author_and_kind(member: Cli, author: Any) -> None:
    foreign = author(4)
    foreign_ids = ingest_foreign(member.data, foreign, 2)
    member.ok("vouch", OTHER, "--level", "1")
    assert len(member.records()) == 4
    assert [e["id"] for e in member.records("--author", foreign.did)] == foreign_ids
    own = member.records("--author", member.did)
    assert [e["record"]["kind"] for e in own] == ["profile", "vouch"]
    vouches = member.records("--kind", "vouch")
    assert {e["record"]["author"] for e in vouches} == {member.did, foreign.did}
    both = member.records("--author", foreign.did, "--kind", "vouch")
    assert [e["id"] for e in both] == foreign_ids
    assert member.records("--author", foreign.did, "--kind", "profile") == []
    assert member.records("--kind", "guild") == []
    text = member.ok("log", "--author", foreign.did).stdout
    assert foreign.did in text and member.did not in text


# -- check -------------------------------------------------------------------------------


def test_check_on_a_healthy_directory_exits_0(member: Cli) -> None:
    vouch_id = member.json("vouch", OTHER, "--level", "2")["id"]
    member.ok("revoke", vouch_id)
    text = member.ok("check").stdout
    assert "all verify" in text
    assert text.startswith("3 records from 1 authors")
    report = member.json("check")
    assert report == {"ok": True, "records": 3, "authors": 1, "forks": 0, "problems": []}


def corrupt(data: Path, record_id: str, old: bytes, new: bytes) -> None:
    with sqlite3.connect(data / "node.db") as conn:
        [(canonical,)] = conn.execute("SELECT canonical FROM records WHERE id = ?", [record_id])
        assert bytes(canonical).count(old) == 1
        changed = bytes(canonical).replace(old, new)
        assert len(changed) == len(canonical)
        conn.execute("UPDATE records SET canonical = ? WHERE id = ?", [changed, record_id])
    conn.close()


def test_check_finds_a_record_whose_stored_bytes_changed(member: Cli) -> None:
    vouch_id = member.json("vouch", OTHER, "--level", "2", "--statement", "Good work")["id"]
    member.ok("vouch", OTHER, "--level", "3")
    corrupt(member.data, vouch_id, b"Good work", b"Good wark")
    result = member("check")
    assert result.exit_code == 1, result.stdout
    assert vouch_id in result.stdout
    report = json.loads(member("check", "--json").stdout)
    assert report["ok"] is False
    # the changed record first; its successor may be reported too, as its chain is broken
    assert vouch_id in report["problems"][0]


def test_check_finds_a_gap_in_a_chain(member: Cli) -> None:
    ids = [member.json("vouch", OTHER, "--level", "1")["id"] for _ in range(2)]
    with sqlite3.connect(member.data / "node.db") as conn:
        conn.execute("DELETE FROM records WHERE id = ?", [ids[0]])
    conn.close()
    result = member("check")
    assert result.exit_code == 1
    assert ids[1] in result.stdout  # the record whose predecessor went missing


# -- help and --json ------------------------------------------------------------------------


def walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(main))


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    expected = {"init", "run", "id", "profile", "profile set", "vouch", "revoke", "log"}
    assert expected | {"check"} <= names


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "guildnode" for p, _ in COMMANDS]
)
def test_every_command_has_help(path: tuple[str, ...], command: click.Command) -> None:
    text = (command.help or "").strip()
    assert text, f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no help"
    result = CliRunner().invoke(main, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage:")
    # click wraps help text to the terminal width: compare the words, not the line breaks.
    assert " ".join(text.splitlines()[0].split()) in " ".join(result.stdout.split())


LISTING = ["log", "check"]


@pytest.mark.parametrize("name", LISTING)
def test_every_listing_command_accepts_json(member: Cli, name: str) -> None:
    assert "--json" in {opt for p in main.commands[name].params for opt in p.opts}
    data = member.json(name)
    assert isinstance(data, dict)


# -- when another process holds the directory ---------------------------------------------


@pytest.fixture
def held(member: Cli) -> Iterator[DataDir]:
    """The member's directory locked as a running node would hold it (announcing nothing yet)."""
    other = DataDir(member.data)
    other.acquire()
    try:
        yield other
    finally:
        other.release()


class AnswersNonJson(http.server.BaseHTTPRequestHandler):
    """Stands in for whatever answers at the announced address: a proxy's error page, say."""

    def do_GET(self) -> None:
        body = b"<html>502 Bad Gateway</html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def non_json_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AnswersNonJson)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_directory_locked_without_an_address_is_reported(member: Cli, held: DataDir) -> None:
    result = member.fails("log", code="announced no address")
    assert str(member.data) in result.stderr


def test_init_on_a_held_directory_is_refused(member: Cli, held: DataDir) -> None:
    key = (member.data / "identity.key").read_bytes()
    member.fails("init", code="in use")
    assert (member.data / "identity.key").read_bytes() == key


def test_a_running_node_that_does_not_answer_is_reported(member: Cli, held: DataDir) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    held.announce(f"http://127.0.0.1:{port}")  # nothing listens there
    result = member.fails("vouch", OTHER, "--level", "1", code="node_unreachable")
    assert f"127.0.0.1:{port}" in result.stderr


def test_a_non_json_answer_from_the_running_node_is_a_clear_error(
    member: Cli, held: DataDir, non_json_server: str
) -> None:
    held.announce(non_json_server)
    result = member.runner.invoke(main, ["--data", str(member.data), "log"])
    # a clear one-line error, not an uncaught JSONDecodeError and its traceback
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: "), result.stderr


# -- the secret ---------------------------------------------------------------------------


def secret_forms(seed: bytes) -> list[str]:
    forms = [seed.hex(), seed.hex().upper()]
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(seed).decode()
        forms += [text, text.rstrip("=")]
    return forms


def test_the_secret_seed_never_leaks(
    cli: Cli, author: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cli.did = cli.ok("init", "--name", "Ada").stdout.strip()
    seed = seed_of(cli.data)
    foreign = author(5)
    ingest_foreign(cli.data, foreign, 1)
    vouch_id = cli.json("vouch", OTHER, "--level", "2", "--statement", "ok")["id"]
    for args in (
        ["id"],
        ["init"],
        ["profile", "set", "--skill", "python", "--bio", "hi", "--json"],
        ["profile", "set", "--bio", "again"],
        ["vouch", OTHER, "--level", "1"],
        ["vouch", "did:key:zBAD", "--level", "1"],
        ["vouch", cli.did, "--level", "1"],
        ["vouch", OTHER, "--level", "9"],
        ["vouch", OTHER, "--level", "1", "--expires-days", "400"],
        ["revoke", vouch_id],
        ["revoke", "0" * 64],
        ["log"],
        ["log", "--json"],
        ["log", "--author", cli.did, "--kind", "vouch"],
        ["check"],
        ["check", "--json"],
        ["--help"],
        ["--version"],
    ):
        cli(*args)
    corrupt(cli.data, vouch_id, b'"ok"', b'"OK"')
    cli("check")
    cli("check", "--json")

    datadir = DataDir(cli.data)
    datadir.acquire()
    node = Node(datadir)
    try:
        shown = [repr(node), str(node), repr(datadir), str(datadir), repr(vars(node))]
        shown += [repr(node.identity), str(node.identity), repr(datadir.load_identity())]
    finally:
        node.close()
        datadir.release()
    shown += [repr(Identity(seed)), str(Identity(seed)), format(Identity(seed))]
    logged = [caplog.text] + [r.getMessage() for r in caplog.records]

    haystacks = cli.outputs + shown + logged
    assert any(cli.did in text for text in cli.outputs)  # the outputs were captured at all
    for form in secret_forms(seed):
        for text in haystacks:
            assert form not in text, "the secret seed leaked"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["vouch", OTHER, "--level", "2", "--statement", "x" * 20_000], "record_too_large"),
        (["vouch", OTHER, "--level", "2", "--context", "Py thon!"], "invalid_body"),
        (["vouch", OTHER, "--level", "2", "--evidence", "not-a-record-id"], "invalid_body"),
        (["profile", "set", "--endpoint", "not-a-url"], "invalid_body"),
        (["profile", "set", "--skill", "Not A Skill"], "invalid_body"),
        (["profile", "set", "--name", ""], "invalid_body"),
    ],
    ids=["too-large", "bad-context", "bad-evidence", "bad-endpoint", "bad-skill", "empty-name"],
)
def test_an_invalid_record_is_refused_with_its_code_and_nothing_is_published(
    member: Cli, args: list[str], code: str
) -> None:
    before = member.records()
    result = member.fails(*args, code=code)
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    assert member.records() == before
    member.ok("check")


def test_python_dash_m_guildnode_runs_the_same_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "guildnode", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: guildnode ")
    for name in main.commands:
        assert name in result.stdout


def test_text_others_wrote_reaches_the_terminal_without_control_characters(
    member: Cli, author: Any
) -> None:
    stranger = author(61)
    profile = {"name": "Eve\x1b[2J\x1b]0;pwned\x07\rX", "kind": "person"}
    records = [
        stranger.next("profile", profile),
        stranger.next("vouch", {"subject": member.did, "level": 2}),
    ]
    datadir = DataDir(member.data)
    datadir.acquire()
    node = Node(datadir)
    try:
        node.vouch(stranger.did, level=1)
        assert {r.status for r in node.ingest([r.to_wire() for r in records])} == {"accepted"}
    finally:
        node.close()
        datadir.release()
    shown = member.ok("people").stdout
    assert "Eve[2J]0;pwnedX" in shown
    assert not any(ch in shown for ch in "\x1b\x07\r")
    # JSON keeps the exact text, escaped as JSON does.
    names = {p["did"]: p["name"] for p in member.json("people")["people"]}
    assert names[stranger.did] == profile["name"]
