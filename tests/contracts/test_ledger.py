"""The ledger keeps the owner's contracts one by one (`guildnode.ledger`): whatever order the
records arrive in — forks, rotations, briefs, a delegate's offer and approvals, the grant and
its revocation, and records before what they name included — what it keeps equals a full
derivation from every record held, at every `now` asked.

The records are real: signed, sealed to their parties, ingested by a real node into its SQLite
store; the full derivation reads them with a fresh ledger (nothing kept) and `contracts.derive`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.actions import brief_body, offer_terms
from guildnode import contracts as rules
from guildnode.datadir import DataDir
from guildnode.ledger import Ledger
from guildnode.node import Node
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.protocol.sealed import seal

T0 = 1_790_000_000
DAY = 86_400
HOUR = 3_600
UNHELD = "cd" * 32  # a brief no node here holds (contract 3's: B's own brief would be by
# its old key, and a brief's author is not read as its member, SPEC §14.6)
OWNER = Identity(bytes([1]) * 32)  # the freelancer, whose node it is
ORG_A = Identity(bytes([2]) * 32)
ORG_B = Identity(bytes([3]) * 32)
ORG_B2 = Identity(bytes([4]) * 32)  # B's key after its rotation
ORG_C = Identity(bytes([5]) * 32)  # posts the brief contract 2 names: its one record
ORG_D = Identity(bytes([6]) * 32)  # grants STAFF offers and approvals, then revokes them
STAFF = Identity(bytes([7]) * 32)  # D's delegate: offers contract 4 and approves for D
END = T0 + 40 * DAY
# Moments the contracts are compared at: before anything, around each step and time event.
# Three are seconds of records (where a step can be `too_soon`).
NOWS = [
    T0 - DAY,
    T0 + 90 * 60,
    T0 + 2 * HOUR,
    T0 + 2 * DAY + HOUR,
    T0 + 4 * DAY,
    T0 + 5 * DAY,
    T0 + 6 * DAY,  # B2's cancel: the owner's `received` is `too_soon` in that second alone
    T0 + 9 * DAY,
    T0 + 19 * DAY,
]


class Chain:
    """One author's chain, signed in order."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.records: list[VerifiedRecord] = []

    def sign(self, kind: str, body: dict[str, Any], at: int, expires: int | None = None) -> Any:
        head = self.records[-1] if self.records else None
        record = sign_record(
            self.identity,
            kind=kind,
            body=body,
            seq=head.seq + 1 if head else 1,
            prev=head.id if head else None,
            created_at=at,
            expires_at=expires,
        )
        self.records.append(record)
        return record

    def sealed(
        self, kind: str, inner: dict[str, Any], to: str | list[str], at: int, **kw: Any
    ) -> Any:
        parties = [to] if isinstance(to, str) else to
        return self.sign(kind, seal(self.identity, kind, inner, parties), at, **kw)


def terms(brief: str, org: str, *, at: int = T0, amounts: tuple[int, ...] = (100, 200)) -> Any:
    return offer_terms(brief, org, OWNER.did, at, amounts)


