"""Trust and guilds on the command line, in direct mode (`guildnode --data DIR …`).

Records of other identities are signed here (`Identity` + `sign_record`) and stored through
the node's own ingest, with the directory opened and closed again before the CLI runs (the
CLI takes the directory's lock). Failures are checked for their exit code, their stable error
code on stderr, and for having published nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from guildnode.cli import main
from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import Identity, VerifiedRecord, sign_record

GUILDNODE_ENV = ("GUILDNODE_DATA", "GUILDNODE_HOST", "GUILDNODE_PORT", "GUILDNODE_PUBLIC_URL")
NOBODY = Identity(bytes([7]) * 32).did  # a valid DID this node knows nothing of


class Cli:
    """Runs the CLI on one data directory."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.runner = CliRunner()
        self.did = ""

    def __call__(self, *args: str) -> Result:
        # SystemExit is still turned into an exit code; any other exception is a bug and fails.
        return self.runner.invoke(main, ["--data", str(self.data), *args], catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def fails(self, *args: str, code: str, exit_code: int = 1) -> Result:
        before = self.own_records()
        result = self(*args)
        assert result.exit_code == exit_code, (args, result.stdout, result.stderr)
        assert code in result.stderr, (code, result.stderr)
        assert "Traceback" not in result.stderr
        assert self.own_records() == before, "a refused command published something"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def own_records(self) -> list[str]:
        data = json.loads(self.ok("log", "--author", self.did, "--json"))
        return [entry["id"] for entry in data["records"]]


class Person:
    """Another identity, writing its own chain, dated now (so trust has not faded)."""

    def __init__(self, n: int, name: str) -> None:
        self.identity = Identity(bytes([n]) * 32)
        self.did = self.identity.did
        self.name = name
        self.chain: list[VerifiedRecord] = []

    def sign(self, kind: str, body: dict[str, Any]) -> VerifiedRecord:
        head = self.chain[-1] if self.chain else None
        record = sign_record(
            self.identity,
            kind=kind,
            body=body,
            seq=head.seq + 1 if head else 1,
            prev=head.id if head else None,
            created_at=max(int(time.time()), head.created_at if head else 0),
        )
        self.chain.append(record)
        return record

    def profile(self) -> VerifiedRecord:
        return self.sign("profile", {"name": self.name, "kind": "person"})

    def vouch(self, subject: str, level: int, context: str | None = None) -> VerifiedRecord:
        body: dict[str, Any] = {"subject": subject, "level": level}
        if context:
            body["context"] = context
        return self.sign("vouch", body)


def ingest(data: Path, *records: VerifiedRecord) -> None:
    """Store others' records in the directory, as sync would; the CLI must not be running."""
    datadir = DataDir(data)
    datadir.acquire()
    node = Node(datadir)
    try:
        results = node.ingest([r.to_wire() for r in records])
    finally:
        node.close()
        datadir.release()
    assert [r.status for r in results] == ["accepted"] * len(records), results


@pytest.fixture
def ada(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """An initialised data directory whose owner is Ada."""
    for name in GUILDNODE_ENV:
        monkeypatch.delenv(name, raising=False)
    cli = Cli(tmp_path / "ada")
    cli.did = cli.ok("init", "--name", "Ada").strip()
    return cli


@pytest.fixture
def bea() -> Person:
    return Person(21, "Bea")


@pytest.fixture
def cal() -> Person:
    return Person(22, "Cal")


@pytest.fixture
def web(ada: Cli, bea: Person, cal: Person) -> Cli:
    """Ada vouches for Bea, who vouches for Cal: trust reaches Cal only through Bea."""
    ada.ok("vouch", bea.did, "--level", "3")
    ingest(ada.data, bea.profile(), bea.vouch(cal.did, 2), cal.profile())
    return ada


# -- trust and people -------------------------------------------------------------------


def test_trust_names_the_paths_that_explain_it(web: Cli, bea: Person, cal: Person) -> None:
    text = web.ok("trust", cal.did)
    lines = text.splitlines()
    assert lines[0] == f"Cal ({cal.did})"
    assert "trust: " in lines[1] and "(you are 1)" in lines[1] and "rank 2 of 2" in lines[1]
    assert "  because you → Bea (level 3 general, today) → Cal (level 2 general, today)" in lines, (
        text
    )

    data = web.json("trust", cal.did)
    assert data["did"] == cal.did and data["name"] == "Cal" and data["context"] is None
    assert data["score"] > 0 and data["rank"] == 2 and data["known"] == 2
    assert data["blocked"] is False
    [path] = data["paths"]
    assert path["words"] == "you → Bea (level 3 general, today) → Cal (level 2 general, today)"
    assert path["strength"] > 0
    assert path["vouches"] == [web.own_records()[-1], bea.chain[1].id]

    direct = web.json("trust", bea.did)
    assert direct["rank"] == 1 and direct["score"] > data["score"]
    assert [p["words"] for p in direct["paths"]] == ["you → Bea (level 3 general, today)"]


def test_trust_in_someone_no_vouch_reaches_says_so(web: Cli) -> None:
    assert "no trust reaches them from you" in web.ok("trust", NOBODY)
    data = web.json("trust", NOBODY)
    assert (data["score"], data["rank"], data["paths"]) == (0, None, [])


def test_trust_in_a_context_counts_vouches_in_it_in_full(web: Cli, bea: Person) -> None:
    web.ok("vouch", bea.did, "--level", "3", "--context", "python")
    general = web.json("trust", bea.did)
    python = web.json("trust", bea.did, "--context", "python")
    assert python["context"] == "python" and python["score"] > 0
    assert any("level 3 in python" in p["words"] for p in python["paths"])
    assert " in python: " in web.ok("trust", bea.did, "--context", "python")
    assert general["context"] is None


def test_people_lists_everyone_trust_reaches_ranked(web: Cli, bea: Person, cal: Person) -> None:
    data = web.json("people")
    assert data["context"] is None
    people = data["people"]
    assert [(p["rank"], p["did"], p["name"]) for p in people] == [
        (1, bea.did, "Bea"),
        (2, cal.did, "Cal"),
    ]
    assert people[0]["score"] > people[1]["score"] > 0
    lines = web.ok("people").splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "1" and lines[0].rstrip().endswith(bea.did) and "Bea" in lines[0]
    assert lines[1].split()[0] == "2" and lines[1].rstrip().endswith(cal.did) and "Cal" in lines[1]


def test_people_with_nobody_yet_says_how_trust_flows(ada: Cli) -> None:
    assert "Nobody yet" in ada.ok("people")
    assert ada.json("people") == {"context": None, "people": []}


def test_a_block_zeroes_trust_privately_until_lifted(web: Cli, bea: Person, cal: Person) -> None:
    before = web.own_records()
    assert web.ok("block", bea.did).strip() == f"Blocked {bea.did}"
    assert web.own_records() == before  # nothing is published
    assert "is blocked: no trust" in web.ok("trust", bea.did)
    data = web.json("trust", bea.did)
    assert (data["blocked"], data["score"], data["rank"], data["paths"]) == (True, 0, None, [])
    # A blocked identity passes nothing on either: Cal was reached only through Bea.
    assert web.json("trust", cal.did)["score"] == 0
    assert web.json("people")["people"] == []

    assert web.ok("unblock", bea.did).strip() == f"Unblocked {bea.did}"
    assert web.json("trust", bea.did)["blocked"] is False
    assert [p["did"] for p in web.json("people")["people"]] == [bea.did, cal.did]
    web.fails("unblock", bea.did, code="not_found")


def test_unblock_of_someone_not_blocked_is_not_found(ada: Cli) -> None:
    result = ada.fails("unblock", NOBODY, code="not_found")
    assert result.stderr.startswith("error: not_found: ")


def test_blocking_yourself_is_refused(ada: Cli) -> None:
    ada.fails("block", ada.did, code="self_block")
    assert ada.json("trust", ada.did)["blocked"] is False


def test_blocking_something_that_is_not_a_did_is_refused(ada: Cli) -> None:
    ada.fails("block", "not-a-did", code="invalid_did")
    ada.fails("unblock", "not-a-did", code="not_found")


def test_trust_in_something_that_is_not_a_did_is_refused(ada: Cli) -> None:
    # DESIGN "What a node promises": bad input of any kind gets a clear error with a stable
    # code. `block` checks its DID; `trust` answered exit 0, "not-a-did…: no trust reaches
    # them from you", as if it named somebody.
    ada.fails("trust", "not-a-did", code="invalid_did")


def test_trust_in_yourself_does_not_say_no_trust_reaches_you(ada: Cli, bea: Person) -> None:
    ada.ok("vouch", bea.did, "--level", "2")
    data = ada.json("trust", ada.did)
    assert data["relative"] == 1.0 and data["score"] > 0  # the owner is 1, as the text says
    # The text contradicted the JSON: "you (did…): no trust reaches them from you."
    assert "no trust reaches" not in ada.ok("trust", ada.did)


# -- guilds -----------------------------------------------------------------------------


def found(cli: Cli, *args: str) -> str:
    """Found a guild with the given options; returns its id."""
    data = cli.json("guild", "found", "Data Co-op", "--purpose", "Data work.", *args)
    assert data["record"]["kind"] == "guild" and data["record"]["author"] == cli.did
    return str(data["id"])


def test_guild_found_prints_the_guild_id(ada: Cli) -> None:
    text = ada.ok("guild", "found", "Solo", "--purpose", "Alone.", "--vouches-required", "1")
    assert text.startswith("Founded Solo: guild id ")
    guild_id = text.strip().rsplit(" ", 1)[-1]
    assert len(guild_id) == 64 and int(guild_id, 16) >= 0
    [charter] = json.loads(ada.ok("log", "--kind", "guild", "--json"))["records"]
    assert charter["id"] == guild_id
    assert charter["record"]["body"] == {
        "name": "Solo",
        "purpose": "Alone.",
        "founders": [ada.did],
        "admission": {"vouches_required": 1, "cooling_days": 7},
    }


def test_guild_found_with_cofounders_skills_and_cooling(ada: Cli, bea: Person) -> None:
    guild_id = found(ada, "--cofounder", bea.did, "--skill", "python", "--skill", "sql",
                     "--cooling-days", "0")  # fmt: skip
    guild = ada.json("guild", "show", guild_id)
    assert guild["founders"] == [ada.did, bea.did]
    assert (guild["vouches_required"], guild["cooling_days"]) == (2, 0)
    assert guild["skills"] == ["python", "sql"] and guild["valid"] is True
    # Bea has not consented (applied) yet: only Ada is a member.
    assert [m["did"] for m in guild["members"]] == [ada.did]


def test_more_vouches_required_than_founders_is_refused(ada: Cli, bea: Person) -> None:
    result = ada.fails(
        "guild", "found", "Co", "--purpose", "p", "--vouches-required", "2", code="invalid_argument"
    )
    assert "--vouches-required 2" in result.stderr
    ada.fails("guild", "found", "Co", "--purpose", "p", "--cofounder", bea.did,
              "--vouches-required", "3", code="invalid_argument")  # fmt: skip
    # the default (2) with no cofounder is refused too
    ada.fails("guild", "found", "Co", "--purpose", "p", code="invalid_argument")


def test_guild_found_with_a_cofounder_that_is_not_a_did_is_refused(ada: Cli) -> None:
    ada.fails("guild", "found", "Co", "--purpose", "p", "--vouches-required", "1",
              "--cofounder", "not-a-did", code="invalid_did")  # fmt: skip


def test_guild_found_without_a_purpose_is_a_usage_error(ada: Cli) -> None:
    result = ada.fails("guild", "found", "Co", code="--purpose", exit_code=2)
    assert "Missing option" in result.stderr


@pytest.mark.parametrize("command", ["apply", "leave", "show"])
def test_a_guild_this_node_does_not_hold_is_not_found(ada: Cli, command: str) -> None:
    result = ada.fails("guild", command, "0" * 64, code="not_found")
    assert result.stderr.startswith("error: not_found: ")
    assert "0" * 64 in result.stderr


def test_guild_show_and_list_with_applicants_vouches_and_members(
    ada: Cli, bea: Person, cal: Person
) -> None:
    guild_id = found(ada, "--cofounder", bea.did, "--cooling-days", "0")
    context = f"guild:{guild_id}"
    ingest(ada.data, bea.profile(), bea.sign("apply", {"guild": guild_id}))
    ingest(ada.data, cal.profile(), cal.sign("apply", {"guild": guild_id, "note": "Hello"}))
    ada.ok("vouch", cal.did, "--level", "2", "--context", context)

    guild = ada.json("guild", "show", guild_id)
    assert guild["id"] == guild_id and guild["name"] == "Data Co-op"
    assert guild["purpose"] == "Data work." and guild["author"] == ada.did
    assert guild["you_are_member"] is True
    assert {(m["did"], m["founder"]) for m in guild["members"]} == {
        (ada.did, True),
        (bea.did, True),
    }
    [applicant] = guild["applicants"]
    assert (applicant["did"], applicant["name"]) == (cal.did, "Cal")
    assert (applicant["had"], applicant["needed"], applicant["vouchers"]) == (1, 2, [ada.did])

    text = ada.ok("guild", "show", guild_id)
    assert text.startswith(f"Data Co-op  ({guild_id})")
    assert "  Data work." in text
    assert "admission: 2 member vouches in guild:" in text and "cooling 0 days" in text
    assert "members (2):" in text
    assert "applicants (1):" in text
    assert f"Cal                      {cal.did}  vouches 1 of 2" in text
    assert text.count("founder") == 2

    # Bea's vouch is the second: Cal becomes a member.
    ingest(ada.data, bea.vouch(cal.did, 2, context))
    guild = ada.json("guild", "show", guild_id)
    assert cal.did in {m["did"] for m in guild["members"]} and guild["applicants"] == []
    text = ada.ok("guild", "show", guild_id)
    assert "members (3):" in text and "applicants" not in text

    listing = ada.json("guild", "list")
    assert [(g["id"], g["name"], len(g["members"])) for g in listing["guilds"]] == [
        (guild_id, "Data Co-op", 3)
    ]
    assert listing["guilds"][0] == guild
    assert ada.ok("guild", "list").strip() == f"{guild_id}  Data Co-op  (3 members, you are one)"

    # The guild is a context of trust like a skill.
    in_guild = ada.json("trust", cal.did, "--context", context)
    assert in_guild["score"] > 0 and in_guild["context"] == context
    assert "you → Cal (level 2 in the guild Data Co-op, today)" in {
        p["words"] for p in in_guild["paths"]
    }
    assert ada.json("people", "--context", context)["people"][0]["did"] in {bea.did, cal.did}


def test_guild_list_with_no_guild_yet(ada: Cli) -> None:
    assert ada.ok("guild", "list").strip() == "No guilds known yet."
    assert ada.json("guild", "list") == {"guilds": []}


def test_apply_and_leave_publish_and_leave_ends_membership(ada: Cli, bea: Person) -> None:
    # Bea founds a guild; Ada applies, is vouched in by Bea, then leaves.
    profile = bea.profile()
    charter = bea.sign(
        "guild",
        {"name": "Bea's", "purpose": "Bea's guild.", "founders": [bea.did],
         "admission": {"vouches_required": 1, "cooling_days": 0}},
    )  # fmt: skip
    ingest(ada.data, profile, charter)
    guild_id = charter.id
    applied = ada.json("guild", "apply", guild_id, "--note", "I do data work.")
    assert applied["record"]["kind"] == "apply"
    assert applied["record"]["body"] == {"guild": guild_id, "note": "I do data work."}
    assert ada.ok("guild", "apply", guild_id).startswith("Applied: ")
    guild = ada.json("guild", "show", guild_id)
    assert guild["you_are_member"] is False
    assert [(a["did"], a["had"], a["needed"]) for a in guild["applicants"]] == [(ada.did, 0, 1)]

    ingest(ada.data, bea.vouch(ada.did, 2, f"guild:{guild_id}"))
    assert ada.json("guild", "show", guild_id)["you_are_member"] is True
    assert "you are one" in ada.ok("guild", "list")

    left = ada.json("guild", "leave", guild_id, "--reason", "Moving on.")
    assert left["record"]["kind"] == "leave"
    assert left["record"]["body"] == {"guild": guild_id, "reason": "Moving on."}
    guild = ada.json("guild", "show", guild_id)
    assert guild["you_are_member"] is False and guild["applicants"] == []
    assert "you are one" not in ada.ok("guild", "list")
    assert ada.ok("guild", "leave", guild_id).startswith("Left: ")


# -- help -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "mentions"),
    [
        (["trust"], ["DID", "--context", "--json", "paths"]),
        (["people"], ["--context", "--json", "ranked"]),
        (["block"], ["DID", "nothing is published"]),
        (["unblock"], ["DID"]),
        (["guild"], ["found", "apply", "leave", "show", "list"]),
        (["guild", "found"], ["NAME", "--purpose", "--vouches-required", "--cofounder",
                              "--skill", "--cooling-days", "--json"]),
        (["guild", "apply"], ["GUILD_ID", "--note", "--json"]),
        (["guild", "leave"], ["GUILD_ID", "--reason", "--json"]),
        (["guild", "show"], ["GUILD_ID", "--json"]),
        (["guild", "list"], ["--json"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)  # fmt: skip
def test_every_trust_and_guild_command_has_help(path: list[str], mentions: list[str]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ") and f"{' '.join(path)} [OPTIONS]" in result.stdout
    text = " ".join(result.stdout.split())
    for word in mentions:
        assert word in text, (path, word, result.stdout)
