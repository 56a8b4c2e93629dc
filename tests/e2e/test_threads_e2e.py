"""Conversations (SPEC §16) between three real `guildnode run` processes, driven through the
CLI: Fay asks Northwind about its brief, Northwind answers her privately and then to all,
and Tom — a third member who replicates both feeds — sees the public answer but cannot read
the question; a thread on a contract is sealed to its two parties, and its text and
attachment are nowhere in Tom's SQLite files (the database and its WAL). Then every refusal
of §16.6 through the real route, with nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_run import RunningNode, feed, spawn, wait_until_up
from test_work_cli import cli, ok, sync

from guildnode.datadir import DataDir

pytestmark = pytest.mark.e2e

GUILD = "ab" * 32
QUESTION = "Is the CLI-7Q3 migration in scope, and who holds the staging keys?"
CONTRACT_TEXT = "Staging password is hunter2-XK81; delete after reading."
ATTACHED = b"api_token = 'tok-ZZ93-attached'\n"


@dataclass
class Conversation:
    org: RunningNode
    fay: RunningNode
    tom: RunningNode
    brief: str
    contract: str


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conversation]:
    root = tmp_path_factory.mktemp("threads")
    org, fay, tom = (
        spawn(root / name, root / f"{name}-logs", extra=("--sync-interval", "0"))
        for name in ("org", "fay", "tom")
    )
    try:
        wait_until_up([org, fay, tom])
        ok(org, "profile", "set", "--name", "Northwind", "--org")
        ok(fay, "profile", "set", "--name", "Fay", "--skill", "rust")
        ok(tom, "profile", "set", "--name", "Tom", "--skill", "rust")
        for a in (org, fay, tom):
            for b in (org, fay, tom):
                if a is not b:
                    ok(a, "peer", "add", b.url, "--allow-private")
        ok(fay, "vouch", org.did, "--level", "2")
        ok(tom, "vouch", org.did, "--level", "2")
        ok(tom, "vouch", fay.did, "--level", "2")  # Tom replicates Fay's feed too
        brief = ok(org, "brief", "post", "--guild", GUILD, "--title", "Parser port",
                   "--description", "Rust.", "--criterion", "Tests pass", "--budget-min",
                   "1000", "--budget-max", "9000", "--currency", "EUR",
                   "--expires-days", "14")["id"]  # fmt: skip
        sync(org, fay, tom)
        proposal = ok(fay, "propose", brief, "--pitch", "I can", "--price", "5000",
                      "--currency", "EUR", "--days", "5")["id"]  # fmt: skip
        sync(org, fay, tom)
        contract = ok(org, "offer", proposal, "--scope", "The parser", "--criterion", "Tests",
                      "--milestone", "Parser:5000:7", "--days", "10")["id"]  # fmt: skip
        sync(org, fay, tom)
        yield Conversation(org, fay, tom, brief, contract)
    finally:
        for node in (org, fay, tom):
            node.stop()


def sqlite_bytes(node: RunningNode) -> bytes:
    """The node's database and its write-ahead log, as they are on disk while it runs."""
    db = DataDir(node.data).db_path
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0  # the running node's latest writes are in the WAL
    return db.read_bytes() + wal.read_bytes()


def chain(node: RunningNode, kind: str | None = None) -> list[dict[str, Any]]:
    records = feed(node, node.did)
    return [r for r in records if kind is None or r["kind"] == kind]


