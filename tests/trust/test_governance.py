"""Guild governance (SPEC §12.5): the worked examples, and the same result in every order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import Author
from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode import derive
from guildnode.governance import VOTING_WINDOW, Ballot, Governance, Motion, govern
from guildnode.guilds import Application, Charter
from guildnode.store import ForkProof, Store
from guildnode.trust import Vouch

T = 1_790_000_000
G = "G1"
CHARTER = Charter(G, "F", "Guild", "Tests", ("F", "A", "B"), 2, T, 0)


def apply(who: str, at: int = T, seq: int = 1, kind: str = "apply") -> Application:
    return Application(f"{kind}-{who}-{seq}", who, G, kind, seq, at)


def vouch(author: str, subject: str, at: int) -> Vouch:
    return Vouch(f"v-{author}-{subject}-{at}", author, subject, 3, at, CHARTER.context)


def amend(mid: str, author: str, at: int, **changes: Any) -> Motion:
    return Motion(mid, author, G, at, "amend", changes)


def remove(mid: str, author: str, at: int, member: str) -> Motion:
    return Motion(mid, author, G, at, "remove", None, member)


def ballot(author: str, motion: str, at: int, choice: str = "yes", seq: int = 1) -> Ballot:
    return Ballot(f"b-{author}-{motion}-{seq}", author, G, motion, seq, at, choice)


def run(
    motions: list[Motion],
    ballots: list[Ballot],
    *,
    now: int,
    applications: list[Application] | None = None,
    vouches: list[Vouch] | None = None,
    charter: Charter = CHARTER,
) -> Governance:
    applications = applications if applications is not None else [apply("A"), apply("B")]
    return govern(charter, applications, vouches or [], motions, ballots, now=now)


def test_example_1_an_amendment_with_a_majority_is_adopted() -> None:
    m1 = amend("m1", "A", T + 100, name="Makers")
    votes = [ballot("B", "m1", T + 200), ballot("F", "m1", T + 300, "no")]
    before = run([m1], votes, now=T + 199)
    assert before.charter.name == "Guild" and before.outcomes[0].status == "open"
    after = run([m1], votes, now=T + 400)
    outcome = after.outcomes[0]
    assert (outcome.status, outcome.adopted_at, outcome.needed) == ("adopted", T + 200, 2)
    assert outcome.electorate == ("A", "B", "F") and outcome.no == ("F",)
    assert after.charter.name == "Makers" and after.membership.charter.name == "Makers"


SIX = [apply("A"), apply("B"), apply("P", T + 5)]
P_VOUCHES = [vouch("F", "P", T + 10), vouch("A", "P", T + 10)]


def test_example_2_an_amendment_without_a_majority_has_no_effect() -> None:
    m = amend("m", "F", T + 100, vouches_required=3)
    votes = [ballot("A", "m", T + 110), ballot("B", "m", T + 120, "no")]
    open_ = run([m], votes, now=T + 200, applications=SIX, vouches=P_VOUCHES)
    assert open_.outcomes[0].status == "open" and open_.outcomes[0].needed == 3
    assert open_.charter.vouches_required == 2
    closed = run([m], votes, now=T + 100 + VOTING_WINDOW, applications=SIX, vouches=P_VOUCHES)
    assert closed.outcomes[0].status == "rejected" and closed.charter.vouches_required == 2
    # A late yes (outside the window) changes nothing.
    late = [*votes, ballot("P", "m", T + 100 + VOTING_WINDOW)]
    again = run([m], late, now=T + 200 + VOTING_WINDOW, applications=SIX, vouches=P_VOUCHES)
    assert again.outcomes[0].status == "rejected" and again.charter.vouches_required == 2
    hopeless = run(
        [m], [*votes, ballot("P", "m", T + 130, "no")], now=T + 200,
        applications=SIX, vouches=P_VOUCHES,
    )  # fmt: skip
    assert hopeless.outcomes[0].status == "rejected"


def test_example_3_a_removed_member_loses_membership_and_its_vouches() -> None:
    applications = [*SIX, apply("Q", T + 5)]
    vouches = [*P_VOUCHES, vouch("A", "Q", T + 20), vouch("P", "Q", T + 20)]
    m = remove("m", "F", T + 100, "P")
    votes = [ballot("A", "m", T + 150), ballot("B", "m", T + 160)]
    before = run([m], votes, now=T + 155, applications=applications, vouches=vouches)
    assert {"P", "Q"} <= set(before.membership.members)
    after = run([m], votes, now=T + 200, applications=applications, vouches=vouches)
    assert after.outcomes[0].adopted_at == T + 160 and after.removed == {"P": T + 160}
    assert "P" not in after.membership.members and "Q" not in after.membership.members
    assert after.membership.applicants["Q"].vouchers == ("A",)
    # P re-applies: the old vouches for it are spent; new ones admit it again.
    back = [*applications, apply("P", T + 500, seq=2)]
    spent = run([m], votes, now=T + 600, applications=back, vouches=vouches)
    assert "P" not in spent.membership.members and spent.membership.applicants["P"].vouchers == ()
    fresh = [*vouches, vouch("F", "P", T + 550), vouch("B", "P", T + 550)]
    readmitted = run([m], votes, now=T + 600, applications=back, vouches=fresh)
    assert readmitted.membership.members["P"] == T + 550


def test_a_removed_founder_is_no_founder_again() -> None:
    m = remove("m", "F", T + 100, "B")
    result = run([m], [ballot("A", "m", T + 110)], now=T + 200)
    assert "B" not in result.membership.founders and "B" not in result.membership.members


def test_example_4_the_electorate_is_fixed_when_the_motion_is_made() -> None:
    m = amend("m", "A", T + 100, name="Makers")
    vouches = [vouch("F", "P", T + 150), vouch("A", "P", T + 150)]
    result = run([m], [ballot("P", "m", T + 200)], now=T + 300, applications=SIX, vouches=vouches)
    assert "P" in result.membership.members
    assert result.outcomes[0].electorate == ("A", "B", "F")
    assert result.outcomes[0].yes == ("A",) and result.charter.name == "Guild"


def test_example_5_the_amendment_adopted_later_wins() -> None:
    m1 = amend("m1", "A", T + 100, name="Makers")
    m2 = amend("m2", "A", T + 200, name="Builders")
    result = run([m2, m1], [ballot("B", "m1", T + 300), ballot("B", "m2", T + 250)], now=T + 400)
    assert result.charter.name == "Makers"
    same = run([m1, m2], [ballot("B", "m1", T + 300), ballot("B", "m2", T + 300)], now=T + 400)
    assert same.charter.name == "Builders"


def test_example_6_only_the_first_vote_counts() -> None:
    m1 = amend("m1", "A", T + 100, name="Makers")
    votes = [ballot("B", "m1", T + 150, "no", 1), ballot("B", "m1", T + 160, "yes", 2)]
    result = run([m1], votes, now=T + 200)
    assert result.outcomes[0].no == ("B",) and result.outcomes[0].status == "open"
    # And the proposer's own vote adds nothing: the motion is already its yes.
    mine = run([m1], [ballot("A", "m1", T + 150)], now=T + 200)
    assert mine.outcomes[0].yes == ("A",) and mine.charter.name == "Guild"


def test_example_7_an_adopted_threshold_applies_from_its_adoption() -> None:
    applications = [apply("A"), apply("B"), apply("R", T + 50)]
    vouches = [vouch("F", "R", T + 50), vouch("A", "R", T + 50)]
    m1 = amend("m1", "A", T + 100, vouches_required=3)
    votes = [ballot("B", "m1", T + 150), ballot("F", "m1", T + 200)]
    early = run([m1], votes, now=T + 150, applications=applications, vouches=vouches)
    assert "R" in early.membership.members
    late = run([m1], votes, now=T + 300, applications=applications, vouches=vouches)
    assert "R" not in late.membership.members and late.charter.vouches_required == 3
    m2 = amend("m2", "F", T + 300, name="Later")
    later = run([m1, m2], votes, now=T + 400, applications=applications, vouches=vouches)
    assert later.outcomes[1].electorate == ("A", "B", "F")


def test_motions_without_effect_say_why() -> None:
    cases = {
        "malformed_motion": Motion("x", "A", G, T + 100, "amend", {}),
        "invalid_charter": amend("y", "A", T + 100, vouches_required=4),
        "not_a_member": amend("z", "P", T + 100, name="Mine"),
    }
    for reason, motion in cases.items():
        result = run([motion], [ballot("B", motion.id, T + 110), ballot("F", motion.id, T + 110)],
                     now=T + 200)  # fmt: skip
        assert (result.outcomes[0].status, result.outcomes[0].reason) == ("no_effect", reason)
        assert result.charter == CHARTER
    outsider = run([remove("r", "A", T + 100, "P")], [ballot("B", "r", T + 110)], now=T + 200)
    assert outsider.outcomes[0].reason == "not_a_member"


# --- every order of arrival -------------------------------------------------------------


@dataclass
class World:
    applications: list[Application]
    vouches: list[Vouch]
    motions: list[Motion]
    ballots: list[Ballot]
    now: int


PEOPLE = ("F", "A", "B", "P", "Q")


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """Members F, A, B; applicants P and Q with random vouches; up to 5 motions (amendments of
    every field, removals, some malformed) and random votes, duplicates included."""
    applications = [apply("A"), apply("B"), apply("P", T + 5), apply("Q", T + 5)]
    if draw(st.booleans()):
        applications.append(apply("P", T + 400, seq=2))  # re-applies after any removal
    person = st.sampled_from(PEOPLE)
    vouches = [
        vouch(a, s, T + 10 * day)
        for a, s, day in draw(st.lists(st.tuples(person, person, st.integers(0, 30)), max_size=8))
    ]
    change = st.sampled_from(
        [
            {"name": "One"},
            {"name": "Two"},
            {"purpose": "New"},
            {"vouches_required": 1},
            {"vouches_required": 3},
            {"vouches_required": 9},
            {"listing": {"description": "Listed"}},
            {"unlist": "yes"},
            {},
        ]
    )
    motions: list[Motion] = []
    for i, (author, day, kind, changes, member) in enumerate(
        draw(
            st.lists(
                st.tuples(person, st.integers(0, 40), st.booleans(), change, person),
                max_size=5,
            )
        )
    ):
        at = T + 100 + day * 10
        if kind:
            motions.append(Motion(f"m{i}", author, G, at, "amend", changes))
        else:
            motions.append(Motion(f"m{i}", author, G, at, "remove", None, member))
    ballots: list[Ballot] = []
    seqs: dict[str, int] = {}
    for voter, which, delay, choice in draw(
        st.lists(
            st.tuples(
                person, st.integers(0, 4), st.integers(0, 50), st.sampled_from(["yes", "no"])
            ),
            max_size=14,
        )
    ):
        if which < len(motions):
            seqs[voter] = seqs.get(voter, 0) + 1
            at = motions[which].created_at + delay * 10
            ballots.append(ballot(voter, motions[which].id, at, choice, seqs[voter]))
    return World(applications, vouches, motions, ballots, T + draw(st.integers(0, 1000)))


@settings(max_examples=150, deadline=None)
@given(world=worlds(), data=st.data())
def test_charter_and_membership_are_the_same_in_any_order(
    world: World, data: st.DataObject
) -> None:
    def derive(
        apps: list[Application], vs: list[Vouch], ms: list[Motion], bs: list[Ballot]
    ) -> Governance:
        return govern(CHARTER, apps, vs, ms, bs, now=world.now)

    one = derive(world.applications, world.vouches, world.motions, world.ballots)
    two = derive(
        data.draw(st.permutations(world.applications)),
        data.draw(st.permutations(world.vouches)),
        data.draw(st.permutations(world.motions)),
        data.draw(st.permutations(world.ballots)),
    )
    assert one == two  # charter, removals, outcomes, members, applicants, capacity
    # Sound: an adopted motion had more than half of its electorate, and no one removed is
    # a member unless it re-applied after the removal.
    for outcome in one.outcomes:
        if outcome.status == "adopted":
            assert 2 * len(outcome.yes) > len(outcome.electorate)
            assert set(outcome.yes) <= set(outcome.electorate)
    for did, at in one.removed.items():
        if did in one.membership.members:
            assert any(a.author == did and a.created_at > at for a in world.applications)


def test_a_guilds_motions_and_votes_are_read_by_id_alone(tmp_path: Path) -> None:
    """`derive.motions` and `derive.ballots` read the guild's own records, by id, through the
    references' index: never every motion and vote held. A chain frozen by a fork proof
    (SPEC §7.5) keeps nothing past its freeze, as for every served read."""
    f, a, x = (Author(n, T) for n in (51, 52, 53))
    ours, theirs = "a" * 64, "b" * 64
    mine = f.next("motion", {"guild": ours, "action": "remove", "member": x.did})
    f.next("vote", {"guild": ours, "motion": mine.id, "choice": "yes"})
    for _ in range(3):  # another guild's motions and votes, which no read of ours touches
        other = a.next("motion", {"guild": theirs, "action": "remove", "member": x.did})
        a.next("vote", {"guild": theirs, "motion": other.id, "choice": "no"})
    x.next("vote", {"guild": ours, "motion": mine.id, "choice": "no"})
    stray = x.next("motion", {"guild": ours, "action": "amend", "changes": {"name": "X"}})
    store = Store(tmp_path / "node.db")
    try:
        store.commit([*f.records, *a.records, *x.records])
        forged = x.next("vote", {"guild": ours, "motion": mine.id, "choice": "yes"}, seq=2)
        store.commit([], [ForkProof(x.did, 2, stray.canonical, forged.canonical)])
        queries: list[str] = []
        store.db.conn.set_trace_callback(queries.append)
        motions = derive.motions(store, ours)
        ballots = derive.ballots(store, ours)
        store.db.conn.set_trace_callback(None)
    finally:
        store.close()
    assert [m.id for m in motions] == [mine.id]  # x's motion is past its freeze
    assert sorted(b.author for b in ballots) == sorted([f.did, x.did])
    reads = [q for q in queries if "FROM records" in q and "refs" not in q]
    assert len(reads) == 3 and all("WHERE id = " in q for q in reads), queries
