"""SPEC §14: which keys form one member and which records have effect, whatever the order of
arrival. Pure cases over signed records, and property tests: every permutation of a random
set of rotation, recovery and compromise records resolves the same, and so does every
arrival order into a real SQLite store."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guildnode import derive
from guildnode.identities import WINDOW, Identities, IdentityRecord, resolve
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.store import ForkProof, Store
from guildnode.trust import VouchTable, trust

T0 = 1_790_000_000
HOUR = 3600
KEYS = [Identity(bytes([30 + n]) * 32) for n in range(6)]
DIDS = [k.did for k in KEYS]


class Chains:
    """Signed chains of several keys, written in the order the test says."""

    def __init__(self) -> None:
        self.records: dict[str, list[VerifiedRecord]] = {}
        self.clock = T0

    def add(self, key: Identity, kind: str, body: dict[str, Any], at: int | None = None) -> str:
        chain = self.records.setdefault(key.did, [])
        if at is None:
            self.clock += 1
            at = self.clock
        else:
            self.clock = max(self.clock, at)
        created = max(at, chain[-1].created_at if chain else 0)
        record = sign_record(
            key,
            kind=kind,
            body=body,
            seq=len(chain) + 1,
            prev=chain[-1].id if chain else None,
            created_at=created,
        )
        chain.append(record)
        return record.id

    def all(self) -> list[VerifiedRecord]:
        return [r for chain in self.records.values() for r in chain]


def resolved(records: Sequence[VerifiedRecord]) -> Identities:
    created = {(r.author, r.seq): r.created_at for r in records}
    return resolve(
        [IdentityRecord(r.id, r.kind, r.author, r.seq, r.created_at, r.body) for r in records],
        lambda key, seq: created.get((key, seq)),
    )


OLD, NEW, THIEF, RESCUE, FRIEND1, FRIEND2 = KEYS


def rotate(chains: Chains, old: Identity, new: Identity, at: int | None = None) -> str:
    via = chains.add(old, "rotate", {"successor": new.did}, at)
    chains.add(new, "succeed", {"predecessor": old.did, "via": via}, at)
    return via


def test_a_rotation_the_successor_accepts_makes_one_member() -> None:
    chains = Chains()
    chains.add(OLD, "vouch", {"subject": FRIEND1.did, "level": 2})
    rotate(chains, OLD, NEW)
    chains.add(OLD, "vouch", {"subject": FRIEND2.did, "level": 2})  # after the rotation point
    ids = resolved(chains.all())
    assert ids.member(OLD.did) == ids.member(NEW.did) == NEW.did
    assert ids.keys(OLD.did) == (OLD.did, NEW.did)
    assert ids.cut(OLD.did) == 2  # the rotate itself has effect
    assert ids.has_effect(OLD.did, 1) and not ids.has_effect(OLD.did, 3)
    assert ids.position(OLD.did, 3) < ids.position(NEW.did, 1)


def test_a_rotation_without_the_successors_succeed_has_no_effect() -> None:
    chains = Chains()
    chains.add(OLD, "rotate", {"successor": NEW.did})
    chains.add(OLD, "vouch", {"subject": FRIEND1.did, "level": 2})
    ids = resolved(chains.all())
    assert ids.member(OLD.did) == OLD.did
    assert ids.has_effect(OLD.did, 2)


def test_rotation_to_an_already_used_key_has_no_effect() -> None:
    chains = Chains()
    chains.add(NEW, "vouch", {"subject": FRIEND1.did, "level": 1})  # NEW was used before
    via = chains.add(OLD, "rotate", {"successor": NEW.did})
    chains.add(NEW, "succeed", {"predecessor": OLD.did, "via": via})  # seq 2: never counts
    ids = resolved(chains.all())
    assert ids.member(OLD.did) == OLD.did and ids.member(NEW.did) == NEW.did
    assert ids.cut(OLD.did) is None


def test_a_rotation_loop_stops_at_the_first_link() -> None:
    chains = Chains()
    rotate(chains, OLD, NEW)
    back = chains.add(NEW, "rotate", {"successor": OLD.did})
    chains.add(OLD, "succeed", {"predecessor": NEW.did, "via": back})  # OLD's seq 2
    ids = resolved(chains.all())
    assert ids.member(OLD.did) == NEW.did and ids.member(NEW.did) == NEW.did
    assert ids.cut(NEW.did) is None


def test_of_two_accepted_rotations_the_lower_seq_wins() -> None:
    chains = Chains()
    rotate(chains, OLD, NEW)
    rotate(chains, OLD, THIEF)
    ids = resolved(chains.all())
    assert ids.member(OLD.did) == NEW.did
    assert ids.member(THIEF.did) == THIEF.did


def theft(recovery_delay: int, voters: Sequence[Identity] = (FRIEND1, FRIEND2)) -> Chains:
    """OLD names two friends (2 of 2); a thief rotates OLD to THIEF; the friends vote to
    recover OLD to RESCUE `recovery_delay` seconds after the thief's rotate."""
    chains = Chains()
    chains.add(OLD, "recovery", {"keys": [FRIEND1.did, FRIEND2.did], "threshold": 2})
    chains.add(OLD, "vouch", {"subject": FRIEND1.did, "level": 2})
    stolen_at = T0 + 10 * HOUR
    rotate(chains, OLD, THIEF, at=stolen_at)
    vote = ""
    for friend in voters:
        vote = chains.add(
            friend,
            "compromise",
            {"key": OLD.did, "from_seq": 3, "successor": RESCUE.did},
            at=stolen_at + recovery_delay,
        )
    chains.add(RESCUE, "succeed", {"predecessor": OLD.did, "via": vote}, at=stolen_at)
    return chains