def test_a_question_is_answered_privately_then_to_all(talk: Conversation) -> None:
    org, fay, tom = talk.org, talk.fay, talk.tom
    asked = ok(fay, "thread", "ask", talk.brief, "--text", QUESTION)
    sync(fay, org, tom)

    listed = ok(org, "thread", "list")
    assert [(t["id"], t["about"], t["with"], t["unread"]) for t in listed["threads"]] == [
        (asked["id"], "brief", "Fay", 1)
    ]
    assert listed["unread"] == 1
    shown = ok(org, "thread", "show", asked["id"])
    assert [m["text"] for m in shown["messages"]] == [QUESTION]
    assert ok(org, "thread", "list")["unread"] == 0  # showing it marked it read

    ok(org, "thread", "reply", asked["id"], "--text", "Yes; keys come with the contract.")
    restated = "Is the CLI migration in scope?"
    public = ok(org, "thread", "reply", asked["id"], "--public", "--question", restated,
                "--text", "Yes, the CLI is in scope.")  # fmt: skip
    assert public["record"]["kind"] == "answer"
    sync(org, fay, tom)

    # Fay's thread holds the question, the private reply and the answer to all.
    theirs = ok(fay, "thread", "show", asked["id"])
    first, *answers = [(m["from"], m["public"], m["text"]) for m in theirs["messages"]]
    assert first == ("you", False, QUESTION)
    assert sorted(answers) == [  # the same second: their order is by record id (SPEC §16.1)
        ("Northwind", False, "Yes; keys come with the contract."),
        ("Northwind", True, "Yes, the CLI is in scope."),
    ]
    # Tom holds Fay's sealed question (her feed is in his scope) but cannot read it: he
    # sees the public answer with the brief, and no thread.
    assert asked["id"] in {r["id"] for r in _records(tom, fay.did, "message")}
    toms = ok(tom, "thread", "list", "--on", talk.brief)
    assert toms["threads"] == []
    assert [(a["question"], a["text"], a["from"]) for a in toms["answers"]] == [
        ("Is the CLI migration in scope?", "Yes, the CLI is in scope.", "Northwind")
    ]
    code, out = cli(tom, "thread", "show", asked["id"])
    assert code == 1 and "not_found" in out
    assert QUESTION.encode() not in sqlite_bytes(tom)
    assert b"keys come with the contract" not in sqlite_bytes(tom)


def _records(node: RunningNode, author: str, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(node, "log", "--author", author, "--kind", kind)["records"]
    return found


def test_a_contract_thread_is_unreadable_on_a_third_node(
    talk: Conversation, tmp_path: Path
) -> None:
    org, fay, tom = talk.org, talk.fay, talk.tom
    notes = tmp_path / "keys.txt"
    notes.write_bytes(ATTACHED)
    sent = ok(fay, "thread", "ask", talk.contract, "--text", CONTRACT_TEXT, "--attach", str(notes))
    sync(fay, org, tom)

    shown = ok(org, "thread", "show", sent["id"])
    assert shown["about"] == "contract" and shown["with"] == "Fay"
    [message] = shown["messages"]
    assert message["text"] == CONTRACT_TEXT
    [attachment] = message["attachments"]
    assert (attachment["name"], attachment["size"], attachment["intact"]) == (
        "keys.txt",
        len(ATTACHED),
        True,
    )
    ok(org, "thread", "reply", sent["id"], "--text", "Got it, deleted.")
    sync(org, fay, tom)
    assert [m["text"] for m in ok(fay, "thread", "show", sent["id"])["messages"]] == [
        CONTRACT_TEXT,
        "Got it, deleted.",
    ]

    # Tom's node stores both sealed messages, and nothing of them in the clear.
    held = {r["id"] for r in _records(tom, fay.did, "message")}
    held |= {r["id"] for r in _records(tom, org.did, "message")}
    assert sent["id"] in held and len(held) >= 3
    on_disk = sqlite_bytes(tom)
    for secret in (CONTRACT_TEXT.encode(), b"hunter2", b"tok-ZZ93", b"Got it, deleted"):
        assert secret not in on_disk
    code, out = cli(tom, "thread", "show", sent["id"])
    assert code == 1 and "not_found" in out


def _refused(node: RunningNode, code: str, *args: str) -> None:
    before = chain(node)
    status, out = cli(node, *args)
    assert status == 1 and code in out, out
    assert chain(node) == before  # nothing published, nothing stored


def test_a_thread_on_a_contract_one_is_not_party_to_is_refused(talk: Conversation) -> None:
    _refused(talk.tom, "not_a_party", "thread", "ask", talk.contract, "--text", "Hello?")


def test_a_message_over_the_size_limit_is_refused(talk: Conversation) -> None:
    _refused(talk.fay, "message_too_large", "thread", "ask", talk.brief, "--text", "x" * 4001)


def test_an_attachment_over_the_limit_is_refused(talk: Conversation, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * 4097)
    _refused(talk.fay, "attachment_too_large", "thread", "ask", talk.brief, "--text", "See",
             "--attach", str(big))  # fmt: skip


def test_a_reply_to_an_unknown_thread_is_refused(talk: Conversation) -> None:
    _refused(talk.fay, "unknown_thread", "thread", "reply", "0" * 64, "--text", "Anyone?")
