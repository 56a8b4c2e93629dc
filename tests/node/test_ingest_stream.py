"""`Node.ingest_stream` answers exactly as consecutive `Node.ingest` calls, durably per batch.

The stream verifies the next batch while this one commits, and a large batch is checked a
chunk at a time while other threads check the signatures of the chunks before it; neither may
change a single answer, its order, or what ends up stored.
"""

from __future__ import annotations

import copy
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from guildnode import ingest
from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import Identity


def _tampered(wire: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(wire)
    bad["body"]["level"] = 3 if bad["body"]["level"] != 3 else 1  # the signature no longer holds
    return bad


def _batches(author: Any, rng: random.Random) -> list[list[dict[str, Any]]]:
    """Batches over the verifying threshold and over a chunk, of four authors' chains, with
    bad signatures, forks, gaps, duplicates and malformed items in every chunk."""
    people = [author(n) for n in range(1, 5)]
    subject = Identity(bytes([77]) * 32).did
    batches: list[list[dict[str, Any]]] = []
    for _ in range(4):
        batch: list[dict[str, Any]] = []
        while len(batch) < ingest.VERIFY_CHUNK * 3 + 7:
            who = rng.choice(people)
            roll = rng.random()
            if roll < 0.06 and who.records:
                batch.append(_tampered(who.records[-1].to_wire()))
            elif roll < 0.10 and who is people[-1] and who.records:
                # A second record at a held seq: a fork, which freezes this one author's chain.
                head = who.records[-1]
                fork = who.next(
                    "vouch", {"subject": subject, "level": 2}, seq=head.seq, prev=head.prev
                )
                batch.append(fork.to_wire())
            elif roll < 0.13:  # a gap: seq far past the head
                batch.append(who.next("vouch", {"subject": subject, "level": 1}, seq=999).to_wire())
            elif roll < 0.16 and who.records:
                batch.append(who.records[rng.randrange(len(who.records))].to_wire())  # duplicate
            elif roll < 0.18:
                batch.append({"kind": "vouch"})  # malformed: no envelope
            else:
                batch.append(who.next("vouch", {"subject": subject, "level": 1}).to_wire())
        batches.append(batch)
    return batches


def _stored(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path / "node.db") as db:
        return db.execute("SELECT id, author, seq FROM records ORDER BY author, seq").fetchall()


def test_a_stream_answers_and_stores_as_consecutive_calls_do(tmp_path: Path, author) -> None:
    batches = _batches(author, random.Random(14))
    seed = tmp_path / "seed"
    DataDir(seed).create()
    shutil.copytree(seed, tmp_path / "calls")
    shutil.copytree(seed, tmp_path / "stream")

    by_calls = Node(DataDir(tmp_path / "calls"))
    try:
        expected = [by_calls.ingest(copy.deepcopy(batch)) for batch in batches]
    finally:
        by_calls.close()
    by_stream = Node(DataDir(tmp_path / "stream"))
    try:
        got = list(by_stream.ingest_stream(copy.deepcopy(batch) for batch in batches))
    finally:
        by_stream.close()

    statuses = {r.status for results in expected for r in results}
    assert statuses == {"accepted", "duplicate", "rejected"}  # the workload has every case
    codes = {r.error.code for results in expected for r in results if r.error}
    assert {"bad_signature", "fork", "missing_field"} <= codes
    assert [[r.as_dict() for r in results] for results in got] == [
        [r.as_dict() for r in results] for results in expected
    ]
    assert _stored(tmp_path / "stream") == _stored(tmp_path / "calls")


def _chains(author: Any, count: int) -> tuple[list[Any], list[list[dict[str, Any]]]]:
    people = [author(n) for n in range(1, 4)]
    subject = Identity(bytes([78]) * 32).did
    batches = [
        [people[i % 3].next("vouch", {"subject": subject, "level": 1}).to_wire() for i in range(90)]
        for _ in range(count)
    ]
    return people, batches


def test_each_batch_of_a_stream_is_durable_when_its_answers_come(tmp_path: Path, author) -> None:
    """Unscoped, a stream commits batches together (STREAM_GROUP): when a batch's answers
    come it is on disk, and so may be batches after it, never fewer."""
    _, batches = _chains(author, ingest.STREAM_GROUP // 90 + 3)
    DataDir(tmp_path / "node").create()
    node = Node(DataDir(tmp_path / "node"))
    try:
        held = len(_stored(tmp_path / "node"))
        seen = []
        for number, results in enumerate(node.ingest_stream(batches), start=1):
            assert [r.status for r in results] == ["accepted"] * 90
            # Another connection (as after a crash and restart) sees at least this batch.
            seen.append(len(_stored(tmp_path / "node")) - held)
            assert seen[-1] >= 90 * number
        assert seen[-1] == 90 * len(batches)
        # Batches were grouped: some answers came when later batches were already stored.
        assert any(count > 90 * number for number, count in enumerate(seen, start=1))
    finally:
        node.close()


def test_a_scoped_stream_commits_each_batch_alone(tmp_path: Path, author) -> None:
    """Scoped, what one batch brings into scope decides the next (SPEC §9.7): each batch is
    its own transaction, durable when its answers come, and no later batch before it."""
    people, batches = _chains(author, 4)
    DataDir(tmp_path / "node").create()
    node = Node(DataDir(tmp_path / "node"))
    try:
        for person in people:
            node.vouch(person.did, level=2, statement="In scope.")
        held = len(_stored(tmp_path / "node"))
        for number, results in enumerate(node.ingest_stream(batches, scoped=True), start=1):
            assert [r.status for r in results] == ["accepted"] * 90
            assert len(_stored(tmp_path / "node")) == held + 90 * number
    finally:
        node.close()