def test_a_recovery_within_the_window_undoes_the_thiefs_rotation() -> None:
    ids = resolved(theft(WINDOW).all())  # exactly 72 h after: still inside
    assert ids.member(OLD.did) == RESCUE.did
    assert ids.cut(OLD.did) == 2  # the thief's rotate (seq 3) has no effect
    assert ids.member(THIEF.did) == THIEF.did  # a stranger with no history


def test_after_the_window_the_thiefs_rotation_is_final() -> None:
    ids = resolved(theft(WINDOW + 1).all())
    assert ids.member(OLD.did) == THIEF.did
    assert ids.member(RESCUE.did) == RESCUE.did


def test_a_recovery_below_its_threshold_has_no_effect() -> None:
    ids = resolved(theft(HOUR, voters=[FRIEND1]).all())
    assert ids.member(OLD.did) == THIEF.did


def test_a_recovery_set_the_thief_names_cannot_stop_or_make_a_recovery() -> None:
    chains = theft(HOUR, voters=[FRIEND1, FRIEND2])
    # Records of the thief's at seq 3 cannot matter: the set in force is the one below 3.
    chains2 = Chains()
    chains2.add(OLD, "recovery", {"keys": [FRIEND1.did, FRIEND2.did], "threshold": 2})
    chains2.add(OLD, "vouch", {"subject": FRIEND1.did, "level": 2})
    chains2.add(OLD, "recovery", {"keys": [THIEF.did], "threshold": 1}, at=T0 + 10 * HOUR)
    via = chains2.add(OLD, "rotate", {"successor": THIEF.did}, at=T0 + 10 * HOUR)
    chains2.add(THIEF, "succeed", {"predecessor": OLD.did, "via": via})
    votes = [
        chains2.add(f, "compromise", {"key": OLD.did, "from_seq": 3, "successor": RESCUE.did})
        for f in (FRIEND1, FRIEND2)
    ]
    chains2.add(RESCUE, "succeed", {"predecessor": OLD.did, "via": votes[0]})
    # The thief's own "recovery" vote for itself counts for nothing.
    chains2.add(THIEF, "compromise", {"key": OLD.did, "from_seq": 5, "successor": THIEF.did})
    assert resolved(chains.all()).member(OLD.did) == RESCUE.did
    assert resolved(chains2.all()).member(OLD.did) == RESCUE.did


def test_a_member_marks_its_old_key_compromised_from_a_point() -> None:
    chains = Chains()
    for _ in range(3):
        chains.add(OLD, "vouch", {"subject": FRIEND1.did, "level": 2})
    rotate(chains, OLD, NEW)
    chains.add(NEW, "compromise", {"key": OLD.did, "from_seq": 2})
    ids = resolved(chains.all())
    assert ids.member(OLD.did) == NEW.did  # the link stays
    assert ids.cut(OLD.did) == 1
    assert not ids.has_effect(OLD.did, 2)


def test_a_stranger_cannot_mark_a_key_compromised() -> None:
    chains = Chains()
    chains.add(OLD, "vouch", {"subject": FRIEND1.did, "level": 2})
    chains.add(THIEF, "compromise", {"key": OLD.did, "from_seq": 1})
    assert resolved(chains.all()).cut(OLD.did) is None