def scenario() -> tuple[list[list[VerifiedRecord]], VerifiedRecord]:
    """Seven chains (A, B, B's successor, D, D's delegate, the owner, C) and a record forking
    A's chain."""
    a, b, b2, me, c = Chain(ORG_A), Chain(ORG_B), Chain(ORG_B2), Chain(OWNER), Chain(ORG_C)
    d, staff = Chain(ORG_D), Chain(STAFF)
    # In the order of time (each chain's `created` never goes back):
    # contract 1 (A): offer, the owner's counter, A's answer, accepted, milestones and money;
    # the second milestone, submitted and never approved, is approved by default 14 days on.
    # Contract 2 (A) names C's brief, so it has no effect once that brief is held; else it
    # expires unanswered. Contract 3 (B): accepted; B rotates to B2, whose cancel counts for
    # B; B's old key's approval after the rotation has no effect. Contract 4 (D): offered by
    # D's delegate (sealed to three, SPEC §15.4) and accepted; the delegate's first approval
    # counts as D's; D revokes the delegate from its third record on, so its second approval
    # has no effect and that milestone is approved by default.
    d.sign(
        "delegate", {"delegate": STAFF.did, "scope": ["offers", "approve"]}, T0 - DAY, T0 + 30 * DAY
    )
    brief_a = a.sign("brief", brief_body("A's"), T0 - DAY, T0 + 20 * DAY)
    brief_c = c.sign("brief", brief_body("C's"), T0 - DAY, T0 + 20 * DAY)
    o1 = a.sealed("offer", terms(brief_a.id, ORG_A.did), OWNER.did, T0)
    o3 = b.sealed("offer", terms(UNHELD, ORG_B.did), OWNER.did, T0 + 30 * 60)
    o4 = staff.sealed("offer", terms(UNHELD, ORG_D.did), [OWNER.did, ORG_D.did], T0 + HOUR)
    counter = {**terms(brief_a.id, ORG_A.did, amounts=(150, 200)), "answers": o1.id}
    c1 = me.sealed("offer", counter, ORG_A.did, T0 + HOUR)
    answer = {**terms(brief_a.id, ORG_A.did), "answers": c1.id}
    o1b = a.sealed("offer", answer, OWNER.did, T0 + 2 * HOUR)
    me.sealed("accept", {"offer": o3.id}, ORG_B.did, T0 + 2 * HOUR)
    me.sealed("accept", {"offer": o1b.id}, ORG_A.did, T0 + 3 * HOUR)
    # SPEC §6.10, §15.4: the owner seals contract 4's later records to D's delegate too; a
    # counter with another third recipient (C) has no effect, so o4 stays open to accept.
    stray = {**terms(UNHELD, ORG_D.did), "answers": o4.id}
    me.sealed("offer", stray, [ORG_D.did, ORG_C.did], T0 + 3 * HOUR)
    me.sealed("accept", {"offer": o4.id}, [ORG_D.did, STAFF.did], T0 + 3 * HOUR + 60)
    one, three, four = {"contract": o1.id}, {"contract": o3.id}, {"contract": o4.id}
    me.sealed("milestone", {**one, "index": 0, "action": "submitted"}, ORG_A.did, T0 + DAY)
    me.sealed(
        "milestone", {**four, "index": 0, "action": "submitted"}, [ORG_D.did, STAFF.did], T0 + DAY
    )
    a.sealed(
        "offer",
        terms(brief_c.id, ORG_A.did, at=T0 + DAY),
        OWNER.did,
        T0 + DAY,
        expires=T0 + 8 * DAY,
    )
    approve = a.sealed(
        "milestone", {**one, "index": 0, "action": "approved"}, OWNER.did, T0 + 2 * DAY
    )
    me.sealed("milestone", {**three, "index": 0, "action": "submitted"}, ORG_B.did, T0 + 2 * DAY)
    approved = {"index": 0, "action": "approved"}
    staff.sealed("milestone", {**four, **approved}, [OWNER.did, ORG_D.did], T0 + 2 * DAY)
    money = {"amount": 100, "currency": "EUR"}
    a.sealed(
        "payment", {**one, "index": 0, "amount": money, "action": "paid"}, OWNER.did, T0 + 3 * DAY
    )
    rotation = b.sign("rotate", {"successor": ORG_B2.did}, T0 + 3 * DAY)
    b2.sign("succeed", {"predecessor": ORG_B.did, "via": rotation.id}, T0 + 3 * DAY)
    d.sign("undelegate", {"delegate": STAFF.did, "from_seq": 3}, T0 + 3 * DAY)
    b.sealed("milestone", {**three, "index": 0, "action": "approved"}, OWNER.did, T0 + 4 * DAY)
    me.sealed(
        "payment",
        {**one, "index": 0, "amount": money, "action": "received"},
        ORG_A.did,
        T0 + 4 * DAY,
    )
    me.sealed("milestone", {**one, "index": 1, "action": "submitted"}, ORG_A.did, T0 + 4 * DAY)
    me.sealed("milestone", {**four, "index": 1, "action": "submitted"}, ORG_D.did, T0 + 4 * DAY)
    late = {"index": 1, "action": "approved"}  # the delegate's third record: revoked
    staff.sealed("milestone", {**four, **late}, [OWNER.did, ORG_D.did], T0 + 5 * DAY)
    b2.sealed("cancel", {**three, "reason": "Plans changed"}, OWNER.did, T0 + 6 * DAY)
    # A second record at the seq of A's approval: a fork, freezing A's chain before it.
    fork = sign_record(
        ORG_A,
        kind="milestone",
        body=seal(ORG_A, "milestone", {**one, "index": 0, "action": "approved"}, [OWNER.did]),
        seq=approve.seq,
        prev=approve.prev,
        created_at=approve.created_at + 1,
    )
    chains = [a.records, b.records, b2.records, d.records, staff.records, me.records]
    return [*chains, c.records], fork


CHAINS, FORK = scenario()
ITEMS = sum(len(chain) for chain in CHAINS) + 1  # every record, and the fork


