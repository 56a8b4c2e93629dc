"""Which mediator's outcome counts, and what it changes (guildnode/disputes.py; SPEC §17.4,
§17.5, §12.4). Pure values in: the public view of disputes, outcomes, parties and guild
membership."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode.disputes import (
    Opening,
    Outcome,
    counting,
    decided_payments,
    outcome_problem,
    voided_feedback,
    why_not,
)
from guildnode.feedback import Counted, Receipt, as_vouches, payment_record

from .builders import DAY, FREE, O1, ORG, STRANGER, T0, rid

MIA = "did:key:z6MkMediator"
NED = "did:key:z6MkSecondMediator"
LEO = "did:key:z6MkLateMediator"  # a member only from T0
GUILD = rid("guild")
PARTIES = {O1: frozenset({ORG, FREE})}
DISPUTE = rid("dispute")
OPENINGS = {DISPUTE: Opening(DISPUTE, FREE, frozenset({FREE, ORG, MIA, NED, LEO}))}
MEMBERS = {ORG: T0 - 30 * DAY, FREE: T0 - 30 * DAY, MIA: T0 - 30 * DAY, NED: T0 - 30 * DAY,
           LEO: T0}  # fmt: skip


def member_since(guild: str, did: str) -> int | None:
    return MEMBERS.get(did) if guild == GUILD else None


def outcome(
    label: str,
    author: str = MIA,
    *,
    at: int = T0,
    payment: str | None = "unpaid",
    void: frozenset[str] = frozenset(),
    dispute: str = DISPUTE,
    guild: str = GUILD,
) -> Outcome:
    return Outcome(rid(label), author, at, dispute, O1, guild, "found", payment, void)


def decide(*outcomes: Outcome) -> dict[str, Outcome]:
    return counting(outcomes, OPENINGS, PARTIES, member_since)


def test_a_qualified_mediators_outcome_counts() -> None:
    found = outcome("o")
    assert decide(found) == {O1: found}
    assert decided_payments(decide(found)) == {O1: "unpaid"}


def test_an_outcome_by_a_non_mediator_has_no_effect() -> None:
    # STRANGER is no recipient of the dispute; ORG is a recipient, but a party.
    for author, code in ((STRANGER, "not_a_mediator"), (ORG, "mediator_not_qualified")):
        stray = outcome("stray", author)
        assert decide(stray) == {}
        assert outcome_problem(stray, OPENINGS, PARTIES, member_since)[0] == code


def test_a_mediator_who_is_no_member_of_the_guild_has_no_effect() -> None:
    assert decide(outcome("other guild", guild=rid("elsewhere"))) == {}
    early = outcome("before joining", LEO, at=T0 - 1)  # decided before it was a member
    assert outcome_problem(early, OPENINGS, PARTIES, member_since) == (
        "mediator_not_qualified",
        f"The mediator ({LEO}) is not a member of the dispute's guild.",
    )
    assert decide(outcome("after joining", LEO, at=T0)) != {}


def test_a_dispute_by_a_stranger_makes_no_outcome_count() -> None:
    forged = rid("forged")
    openings = {forged: Opening(forged, STRANGER, frozenset({STRANGER, ORG, FREE, MIA}))}
    assert counting([outcome("o", dispute=forged)], openings, PARTIES, member_since) == {}


def test_only_the_first_outcome_on_a_contract_counts() -> None:
    first, again, other = outcome("a", at=T0), outcome("b", at=T0 + 1), outcome("c", NED, at=T0 + 2)
    assert decide(other, again, first) == {O1: first}
    decided = decide(first, again, other)
    assert why_not(again, decided, OPENINGS, PARTIES, member_since)[0] == "already_decided"
    assert why_not(other, decided, OPENINGS, PARTIES, member_since)[0] == "already_decided"
    # A first outcome that does not count does not stop a later one.
    stray = outcome("stray", STRANGER, at=T0 - 1)
    assert decide(stray, again) == {O1: again}


def test_void_feedback_may_name_only_parties() -> None:
    bad = outcome("bad", void=frozenset({STRANGER}))
    assert outcome_problem(bad, OPENINGS, PARTIES, member_since)[0] == "invalid_outcome"


@settings(max_examples=50, deadline=None)
@given(st.permutations([outcome("a", at=T0), outcome("b", NED, at=T0), outcome("c", at=T0 - 5)]))
def test_the_outcome_that_counts_is_independent_of_arrival_order(order: list[Outcome]) -> None:
    assert decide(*order) == {O1: outcome("c", at=T0 - 5)}


def receipt(label: str, author: str, payment: str) -> Receipt:
    body = {"contract": O1, "organisation": ORG, "freelancer": FREE, "outcome": "completed",
            "payment": payment}  # fmt: skip
    return Receipt(rid(label), author, T0, body)


def test_an_outcome_replaces_what_the_receipts_say_in_the_payment_record() -> None:
    # Northwind says it paid on time; Fay never confirmed: disputed, until a mediator finds.
    receipts = [receipt("r1", ORG, "on_time"), receipt("r2", FREE, "unpaid")]
    assert payment_record(receipts, PARTIES)[ORG]["disputed"] == 1
    paid = decided_payments(decide(outcome("o", payment="on_time")))
    assert payment_record(receipts, PARTIES, paid)[ORG] == {
        "on_time": 1, "late": 0, "unpaid": 0, "disputed": 0
    }  # fmt: skip
    # Agreed none_due (cancelled before approval) becomes unpaid on such a finding...
    nothing = [receipt("n1", ORG, "none_due"), receipt("n2", FREE, "none_due")]
    assert payment_record(nothing, PARTIES) == {}
    unpaid = decided_payments(decide(outcome("o")))
    assert payment_record(nothing, PARTIES, unpaid)[ORG]["unpaid"] == 1
    # ... and an outcome without a payment finding changes nothing.
    words = decided_payments(decide(outcome("o", payment=None)))
    assert payment_record(receipts, PARTIES, words)[ORG]["disputed"] == 1


def test_an_outcome_voids_the_trust_effect_of_a_partys_feedback() -> None:
    counted = [
        Counted(rid("f1"), rid("c1"), O1, ORG, FREE, 3, ("python",), T0, {}),
        Counted(rid("f2"), rid("c2"), O1, FREE, ORG, 3, (), T0, {}),
    ]
    assert {v.author for v in as_vouches(counted)} == {ORG, FREE}
    voided = voided_feedback(decide(outcome("o", void=frozenset({ORG}))))
    assert {v.author for v in as_vouches(counted, voided)} == {FREE}
