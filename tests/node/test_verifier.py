"""The verifying process (`guildnode.verifier`): it answers as libsodium does, the node
verifies for itself whenever the process is gone, and it ends with the node."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import nacl.signing

from guildnode import ingest
from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import Identity
from guildnode.verifier import Verifier


def _signed(n: int, message: bytes) -> tuple[bytes, bytes, bytes]:
    key = nacl.signing.SigningKey(bytes([n]) * 32)
    return bytes(key.verify_key), key.sign(message).signature, message


def test_the_process_answers_as_libsodium_does() -> None:
    good = _signed(1, b"a vouch")
    other = _signed(2, b"another")
    items = [
        good,
        (good[0], good[1], b"a vouch, altered"),  # the message changed
        (other[0], good[1], good[2]),  # someone else's key
        (good[0], bytes(64), good[2]),  # a signature of zeros
        other,
        (bytes(32), good[1], good[2]),  # a key that is no point at all
    ]
    verifier = Verifier()
    try:
        first, second = verifier.submit(items), verifier.submit([good] * 3)
        assert first is not None and second is not None
        assert verifier.answer(second) == b"\x01\x01\x01"  # answers may be asked out of order
        assert verifier.answer(first) == bytes([1, 0, 0, 0, 1, 0])
    finally:
        verifier.close()


def _batch(author: Any) -> list[dict[str, Any]]:
    """Over the threshold, so its chunks go to the process; every tenth signature broken."""
    subject = Identity(bytes([79]) * 32).did
    people = [author(n) for n in range(1, 3)]
    batch = []
    for i in range(ingest.VERIFY_CHUNK * 4):
        wire = people[i % 2].next("vouch", {"subject": subject, "level": 1}).to_wire()
        if i % 10 == 9:
            wire = copy.deepcopy(wire)
            wire["body"]["level"] = 2  # no longer what was signed
        batch.append(wire)
    return batch


def test_without_the_process_the_node_verifies_for_itself(tmp_path: Path, author) -> None:
    DataDir(tmp_path / "node").create()
    node = Node(DataDir(tmp_path / "node"))
    try:
        for verifier in node._ingest._verifiers:
            verifier._start()
            assert verifier._process is not None
            verifier._process.kill()  # gone before the batch: nothing answers
            verifier._process.wait()
        results = node.ingest(_batch(author))
    finally:
        node.close()
    broken = [r for n, r in enumerate(results) if n % 10 == 9]
    assert {r.error.code for r in broken if r.error} == {"bad_signature"}
    assert all(r.status == "rejected" for r in broken)
    # The record after a broken one breaks its author's chain: a gap, not a bad signature.
    first_ok = [r for n, r in enumerate(results) if n < 9]
    assert [r.status for r in first_ok] == ["accepted"] * 9


def test_the_process_checks_what_it_is_sent(tmp_path: Path, author) -> None:
    """Through the process, a broken signature is refused exactly as on the calling thread."""
    batch = _batch(author)
    answers = {}
    for name, share in (("process", 0.0), ("here", 1.0)):
        DataDir(tmp_path / name).create()
        node = Node(DataDir(tmp_path / name))
        try:
            chunks = ingest._chunks(batch)
            verifying = node._ingest._begin(copy.deepcopy(batch), round(chunks * share))
            assert all(part.sent for part in verifying.parts) == (share == 0.0)
            answers[name] = [r.as_dict() for r in node.ingest_finish(verifying)]
        finally:
            node.close()
    assert answers["process"] == answers["here"]
    assert {r["error"]["code"] for r in answers["process"] if r["error"]} >= {"bad_signature"}


def test_the_process_ends_with_the_node(tmp_path: Path, author) -> None:
    DataDir(tmp_path / "node").create()
    node = Node(DataDir(tmp_path / "node"))
    node.ingest(_batch(author))
    processes = [verifier._process for verifier in node._ingest._verifiers]
    assert all(process is not None and process.poll() is None for process in processes)
    node.close()
    assert all(process is not None and process.poll() is not None for process in processes)


def test_a_node_can_start_the_process_before_any_batch(tmp_path: Path) -> None:
    """`guildnode run` starts it at start-up, so the first large batch does not wait for it."""
    DataDir(tmp_path / "node").create()
    node = Node(DataDir(tmp_path / "node"))
    try:
        processes = [verifier._process for verifier in node._ingest._verifiers]
        assert processes == [None] * len(processes)  # nothing started by opening the node
        assert node.start_verifying(wait=True)  # each answered a fresh signature
        processes = [verifier._process for verifier in node._ingest._verifiers]
        assert all(process is not None and process.poll() is None for process in processes)
    finally:
        node.close()


def test_a_process_that_died_is_not_reported_ready() -> None:
    verifier = Verifier()
    try:
        assert verifier.start()
        assert verifier._process is not None
        verifier._process.kill()
        verifier._process.wait()
        assert not verifier.start(wait=True)
        assert verifier.submit([_signed(1, b"a vouch")]) is None  # the caller verifies itself
    finally:
        verifier.close()
