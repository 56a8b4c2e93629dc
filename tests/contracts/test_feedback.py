"""Blind mutual feedback, receipts and payment records (guildnode/feedback.py; SPEC §12.4)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode.feedback import (
    Commit,
    Counted,
    Receipt,
    Reveal,
    as_vouches,
    commit_problem,
    commitment,
    completed,
    counting,
    paired,
    payment_record,
    reveal_problem,
    vouch_id,
)
from guildnode.trust import VouchTable

from .builders import DAY, FREE, HOUR, O1, ORG, STRANGER, T0, rid

PARTIES = {O1: frozenset({ORG, FREE})}


# The contracts the receipts here name, each a held offer between Northwind and Fay.
EVERY = {c: frozenset({ORG, FREE}) for c in (O1, *map(rid, ("other", "c", "d", "e", "f")))}
WINDOW = 14 * DAY


def body(author: str = ORG, rating: int = 3, **extra: Any) -> dict[str, Any]:
    subject = FREE if author == ORG else ORG
    found = {"contract": O1, "subject": subject, "rating": rating, "salt": "A" * 22}
    found.update(extra)
    return found


def commit(label: str, author: str, at: int, feedback: dict[str, Any]) -> Commit:
    return Commit(
        rid(label), author, at, feedback["contract"], feedback["subject"], commitment(feedback)
    )


def reveal(label: str, author: str, at: int, feedback: dict[str, Any]) -> Reveal:
    return Reveal(rid(label), author, at, feedback)


def receipt(
    label: str,
    author: str,
    *,
    outcome: str = "completed",
    payment: str = "on_time",
    contract: str = O1,
    organisation: str = ORG,
    freelancer: str = FREE,
    at: int = T0,
) -> Receipt:
    return Receipt(
        rid(label),
        author,
        at,
        {
            "contract": contract,
            "organisation": organisation,
            "freelancer": freelancer,
            "outcome": outcome,
            "payment": payment,
        },
    )


MINE, THEIRS = body(ORG, skills=["python"]), body(FREE, rating=2)


def test_commitment_is_sha256_of_canonical_bytes() -> None:
    b = body(statement="Great work", dimensions={"quality": 3})
    expected = json.dumps(b, sort_keys=True, separators=(",", ":")).encode()
    assert commitment(b) == hashlib.sha256(expected).hexdigest()
    assert commitment(b) != commitment({**b, "salt": "B" * 22})


def test_reveal_counts_once_both_committed() -> None:
    commits = [commit("c-org", ORG, T0, MINE), commit("c-free", FREE, T0 + HOUR, THEIRS)]
    reveals = [reveal("r-org", ORG, T0 + HOUR, MINE), reveal("r-free", FREE, T0 + HOUR, THEIRS)]
    counted = counting(commits, reveals, PARTIES)
    assert {(c.author, c.subject, c.rating, c.skills) for c in counted} == {
        (ORG, FREE, 3, ("python",)),
        (FREE, ORG, 2, ()),
    }
    assert [c.id for c in counted] == sorted([rid("r-org"), rid("r-free")])  # same second
    mine = next(c for c in counted if c.author == ORG)
    assert mine.commit == rid("c-org") and mine.contract == O1


def test_reveal_too_early_before_the_other_commits() -> None:
    commits = [commit("c-org", ORG, T0, MINE)]
    early = reveal("r1", ORG, T0 + WINDOW - 1, MINE)
    assert counting(commits, [early], PARTIES) == []
    problem = reveal_problem(commits[0], MINE, commits, [], now=T0 + WINDOW - 1)
    assert problem is not None and problem[0] == "too_early"
    # The other party's commit dated after the reveal does not help it.
    later_commit = commit("c-free", FREE, T0 + WINDOW - 1 + 1, THEIRS)
    assert counting([*commits, later_commit], [early], PARTIES) == []
    # 14 days after the commit, the reveal counts without the other's commit.
    on_time = reveal("r2", ORG, T0 + WINDOW, MINE)
    assert [c.id for c in counting(commits, [early, on_time], PARTIES)] == [rid("r2")]
    assert reveal_problem(commits[0], MINE, commits, [early], now=T0 + WINDOW) is None


def test_reveal_same_second_as_the_other_commit_counts() -> None:
    commits = [commit("c-org", ORG, T0, MINE), commit("c-free", FREE, T0 + HOUR, THEIRS)]
    assert reveal_problem(commits[1], THEIRS, commits, [], now=T0 + HOUR) is None
    assert len(counting(commits, [reveal("r", FREE, T0 + HOUR, THEIRS)], PARTIES)) == 1


def test_mismatching_reveal_does_not_count_but_a_later_matching_one_does() -> None:
    commits = [commit("c-org", ORG, T0, MINE), commit("c-free", FREE, T0, THEIRS)]
    changed = {**MINE, "rating": 1}
    reveals = [reveal("bad", ORG, T0 + HOUR, changed), reveal("good", ORG, T0 + 2 * HOUR, MINE)]
    assert [c.id for c in counting(commits, reveals, PARTIES)] == [rid("good")]
    problem = reveal_problem(commits[0], changed, commits, [], now=T0 + HOUR)
    assert problem is not None and problem[0] == "commitment_mismatch"
    # The same body with another subject does not match either.
    other = {**MINE, "subject": STRANGER}
    assert counting(commits, [reveal("x", ORG, T0 + HOUR, other)], PARTIES) == []


def test_only_the_first_commit_and_the_first_counting_reveal() -> None:
    second_body = {**MINE, "rating": 2}
    commits = [
        commit("c-org", ORG, T0, MINE),
        commit("c-org-2", ORG, T0 + 1, second_body),
        commit("c-free", FREE, T0, THEIRS),
    ]
    reveals = [
        reveal("r-second", ORG, T0 + HOUR, second_body),  # opens the second commit: no
        reveal("r1", ORG, T0 + 2 * HOUR, MINE),
        reveal("r2", ORG, T0 + 3 * HOUR, MINE),  # the same feedback again: no
    ]
    assert [c.id for c in counting(commits, reveals, PARTIES)] == [rid("r1")]
    problem = reveal_problem(commits[0], MINE, commits, reveals[:2], now=T0 + 4 * HOUR)
    assert problem is not None and problem[0] == "already_revealed"


def test_commits_that_do_not_count() -> None:
    stranger_body = {**MINE, "subject": FREE}
    cases = [
        # unknown parties
        ([commit("c", ORG, T0, MINE)], [reveal("r", ORG, T0 + WINDOW, MINE)], {}),
        # the author is not a party
        (
            [commit("c", STRANGER, T0, stranger_body)],
            [reveal("r", STRANGER, T0 + WINDOW, stranger_body)],
            PARTIES,
        ),
        # the subject is not the other party
        (
            [commit("c", ORG, T0, {**MINE, "subject": ORG})],
            [reveal("r", ORG, T0 + WINDOW, {**MINE, "subject": ORG})],
            PARTIES,
        ),
    ]
    for commits, reveals, parties in cases:
        assert counting(commits, reveals, parties) == []


def test_reveal_before_its_commit_does_not_count() -> None:
    commits = [commit("c-org", ORG, T0, MINE), commit("c-free", FREE, T0, THEIRS)]
    assert counting(commits, [reveal("r", ORG, T0 - 1, MINE)], PARTIES) == []


def test_publishing_guards() -> None:
    assert commit_problem(None, [], author=ORG) == (
        "not_ended",
        "Feedback is given once the contract has ended.",
    )
    assert commit_problem(T0, [], author=ORG) is None
    mine = commit("c-org", ORG, T0, MINE)
    refused = commit_problem(T0, [mine], author=ORG)
    assert refused is not None and refused[0] == "already_committed"
    assert commit_problem(T0, [mine], author=FREE) is None
    assert commit_problem(T0, [mine], author=ORG, contract=rid("other")) is None
    missing = reveal_problem(None, MINE, [], [], now=T0)
    assert missing is not None and missing[0] == "not_committed"
    # A reveal dated before its commitment.
    early = reveal_problem(mine, MINE, [mine], [], now=T0 - 1)
    assert early is not None and early[0] == "not_committed"


def _counted(rating: int, skills: tuple[str, ...] = ()) -> Counted:
    b = body(rating=rating, skills=list(skills))
    return Counted(rid("r"), rid("c"), O1, ORG, FREE, rating, skills, T0, b)


def test_vouches_per_skill_and_general() -> None:
    assert as_vouches([_counted(1, ("python",)), _counted(1)]) == []
    general = as_vouches([_counted(2)])
    assert [(v.context, v.level, v.author, v.subject, v.evidence) for v in general] == [
        (None, 2, ORG, FREE, O1)
    ]
    assert general[0].id == hashlib.sha256(f"{rid('r')}:".encode()).hexdigest()
    skilled = as_vouches([_counted(3, ("python", "design"))])
    assert sorted(v.context or "" for v in skilled) == ["design", "python"]
    for v in skilled:
        assert v.id == vouch_id(rid("r"), v.context)
        assert v.id == hashlib.sha256(f"{rid('r')}:{v.context}".encode()).hexdigest()
        assert (v.level, v.created_at) == (3, T0)
    assert len({v.id for v in skilled}) == 2


def test_completed_needs_both_receipts_naming_the_two() -> None:
    both = [receipt("ro", ORG), receipt("rf", FREE)]
    assert completed(both, EVERY) == {O1: frozenset({ORG, FREE})}
    assert completed(both[:1], EVERY) == {}
    assert completed([receipt("ro", ORG), receipt("rf", FREE, outcome="cancelled")], EVERY) == {}
    assert completed([receipt("ro", ORG), receipt("rf", FREE, freelancer=STRANGER)], EVERY) == {}
    # The author must be one of the parties it names.
    assert completed([receipt("ro", ORG), receipt("rs", STRANGER)], EVERY) == {}
    assert completed([receipt("ro", ORG), receipt("rs", STRANGER), receipt("rf", FREE)], EVERY) == {
        O1: frozenset({ORG, FREE})
    }


def test_evidence_bonus_only_with_both_receipts() -> None:
    vouches = as_vouches([_counted(3)])
    with_both = VouchTable.build(
        vouches, completed=completed([receipt("ro", ORG), receipt("rf", FREE)], EVERY)
    )
    with_one = VouchTable.build(vouches, completed=completed([receipt("ro", ORG)], EVERY))
    assert list(with_both.evidence) == [True]
    assert list(with_one.evidence) == [False]


def test_payment_record() -> None:
    other = rid("other")
    receipts = [
        receipt("a-o", ORG, payment="on_time"),
        receipt("a-f", FREE, payment="on_time"),
        receipt("b-o", ORG, payment="on_time", contract=other),
        receipt("b-f", FREE, payment="late", contract=other),  # they disagree
        receipt("c-o", ORG, payment="none_due", contract=rid("c")),
        receipt("c-f", FREE, payment="none_due", contract=rid("c")),
        receipt("d-o", ORG, payment="unpaid", contract=rid("d")),  # one receipt only
        receipt("e-o", ORG, payment="late", contract=rid("e")),
        receipt("e-f", FREE, payment="late", contract=rid("e")),
        receipt("f-o", ORG, payment="unpaid", contract=rid("f"), outcome="cancelled"),
        receipt("f-f", FREE, payment="unpaid", contract=rid("f"), outcome="cancelled"),
    ]
    assert payment_record(receipts, EVERY) == {
        ORG: {"on_time": 1, "late": 1, "unpaid": 1, "disputed": 1}
    }
    assert payment_record(receipts[4:6], EVERY) == {}


def test_first_receipt_of_each_party_counts() -> None:
    receipts = [
        receipt("o1", ORG, payment="on_time", at=T0),
        receipt("o2", ORG, payment="late", at=T0 + 1),
        receipt("f1", FREE, payment="on_time", at=T0),
    ]
    assert payment_record(receipts, EVERY)[ORG]["on_time"] == 1


COMMITS = [
    commit("c-org", ORG, T0, MINE),
    commit("c-org-2", ORG, T0, {**MINE, "rating": 1}),
    commit("c-free", FREE, T0 + DAY, THEIRS),
    commit("c-stranger", STRANGER, T0, {**MINE, "subject": FREE}),
]
REVEALS = [
    reveal("r-early", ORG, T0 + HOUR, MINE),
    reveal("r-org", ORG, T0 + DAY, MINE),
    reveal("r-org-again", ORG, T0 + DAY, MINE),
    reveal("r-free", FREE, T0 + DAY, THEIRS),
    reveal("r-bad", FREE, T0 + 2 * DAY, {**THEIRS, "rating": 3}),
    reveal("r-late", FREE, T0 + 20 * DAY, THEIRS),
]


@settings(max_examples=100, deadline=None)
@given(st.permutations(COMMITS), st.permutations(REVEALS), st.permutations(REVEALS[:3]))
def test_counting_does_not_depend_on_order(
    commits: list[Commit], reveals: list[Reveal], extra: list[Reveal]
) -> None:
    expected = counting(COMMITS, REVEALS, PARTIES)
    assert counting(commits, [*reveals, *extra], PARTIES) == expected
    assert as_vouches(counting(commits, reveals, PARTIES)) == as_vouches(expected)
    receipts = [receipt("ro", ORG), receipt("rf", FREE), receipt("rs", STRANGER)]
    assert completed(reversed(receipts), EVERY) == completed(receipts, EVERY)
    assert payment_record(reversed(receipts), EVERY) == payment_record(receipts, EVERY)


def test_a_commitment_made_after_the_other_side_revealed_does_not_count() -> None:
    # Northwind waits out the window and reveals; Fay reads it, then commits and reveals.
    mine = commit("c-org", ORG, T0, MINE)
    out = reveal("r-org", ORG, T0 + WINDOW, MINE)
    retaliation = body(FREE, rating=1)
    late = commit("c-free", FREE, T0 + WINDOW + HOUR, retaliation)
    answer = reveal("r-free", FREE, T0 + WINDOW + 2 * HOUR, retaliation)
    counted = counting([mine, late], [out, answer], PARTIES)
    assert [(c.author, c.rating) for c in counted] == [(ORG, 3)]
    problem = reveal_problem(late, retaliation, [mine, late], [out], now=T0 + WINDOW + 2 * HOUR)
    assert problem is not None and problem[0] == "committed_after_reveal"
    # Committed no later than the second of the reveal, it counts (a reveal is often set
    # off by the very commitment that arrives in its second).
    blind = commit("c-free", FREE, T0 + WINDOW, retaliation)
    counted = counting([mine, blind], [out, answer], PARTIES)
    assert sorted((c.author, c.rating) for c in counted) == [(FREE, 1), (ORG, 3)]


def test_receipts_pair_only_between_the_contracts_public_parties() -> None:
    real = [receipt("ro", ORG), receipt("rf", FREE)]
    # Two strangers publish receipts on Northwind's and Fay's contract, naming themselves
    # (whatever their DIDs sort like): nothing of the real pair is displaced.
    fake = [
        receipt("x", "did:key:z6MkZZZ", organisation="did:key:z6MkZZZ", freelancer=STRANGER),
        receipt("y", STRANGER, organisation="did:key:z6MkZZZ", freelancer=STRANGER),
    ]
    for receipts in (real + fake, fake + real):
        assert completed(receipts, PARTIES) == {O1: frozenset({ORG, FREE})}
        assert payment_record(receipts, PARTIES) == {
            ORG: {"on_time": 1, "late": 0, "unpaid": 0, "disputed": 0}
        }
    # Receipts on a contract that is no held offer between those two count for nothing.
    made_up = [
        receipt("mo", ORG, contract=rid("made up")),
        receipt("mf", FREE, contract=rid("made up")),
    ]
    assert completed(made_up, PARTIES) == {} and payment_record(made_up, PARTIES) == {}
    assert paired(real, PARTIES) == {O1: frozenset({ORG, FREE})}
    assert paired(real[:1], PARTIES) == {}
