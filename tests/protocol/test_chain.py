"""Chain rules: where a verified record goes in its author's log (SPEC §7)."""

from __future__ import annotations

import hashlib

import pytest

from guildnode.protocol import (
    MAX_CLOCK_AHEAD,
    ChainHead,
    Identity,
    Placement,
    ProtocolError,
    VerifiedRecord,
    place,
    sign_record,
)

T0 = 1_790_000_000
ALICE = Identity(bytes([1]) * 32)
BOB = Identity(bytes([2]) * 32)
STRANGER_ID = hashlib.sha256(b"not in this chain").hexdigest()


def record(
    seq: int,
    prev: str | None,
    created: int = T0,
    *,
    note: str = "",
    author: Identity = ALICE,
) -> VerifiedRecord:
    body = {"name": "Ada" + note, "kind": "person"}
    return sign_record(author, kind="profile", body=body, seq=seq, prev=prev, created_at=created)


def head_of(rec: VerifiedRecord) -> ChainHead:
    return ChainHead(seq=rec.seq, id=rec.id, created_at=rec.created_at)


FIRST = record(1, None)
SECOND = record(2, FIRST.id, T0 + 60)


def refused(
    rec: VerifiedRecord, head: ChainHead | None, *, now: int = T0, frozen_at: int | None = None
) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        place(rec, head, None, now=now, frozen_at=frozen_at)
    assert caught.value.detail
    return caught.value


def test_clock_allowance_is_five_minutes() -> None:
    assert MAX_CLOCK_AHEAD == 300


def test_first_record_appends_to_an_empty_chain() -> None:
    assert place(FIRST, None, None, now=T0) is Placement.APPEND


def test_next_record_appends_after_the_head() -> None:
    assert place(SECOND, head_of(FIRST), None, now=T0 + 60) is Placement.APPEND
    third = record(3, SECOND.id, T0 + 120)
    assert place(third, head_of(SECOND), None, now=T0 + 120) is Placement.APPEND


def test_a_whole_chain_appends_in_order() -> None:
    head = None
    prev = None
    for seq in range(1, 6):
        rec = record(seq, prev, T0 + seq)
        assert place(rec, head, None, now=T0 + 10) is Placement.APPEND
        head, prev = head_of(rec), rec.id


def test_seq_gap_after_the_head() -> None:
    third = record(3, SECOND.id, T0 + 120)
    error = refused(third, head_of(FIRST))
    assert error.code == "seq_gap"
    assert "seq 3" in error.detail
    assert "next seq is 2" in error.detail


def test_seq_gap_with_no_head() -> None:
    error = refused(SECOND, None, now=T0 + 60)
    assert error.code == "seq_gap"
    assert "next seq is 1" in error.detail


def test_wrong_prev() -> None:
    other_second = record(2, STRANGER_ID, T0 + 60)
    error = refused(other_second, head_of(FIRST), now=T0 + 60)
    assert error.code == "wrong_prev"
    assert FIRST.id in error.detail


def test_prev_of_another_authors_record_is_wrong_prev() -> None:
    bobs_first = record(1, None, author=BOB)
    second = record(2, bobs_first.id, T0 + 60)
    assert refused(second, head_of(FIRST), now=T0 + 60).code == "wrong_prev"


def test_created_before_prev() -> None:
    early = record(2, FIRST.id, T0 - 1)
    error = refused(early, head_of(FIRST))
    assert error.code == "created_before_prev"


def test_equal_created_is_allowed() -> None:
    same_second = record(2, FIRST.id, T0)
    assert same_second.created_at == FIRST.created_at
    assert place(same_second, head_of(FIRST), None, now=T0) is Placement.APPEND


def test_created_in_future_beyond_five_minutes() -> None:
    ahead = record(1, None, T0 + MAX_CLOCK_AHEAD + 1)
    error = refused(ahead, None, now=T0)
    assert error.code == "created_in_future"
    assert "301 s" in error.detail


def test_created_exactly_five_minutes_ahead_is_allowed() -> None:
    ahead = record(1, None, T0 + MAX_CLOCK_AHEAD)
    assert place(ahead, None, None, now=T0) is Placement.APPEND


def test_created_in_future_also_applies_after_a_head() -> None:
    ahead = record(2, FIRST.id, T0 + 1_000)
    assert refused(ahead, head_of(FIRST), now=T0 + 699).code == "created_in_future"
    assert place(ahead, head_of(FIRST), None, now=T0 + 700) is Placement.APPEND


def test_records_from_the_past_are_fine() -> None:
    old = record(1, None, 0)
    assert place(old, None, None, now=T0) is Placement.APPEND


def test_duplicate_when_the_held_record_is_the_same() -> None:
    assert place(FIRST, None, FIRST.id, now=T0) is Placement.DUPLICATE
    assert place(FIRST, head_of(SECOND), FIRST.id, now=T0) is Placement.DUPLICATE
    assert place(SECOND, head_of(SECOND), SECOND.id, now=T0 + 60) is Placement.DUPLICATE


def test_fork_when_the_held_record_differs() -> None:
    rival = record(1, None, note=" (rival)")
    assert rival.seq == FIRST.seq and rival.id != FIRST.id
    assert place(rival, head_of(FIRST), FIRST.id, now=T0) is Placement.FORK
    rival_second = record(2, FIRST.id, T0 + 60, note=" (rival)")
    assert place(rival_second, head_of(SECOND), SECOND.id, now=T0 + 60) is Placement.FORK


def test_chain_frozen_beyond_the_frozen_seq() -> None:
    error = refused(SECOND, head_of(FIRST), now=T0 + 60, frozen_at=1)
    assert error.code == "chain_frozen"
    assert ALICE.did in error.detail
    assert "seq 1" in error.detail


def test_frozen_chain_still_takes_records_up_to_the_frozen_seq() -> None:
    assert place(FIRST, None, None, now=T0, frozen_at=1) is Placement.APPEND
    assert place(SECOND, head_of(FIRST), None, now=T0 + 60, frozen_at=2) is Placement.APPEND
    assert place(FIRST, head_of(SECOND), FIRST.id, now=T0, frozen_at=1) is Placement.DUPLICATE


def test_chain_frozen_at_zero_takes_nothing() -> None:
    assert refused(FIRST, None, frozen_at=0).code == "chain_frozen"