def owner_node(root: Path) -> Node:
    datadir = DataDir(root / "owner")
    datadir.create(OWNER)
    return Node(datadir, clock=lambda: float(END))


def same(node: Node, now: int) -> None:
    """The ledger's contracts, and what the owner may do in each, are the full derivation's."""
    kept = node.market.ledger.contracts(now)
    assert kept == full(node, now)
    for contract in kept.values():
        assert node.market.ledger.actions(contract, OWNER.did, now) == contract.actions(
            OWNER.did, now
        )


def full(node: Node, now: int) -> dict[str, rules.Contract]:
    """The full derivation: every record opened afresh, every brief, one `derive`."""
    fresh = Ledger(node)
    briefs = {b.id: b for b in node.briefs()}
    return rules.derive(fresh.events(), briefs=briefs, now=now)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(0, len(CHAINS)), min_size=ITEMS, max_size=ITEMS * 2),
    looks=st.lists(
        st.tuples(st.booleans(), st.sampled_from(NOWS)), min_size=ITEMS * 2, max_size=ITEMS * 2
    ),
)
def test_the_ledger_equals_a_full_derivation_whatever_the_order_of_arrival(
    picks: list[int], looks: list[tuple[bool, int]]
) -> None:
    """Records arrive one by one, each chain in order but the chains interleaved as drawn
    (the fork, pick 4, comes when drawn); after each arrival the ledger is asked (or not)
    at a drawn `now`, and at the end at every `now`."""
    with tempfile.TemporaryDirectory() as tmp:
        node = owner_node(Path(tmp))
        try:
            next_of = [0] * len(CHAINS)
            forked = False
            for step, pick in enumerate(picks):
                if pick == len(CHAINS):
                    if forked:
                        continue
                    forked = True
                    node.ingest([FORK.to_wire()])
                elif next_of[pick] < len(CHAINS[pick]):
                    node.ingest([CHAINS[pick][next_of[pick]].to_wire()])
                    next_of[pick] += 1
                ask, now = looks[step % len(looks)]
                if ask:
                    same(node, now)
            for chain, done in zip(CHAINS, next_of, strict=True):
                node.ingest([r.to_wire() for r in chain[done:]])
            for now in [*NOWS, *reversed(NOWS)]:  # and the clock going back
                same(node, now)
        finally:
            node.close()


def test_the_scenario_reaches_every_case_it_is_for(tmp_path: Path) -> None:
    """All records in chain order, the fork last: the contracts show a counter-offer, the
    default approval, the brief that voids an offer, the rotation and the freeze."""
    node = owner_node(tmp_path)
    try:
        ledger = node.market.ledger
        for chain in CHAINS[:-1]:
            results = node.ingest([r.to_wire() for r in chain])
            assert {r.status for r in results} == {"accepted"}
        two = CHAINS[0][3].id
        assert ledger.contracts(T0 + 2 * DAY)[two].state == "offered"
        assert ledger.contracts(T0 + 9 * DAY)[two].state == "expired"
        node.ingest([r.to_wire() for r in CHAINS[-1]])  # C's brief, not A's: no effect
        assert two not in ledger.contracts(T0 + 9 * DAY)
        before = ledger.contracts(T0 + 19 * DAY)
        one = before[CHAINS[0][1].id]
        assert [o.status for o in one.offers] == ["countered", "countered", "accepted"]
        assert one.milestones[1].approved_by_default
        assert len(before) == 3
        three = before[CHAINS[1][0].id]
        assert three.state == "cancelled" and three.organisation == ORG_B2.did
        assert not three.milestones[0].approved_at  # the old key's approval came too late
        assert one.milestones[0].paid_at is not None
        four = before[CHAINS[4][0].id]  # the delegate's offer: D's contract
        assert four.organisation == ORG_D.did and four.state == "active"
        assert [o.status for o in four.offers] == ["accepted"]  # the stray counter: none
        assert [e.problem[0] for e in four.timeline if e.problem] == ["invalid_terms"]
        assert four.milestones[0].approved_at == T0 + 2 * DAY  # the delegate's, as D's
        assert four.milestones[1].approved_by_default  # the revoked delegate's had no effect
        node.ingest([FORK.to_wire()])
        after = ledger.contracts(T0 + 19 * DAY)
        first = after[one.id].milestones[0]  # A's chain is frozen before its approval:
        assert first.approved_by_default and first.paid_at is None  # approved by time alone
        assert after == full(node, T0 + 19 * DAY)
        assert ledger.contracts(T0 + 5 * DAY) == full(node, T0 + 5 * DAY)
    finally:
        node.close()