# -- property tests: arrival order never matters ---------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> list[VerifiedRecord]:
    """Up to 16 records of the four kinds (and vouches) among six keys, with time jumps of up
    to 50 hours so that recovery windows open and close; a `succeed` cites records that exist."""
    chains = Chains()
    index = st.integers(0, len(KEYS) - 1)
    for _ in range(draw(st.integers(1, 16))):
        a = KEYS[draw(index)]
        chains.clock += draw(st.integers(0, 50 * HOUR))
        other = KEYS[draw(index)]
        kind = draw(st.sampled_from(["vouch", "rotate", "succeed", "recovery", "compromise"]))
        if kind == "succeed" or (not chains.records.get(a.did) and draw(st.booleans())):
            citing = [
                r.id
                for r in chains.all()
                if r.kind in ("rotate", "compromise")
                and a.did in (r.body.get("successor"), r.body.get("key"))
            ]
            via = draw(st.sampled_from(citing)) if citing else "0" * 64
            predecessor = (
                next(
                    (r.author if r.kind == "rotate" else r.body["key"])
                    for r in chains.all()
                    if r.id == via
                )
                if citing
                else other.did
            )
            chains.add(a, "succeed", {"predecessor": predecessor, "via": via})
        elif kind == "rotate":
            via = chains.add(a, "rotate", {"successor": other.did})
            if not chains.records.get(other.did) and draw(st.booleans()):  # often accepted
                chains.add(other, "succeed", {"predecessor": a.did, "via": via})
        elif kind == "recovery":
            keys = draw(st.lists(st.sampled_from(DIDS), min_size=1, max_size=3, unique=True))
            chains.add(a, "recovery", {"keys": keys, "threshold": draw(st.integers(1, 3))})
        elif kind == "compromise":
            body: dict[str, Any] = {"key": other.did, "from_seq": draw(st.integers(1, 4))}
            if draw(st.booleans()):
                body["successor"] = KEYS[draw(index)].did
            vote = chains.add(a, "compromise", body)
            heir = KEYS[DIDS.index(body.get("successor", a.did))]
            if "successor" in body and not chains.records.get(heir.did) and draw(st.booleans()):
                chains.add(heir, "succeed", {"predecessor": other.did, "via": vote})
        else:
            chains.add(a, "vouch", {"subject": other.did, "level": 2})
    return chains.all()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_permutation_resolves_the_same(data: st.DataObject) -> None:
    records = data.draw(histories())
    first = resolved(records)
    for _ in range(3):
        assert resolved(data.draw(st.permutations(records))) == first


def _arrival(records: Sequence[VerifiedRecord], picks: Sequence[int]) -> list[VerifiedRecord]:
    """An arrival order: chains interleaved as `picks` says, each chain in seq order."""
    queues: dict[str, list[VerifiedRecord]] = {}
    for r in sorted(records, key=lambda r: (r.author, r.seq)):
        queues.setdefault(r.author, []).append(r)
    order: list[VerifiedRecord] = []
    pick = iter(picks)
    while queues:
        authors = sorted(queues)
        author = authors[next(pick, 0) % len(authors)]
        order.append(queues[author].pop(0))
        if not queues[author]:
            del queues[author]
    return order


def _derived_in_store(order: Sequence[VerifiedRecord], batch: int) -> tuple[Any, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "node.db")
        try:
            for start in range(0, len(order), batch):
                store.commit(order[start : start + batch])
            ids = derive.identities(store)
            held = derive.vouches(store, ids)
            vouches = sorted((v.id, v.author, v.subject) for v in held)
            table = VouchTable.build(held, revoked=derive.revoked(store, held, ids))
            view = trust(table, ids.member(DIDS[0]), now=T0 + 400 * HOUR)
            scores = {did: view.score(ids.member(did)) for did in DIDS}
            return ids, vouches, scores
        finally:
            store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories(),
    st.lists(st.integers(0, 5), max_size=20),
    st.lists(st.integers(0, 5), max_size=20),
    st.integers(1, 4),
)
def test_every_arrival_order_into_a_store_derives_the_same(
    records: list[VerifiedRecord], picks1: list[int], picks2: list[int], batch: int
) -> None:
    one = _derived_in_store(_arrival(records, picks1), 1)
    two = _derived_in_store(_arrival(records, picks2), batch)
    assert one == two  # the same members, the same vouches with effect, the same trust
    assert one[0] == resolved(records)


def test_a_fork_between_owner_and_thief_freezes_the_key_and_recovery_wins(tmp_path: Path) -> None:
    chains = Chains()
    chains.add(OLD, "recovery", {"keys": [FRIEND1.did], "threshold": 1})
    chains.add(OLD, "vouch", {"subject": FRIEND2.did, "level": 2})
    own = chains.records[OLD.did][-1]
    chains.records[OLD.did].pop()  # the thief writes another seq 2: a rotate to THIEF
    via = chains.add(OLD, "rotate", {"successor": THIEF.did})
    stolen = chains.records[OLD.did][-1]
    chains.add(THIEF, "succeed", {"predecessor": OLD.did, "via": via})
    vote = chains.add(
        FRIEND1,
        "compromise",
        {"key": OLD.did, "from_seq": 2, "successor": RESCUE.did},
        at=stolen.created_at + 30 * 86_400,  # long after any window
    )
    chains.add(RESCUE, "succeed", {"predecessor": OLD.did, "via": vote})
    store = Store(tmp_path / "node.db")
    try:
        store.commit(chains.all())
        assert derive.identities(store).member(OLD.did) == THIEF.did  # the fork is not known
        store.commit([], [ForkProof(OLD.did, 2, stolen.canonical, own.canonical)])
        ids = derive.identities(store)
        assert ids.member(OLD.did) == RESCUE.did
        assert ids.member(THIEF.did) == THIEF.did
    finally:
        store.close()
