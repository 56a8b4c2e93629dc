"""Contract state derived from opened records (guildnode/contracts/; SPEC §12.3).

Every row of `TRANSITIONS` is driven by a scenario, every refusal code is produced both by
`refusal` (before publishing) and by the derivation (the record on the timeline, no effect),
and time only ever passes through `now`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode.contracts import (
    AUTO_APPROVE_DAYS,
    DEFAULT_RESPOND_DAYS,
    MAX_CONTRACT_DAYS,
    PAY_ON_TIME_DAYS,
    STATES,
    TRANSITIONS,
    Contract,
    Event,
    derive,
    pay_by,
    payment_status,
    proposal_problem,
    proposals,
    refusal,
)
from guildnode.protocol import format_timestamp

from .builders import (
    BRIEF,
    DAY,
    FREE,
    HOUR,
    O1,
    ORG,
    STRANGER,
    T0,
    accept,
    active,
    approved,
    brief,
    cancel,
    complete,
    decline,
    milestone,
    offer,
    one,
    payment,
    rid,
)

C1 = rid("c1")
C2 = rid("c2")
SUBMITTED = T0 + DAY


def _counter(label: str, answers: str, at: int, author: str, **changes: object) -> Event:
    return offer(label, at=at, author=author, answers=answers, **changes)


def _with(events: list[Event], event: Event) -> tuple[list[Event], int]:
    return [*events, event], event.created_at


# -- every row of the table -------------------------------------------------------------

# (from, event) → (records, the moment the event happens)
Scenario = Callable[[], tuple[list[Event], int]]
c1_by_freelancer = _counter("c1", O1, T0 + HOUR, FREE, price={"amount": 300, "currency": "EUR"})
ended = [*approved(), complete("done", at=T0 + 3 * DAY)]
cancelled = [*active(), cancel("stop", at=T0 + DAY)]
SCENARIOS: dict[tuple[str | None, str], Scenario] = {
    (None, "offer"): lambda: ([offer()], T0),
    ("offered", "counter"): lambda: _with([offer()], c1_by_freelancer),
    ("countered", "counter"): lambda: _with(
        [offer(), c1_by_freelancer], _counter("c2", C1, T0 + 2 * HOUR, ORG)
    ),
    ("offered", "accept"): lambda: _with([offer()], accept("a", O1, at=T0 + HOUR)),
    ("countered", "accept"): lambda: _with(
        [offer(), c1_by_freelancer], accept("a", C1, at=T0 + 2 * HOUR, author=ORG)
    ),
    ("offered", "decline"): lambda: _with([offer()], decline("d", O1, at=T0 + HOUR)),
    ("countered", "decline"): lambda: _with(
        [offer(), c1_by_freelancer], decline("d", C1, at=T0 + 2 * HOUR, author=ORG)
    ),
    ("offered", "expire"): lambda: ([offer()], T0 + DEFAULT_RESPOND_DAYS * DAY),
    ("countered", "expire"): lambda: (
        [offer(), _counter("c1", O1, T0 + HOUR, FREE, expires=T0 + 2 * DAY)],
        T0 + 2 * DAY,
    ),
    ("active", "submit"): lambda: _with(active(), milestone("s", 0, "submitted", at=SUBMITTED)),
    ("active", "approve"): lambda: _with(
        [*active(), milestone("s", 0, "submitted", at=SUBMITTED)],
        milestone("p", 0, "approved", at=SUBMITTED + DAY),
    ),
    ("active", "auto_approve"): lambda: (
        [*active(), milestone("s", 0, "submitted", at=SUBMITTED)],
        SUBMITTED + AUTO_APPROVE_DAYS * DAY,
    ),
    ("active", "paid"): lambda: _with(approved(), payment("pay", 0, "paid", at=T0 + 3 * DAY)),
    ("completed", "paid"): lambda: _with(ended, payment("pay", 0, "paid", at=T0 + 4 * DAY)),
    ("cancelled", "paid"): lambda: _with(cancelled, payment("pay", 0, "paid", at=T0 + 2 * DAY)),
    ("active", "received"): lambda: _with(
        approved(), payment("rcv", 0, "received", at=T0 + 3 * DAY)
    ),
    ("completed", "received"): lambda: _with(ended, payment("rcv", 0, "received", at=T0 + 4 * DAY)),
    ("cancelled", "received"): lambda: _with(
        cancelled, payment("rcv", 0, "received", at=T0 + 2 * DAY)
    ),
    ("active", "complete"): lambda: _with(approved(), complete("c", at=T0 + 3 * DAY)),
    ("active", "cancel"): lambda: _with(active(), cancel("x", at=T0 + DAY)),
}


def test_every_row_of_the_table_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(TRANSITIONS)
    assert set(TRANSITIONS.values()) <= set(STATES)


@pytest.mark.parametrize("row", sorted(SCENARIOS, key=str), ids=lambda r: f"{r[0]}-{r[1]}")
def test_row(row: tuple[str | None, str]) -> None:
    source, name = row
    events, at = SCENARIOS[row]()
    before = derive(events, briefs={}, now=at - 1).get(O1)
    assert (before.state if before else None) == source
    after = one(events, at)
    assert after.state == TRANSITIONS[row]
    entry = [e for e in after.timeline if e.event == name][-1]
    assert entry.at == at
    assert entry.effect and entry.problem is None
    assert all(e.effect for e in after.timeline)


# -- the whole path, and what each state shows ------------------------------------------


def test_offered_countered_active_completed() -> None:
    counter = _counter(
        "c1",
        O1,
        T0 + HOUR,
        FREE,
        price={"amount": 400, "currency": "EUR"},
        milestones=[
            {"title": "Design", "amount": 150, "due": format_timestamp(T0 + 10 * DAY)},
            {"title": "Build", "amount": 250, "due": format_timestamp(T0 + 20 * DAY)},
        ],
    )
    events = [offer(), counter]
    c = one(events, T0 + 2 * HOUR)
    assert c.state == "countered"
    assert [o.status for o in c.offers] == ["countered", "open"]
    assert c.terms["price"]["amount"] == 400
    assert c.actions(ORG, T0 + 2 * HOUR) == ["accept", "decline", "counter"]
    assert c.actions(FREE, T0 + 2 * HOUR) == []

    events.append(accept("a1", C1, at=T0 + 3 * HOUR, author=ORG))
    c = one(events, T0 + 4 * HOUR)
    assert c.state == "active"
    assert [o.status for o in c.offers] == ["countered", "accepted"]
    assert c.terms is counter.body
    assert [(m.title, m.amount, m.currency) for m in c.milestones] == [
        ("Design", 150, "EUR"),
        ("Build", 250, "EUR"),
    ]
    assert c.actions(FREE, T0 + 4 * HOUR) == [
        "submit 0",
        "received 0",
        "submit 1",
        "received 1",
        "cancel",
    ]
    assert c.actions(ORG, T0 + 4 * HOUR) == ["paid 0", "paid 1", "cancel"]

    for i, amount in enumerate((150, 250)):
        events += [
            milestone(f"s{i}", i, "submitted", at=T0 + (2 + i) * DAY),
            milestone(f"p{i}", i, "approved", at=T0 + (2 + i) * DAY + HOUR),
            payment(f"pay{i}", i, "paid", at=T0 + (3 + i) * DAY, amount=amount),
            payment(f"rcv{i}", i, "received", at=T0 + (3 + i) * DAY + HOUR),
        ]
    c = one(events, T0 + 6 * DAY)
    assert c.actions(FREE, T0 + 6 * DAY) == ["complete", "cancel"]
    events.append(complete("done", at=T0 + 6 * DAY))
    c = one(events, T0 + 7 * DAY)
    assert c.state == "completed"
    assert c.ended_at == T0 + 6 * DAY
    assert c.payment == "on_time"
    assert c.actions(FREE, T0 + 7 * DAY) == ["feedback"]
    assert c.actions(ORG, T0 + 7 * DAY) == ["feedback"]
    assert c.actions(STRANGER, T0 + 7 * DAY) == []
    assert all(e.effect for e in c.timeline)
    assert [e.at for e in c.timeline] == sorted(e.at for e in c.timeline)
    assert c.brief == BRIEF and c.organisation == ORG and c.freelancer == FREE


def test_decline_and_its_reason_on_the_timeline() -> None:
    c = one([offer(), decline("d", O1, at=T0 + HOUR)], T0 + DAY)
    assert c.state == "declined"
    assert c.offers[0].status == "declined"
    assert "busy" in c.timeline[-1].summary
    assert c.actions(FREE, T0 + DAY) == [] and c.ended_at is None


# -- time passes through `now` only -----------------------------------------------------


def test_offer_expires_at_its_respond_by() -> None:
    respond_by = T0 + DEFAULT_RESPOND_DAYS * DAY
    assert one([offer()], respond_by - 1).state == "offered"
    c = one([offer()], respond_by)
    assert c.state == "expired"
    assert c.offers[0].status == "expired"
    time_event = c.timeline[-1]
    assert (time_event.at, time_event.kind, time_event.author) == (respond_by, "expire", None)
    assert c.actions(FREE, respond_by) == []
    assert one([offer()], respond_by - 1).actions(FREE, respond_by) == []  # `now` decides


def test_envelope_expires_is_the_respond_by() -> None:
    events = [offer(expires=T0 + HOUR), accept("a", O1, at=T0 + HOUR)]
    c = one(events, T0 + DAY)
    assert c.state == "expired"
    assert c.timeline[-1].problem is not None
    assert c.timeline[-1].problem[0] == "offer_expired"
    assert one([offer(expires=T0 + HOUR)], T0 + HOUR - 1).offers[0].respond_by == T0 + HOUR


def test_milestone_approved_by_default_after_fourteen_days() -> None:
    events = [*active(), milestone("s", 0, "submitted", at=SUBMITTED)]
    due = SUBMITTED + AUTO_APPROVE_DAYS * DAY
    before = one(events, due - 1).milestones[0]
    assert before.submitted_at == SUBMITTED and before.approved_at is None
    m = one(events, due).milestones[0]
    assert (m.approved_at, m.approved_by_default) == (due, True)
    late_approval = milestone("p", 0, "approved", at=due + 1)
    c = one([*events, late_approval], due + 2)
    assert c.timeline[-1].problem is not None
    assert c.timeline[-1].problem[0] == "already_approved"
    assert c.milestones[0].approved_at == due  # the default approval stands
    # An explicit approval in time is not a default one.
    m = one([*events, milestone("p", 0, "approved", at=due - 1)], due + DAY).milestones[0]
    assert (m.approved_at, m.approved_by_default) == (due - 1, False)


def test_records_dated_after_now_do_not_count_yet() -> None:
    events = [offer(), accept("a", O1, at=T0 + HOUR)]
    assert one(events, T0 + HOUR - 1).state == "offered"
    assert derive(events, briefs={}, now=T0 - 1) == {}


# -- payment -----------------------------------------------------------------------------

APPROVED = T0 + 2 * DAY


@pytest.mark.parametrize(
    ("payments", "expected"),
    [
        ([], "unpaid"),
        ([("paid", 0), ("received", 1)], "on_time"),
        ([("paid", PAY_ON_TIME_DAYS * DAY), ("received", PAY_ON_TIME_DAYS * DAY)], "on_time"),
        ([("paid", PAY_ON_TIME_DAYS * DAY + 1), ("received", 20 * DAY)], "late"),
        ([("paid", DAY)], "unpaid"),  # never confirmed by the freelancer
        ([("received", DAY)], "unpaid"),
    ],
)
def test_payment(payments: list[tuple[str, int]], expected: str) -> None:
    events = approved(APPROVED)
    for i in (0, 1):
        for action, after in payments:
            events.append(payment(f"{action}{i}", i, action, at=APPROVED + after))
    assert one(events, APPROVED + 30 * DAY).payment == expected


def test_payment_late_when_one_milestone_is_late() -> None:
    events = [
        *approved(APPROVED),
        payment("pay0", 0, "paid", at=APPROVED + DAY),
        payment("rcv0", 0, "received", at=APPROVED + DAY),
        payment("pay1", 1, "paid", at=APPROVED + 15 * DAY),
        payment("rcv1", 1, "received", at=APPROVED + 15 * DAY),
    ]
    assert one(events, APPROVED + 30 * DAY).payment == "late"


def test_no_payment_due_without_approval() -> None:
    c = one([*active(), cancel("x", at=T0 + DAY)], T0 + 2 * DAY)
    assert (c.state, c.payment, c.ended_at) == ("cancelled", "none_due", T0 + DAY)
    assert one([offer()], T0 + 1).payment == "none_due"


def test_payment_on_time_by_default_approval() -> None:
    due = SUBMITTED + AUTO_APPROVE_DAYS * DAY
    events = [
        *active(),
        milestone("s", 0, "submitted", at=SUBMITTED),
        payment("pay", 0, "paid", at=due + PAY_ON_TIME_DAYS * DAY),
        payment("rcv", 0, "received", at=due + PAY_ON_TIME_DAYS * DAY),
    ]
    c = one(events, due + 30 * DAY)
    assert c.milestones[0].approved_by_default
    assert c.payment == "on_time"  # milestone 1 was never approved, so it is not due


# -- refusals: the same verdict before publishing and on the timeline -------------------


def check_refused(
    events: list[Event], event: Event, code: str, briefs: dict[str, object] | None = None
) -> None:
    """`refusal` returns `code` for `event` at its time, and the derivation that holds it
    shows it without effect for the same reason."""
    held = dict(briefs or {})
    now = event.created_at
    contracts = derive(events, briefs=held, now=now)  # type: ignore[arg-type]
    problem = refusal(contracts, event, now, briefs=held)  # type: ignore[arg-type]
    assert problem is not None and problem[0] == code, problem
    assert problem[1][0].isupper() and problem[1].endswith(".")
    after = derive([*events, event], briefs=held, now=now + DAY)  # type: ignore[arg-type]
    if event.kind == "offer" and "answers" not in event.body:
        assert event.id not in after  # a first offer without effect makes no contract
        return
    shown = [e for c in after.values() for e in c.timeline if e.record == event.id]
    if code == "not_a_party":  # a stranger's records are not part of the thread at all
        assert shown == []
        return
    assert len(shown) == 1 and not shown[0].effect and shown[0].problem == problem


def check_allowed(events: list[Event], event: Event) -> None:
    now = event.created_at
    assert refusal(derive(events, briefs={}, now=now), event, now) is None
    entry = next(e for e in one([*events, event], now).timeline if e.record == event.id)
    assert entry.effect


LATER = T0 + 3 * DAY


@pytest.mark.parametrize(
    ("events", "event", "code"),
    [
        ([offer()], accept("a", O1, at=T0 + 8 * DAY), "offer_expired"),
        ([offer()], _counter("c1", O1, T0 + 8 * DAY, FREE), "offer_expired"),
        ([offer()], decline("d", O1, at=T0 + 8 * DAY), "offer_expired"),
        ([offer()], accept("a", O1, at=T0 + HOUR, author=ORG), "not_addressed_to_you"),
        ([offer()], _counter("c1", O1, T0 + HOUR, ORG), "not_addressed_to_you"),
        ([offer(), c1_by_freelancer], accept("a", O1, at=T0 + DAY), "not_open"),
        ([offer(), c1_by_freelancer], _counter("c2", O1, T0 + DAY, FREE), "not_open"),
        (active(), accept("a2", O1, at=T0 + DAY), "not_open"),
        (active(), decline("d", O1, at=T0 + DAY), "not_open"),
        (active(), cancel("x", at=T0 + DAY, author=STRANGER), "not_a_party"),
        ([offer()], accept("a", O1, at=T0 + HOUR, author=STRANGER), "not_a_party"),
        ([offer()], milestone("s", 0, "submitted", at=T0 + HOUR), "not_active"),
        ([offer()], cancel("x", at=T0 + HOUR), "not_active"),
        ([offer()], payment("pay", 0, "paid", at=T0 + HOUR), "not_active"),
        (ended, cancel("x", at=LATER + DAY), "not_active"),
        (ended, complete("again", at=LATER + DAY), "not_active"),
        (cancelled, milestone("s", 0, "submitted", at=LATER), "not_active"),
        (approved()[:-1], complete("c", at=LATER), "milestones_pending"),
        (active(), milestone("s", 5, "submitted", at=LATER), "unknown_milestone"),
        (active(), milestone("p", 2, "approved", at=LATER), "unknown_milestone"),
        (active(), payment("pay", 2, "paid", at=LATER, amount=1), "unknown_milestone"),
        (active(), milestone("p", 0, "approved", at=LATER), "not_submitted"),
        (approved(), milestone("s", 0, "submitted", at=LATER), "already_submitted"),
        (approved(), milestone("p", 0, "approved", at=LATER), "already_approved"),
        (approved(), payment("pay", 0, "paid", at=LATER, amount=99), "amount_mismatch"),
        (approved(), payment("pay", 0, "paid", at=LATER, currency="USD"), "amount_mismatch"),
        (active(), milestone("s", 0, "submitted", at=LATER, author=ORG), "wrong_party"),
        (active(), milestone("p", 0, "approved", at=LATER, author=FREE), "wrong_party"),
        (active(), payment("pay", 0, "paid", at=LATER, author=FREE), "wrong_party"),
        (active(), payment("rcv", 0, "received", at=LATER, author=ORG), "wrong_party"),
        (
            [*approved(), payment("pay", 0, "paid", at=LATER)],
            payment("pay2", 0, "paid", at=LATER + 1),
            "already_paid",
        ),
        (
            [*approved(), payment("rcv", 0, "received", at=LATER)],
            payment("rcv2", 0, "received", at=LATER + 1),
            "already_received",
        ),
        (
            [offer()],
            _counter("c1", O1, T0 + HOUR, FREE, freelancer=STRANGER),
            "invalid_terms",
        ),
        ([offer()], _counter("c1", O1, T0 + HOUR, FREE, brief=rid("other")), "invalid_terms"),
        (
            [offer()],
            _counter("c1", O1, T0 + HOUR, FREE, price={"amount": 300, "currency": "ABC"}),
            "invalid_currency",
        ),
        (
            [offer()],
            _counter("c1", O1, T0 + HOUR, FREE, ends=format_timestamp(T0 + 200 * DAY)),
            "contract_too_long",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_refused(events: list[Event], event: Event, code: str) -> None:
    check_refused(events, event, code)


def _due(days: int) -> list[dict[str, object]]:
    return [
        {"title": "Design", "amount": 100, "due": format_timestamp(T0 + days * DAY)},
        {"title": "Build", "amount": 200, "due": format_timestamp(T0 + 20 * DAY)},
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"ends": format_timestamp(T0)}, "invalid_terms"),
        ({"ends": format_timestamp(T0 - DAY)}, "invalid_terms"),
        ({"ends": format_timestamp(T0 + (MAX_CONTRACT_DAYS * DAY) + 1)}, "contract_too_long"),
        ({"price": {"amount": 301, "currency": "EUR"}}, "invalid_terms"),
        ({"milestones": _due(-1)}, "invalid_terms"),
        ({"milestones": _due(31)}, "invalid_terms"),
        ({"price": {"amount": 300, "currency": "XYZ"}}, "invalid_currency"),
        ({"freelancer": ORG}, "invalid_terms"),
        ({"author": FREE}, "not_organisation"),
        ({"author": STRANGER}, "not_a_party"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_first_offer_refused(changes: dict[str, object], code: str) -> None:
    author = changes.pop("author", ORG)
    first = offer(at=T0, author=str(author), **changes)
    check_refused([], first, code)


def test_longest_contract_and_edge_dues_are_allowed() -> None:
    ends = format_timestamp(T0 + MAX_CONTRACT_DAYS * DAY)
    edges = [
        {"title": "Start", "amount": 100, "due": format_timestamp(T0)},
        {"title": "End", "amount": 200, "due": ends},
    ]
    assert refusal({}, offer(ends=ends, milestones=edges), T0) is None
    assert one([offer(ends=ends, milestones=edges)], T0).state == "offered"


def test_first_offer_must_be_on_the_organisations_brief_when_held() -> None:
    theirs = {BRIEF: brief(author=STRANGER)}
    check_refused([], offer(), "invalid_terms", briefs=theirs)  # type: ignore[arg-type]
    assert refusal({}, offer(), T0, briefs={BRIEF: brief()}) is None
    assert refusal({}, offer(), T0) is None  # brief not held: not checked
    assert derive([offer()], briefs=theirs, now=T0) == {}


def test_allowed_steps() -> None:
    check_allowed([offer()], accept("a", O1, at=T0 + DEFAULT_RESPOND_DAYS * DAY - 1))
    check_allowed(active(), payment("pay", 0, "paid", at=LATER))  # before approval: allowed
    check_allowed(approved(), complete("c", at=LATER, author=ORG))


def test_unknown_targets() -> None:
    contracts = derive(active(), briefs={}, now=LATER)
    stray = accept("a", rid("nowhere"), at=LATER)
    assert refusal(contracts, stray, LATER) == ("unknown_offer", "That offer is not known here.")
    lost = cancel("x", at=LATER, contract=rid("nowhere"))
    assert refusal(contracts, lost, LATER) is not None
    assert refusal(contracts, lost, LATER)[0] == "unknown_contract"  # type: ignore[index]
    # Records of unknown contracts are ignored by the derivation.
    assert derive([*active(), stray, lost], briefs={}, now=LATER) == contracts


def test_refusal_takes_one_contract_and_replaces_created_at() -> None:
    contract = one(approved(), LATER)
    early = complete("c", at=0)  # created_at is replaced by `now`
    assert refusal(contract, early, LATER) is None
    assert refusal(contract, milestone("s", 0, "submitted", at=0), LATER) == (
        "already_submitted",
        "Milestone 1 was already submitted.",
    )


def test_steps_in_one_second_keep_the_order_a_contract_runs_in() -> None:
    # Submit, approve, pay and complete in the same second: the phase order decides.
    events = [*active(), milestone("s", 0, "submitted", at=LATER)]
    approve = milestone("p", 0, "approved", at=LATER)
    assert refusal(derive(events, briefs={}, now=LATER), approve, LATER) is None
    assert "approve 0" in one(events, LATER).actions(ORG, LATER)
    # Whatever the ids, the approval sorts after the submission it answers.
    for label in ("p", "q", "r", "zz"):
        approval = milestone(label, 0, "approved", at=LATER)
        contract = one([*events, approval], LATER)
        assert contract.milestones[0].approved_at == LATER


def test_too_soon_when_the_order_within_a_second_is_uncertain() -> None:
    # Two counter-offers in one second: which answers which depends on how ids sort.
    first = offer(answers=O1, at=LATER, author=FREE, label="c1")
    events = [*active()[:1], first]
    again = offer(answers=first.id, at=LATER, author=ORG, label="c3")
    problem = refusal(derive(events, briefs={}, now=LATER), again, LATER)
    assert problem is not None and problem[0] == "too_soon"
    assert refusal(derive(events, briefs={}, now=LATER), again, LATER + 1) is None


def test_counter_keeps_respond_by_of_its_own() -> None:
    counter = _counter("c1", O1, T0 + 6 * DAY, FREE)
    c = one([offer(), counter], T0 + 8 * DAY)  # the first offer's respond-by has passed
    assert c.state == "countered"
    assert c.offers[-1].respond_by == T0 + 13 * DAY
    assert one([offer(), counter], T0 + 13 * DAY).state == "expired"


def test_first_offer_records_the_proposal() -> None:
    c = one([offer(proposal=rid("p"))], T0)
    assert c.proposal == rid("p")


# -- proposals ---------------------------------------------------------------------------


def _proposal(label: str, *, at: int, currency: str = "EUR", expires: int | None = None) -> Event:
    body = {
        "brief": BRIEF,
        "pitch": "I can do it",
        "price": {"amount": 300, "currency": currency},
        "duration_days": 30,
        "available_from": format_timestamp(at),
    }
    return Event(rid(label), "proposal", FREE, at, expires, body)


def test_proposals_open_and_expired() -> None:
    briefs = {BRIEF: brief(expires=T0 + 10 * DAY)}
    events = [
        _proposal("p1", at=T0),
        _proposal("p2", at=T0 + HOUR, expires=T0 + DAY),
        _proposal("p3", at=T0 + 2 * HOUR, currency="ABC"),
        offer(),
    ]
    found = proposals(events, now=T0 + 2 * DAY, briefs=briefs)
    assert [(p.id, p.status, p.expires_at) for p in found] == [
        (rid("p1"), "open", T0 + 10 * DAY),
        (rid("p2"), "expired", T0 + DAY),
        (rid("p3"), "no_effect", T0 + 10 * DAY),
    ]
    assert found[2].problem is not None and found[2].problem[0] == "invalid_currency"
    assert proposals(events, now=T0 + 10 * DAY, briefs=briefs)[0].status == "expired"
    assert proposals(events, now=T0 + 10 * DAY)[0].status == "open"  # no brief, no expiry
    assert found[0].price == {"amount": 300, "currency": "EUR"} and found[0].author == FREE


def test_proposal_effect() -> None:
    briefs = {BRIEF: brief(expires=T0 + DAY)}
    assert proposal_problem(_proposal("p", at=T0), briefs=briefs) is None
    late = proposal_problem(_proposal("p", at=T0 + DAY), briefs=briefs)
    assert late is not None and late[0] == "brief_closed"
    assert proposal_problem(_proposal("p", at=T0 + DAY), briefs={}) is None
    hypothetical = _proposal("p", at=0, currency="ABC")
    assert refusal({}, hypothetical, T0, briefs=briefs) == (
        "invalid_currency",
        "ABC is not an ISO 4217 currency.",
    )


# -- order of arrival does not matter ---------------------------------------------------

POOL = [
    offer(),
    c1_by_freelancer,
    accept("a1", C1, at=T0 + 2 * HOUR, author=ORG),
    accept("a-stale", O1, at=T0 + 2 * HOUR),  # the same second as a1: ids decide
    decline("d", C1, at=T0 + 3 * HOUR, author=ORG),
    milestone("s0", 0, "submitted", at=T0 + DAY),
    milestone("s1", 1, "submitted", at=T0 + DAY),
    milestone("p0", 0, "approved", at=T0 + 2 * DAY),
    milestone("p0-again", 0, "approved", at=T0 + 2 * DAY),
    payment("pay0", 0, "paid", at=T0 + 3 * DAY),
    payment("rcv0", 0, "received", at=T0 + 3 * DAY),
    complete("done", at=T0 + 20 * DAY),
    cancel("stop", at=T0 + 20 * DAY),
    cancel("stranger", at=T0 + DAY, author=STRANGER),
    offer("other", at=T0 + HOUR),  # a second contract
    accept("a-other", rid("other"), at=T0 + DAY),
    accept("orphan", rid("nowhere"), at=T0 + DAY),
]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_arrival_order_gives_the_same_contracts(data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(POOL), max_size=len(POOL) + 3))  # repeats too
    shuffled = data.draw(st.permutations(chosen))
    now = data.draw(st.integers(T0, T0 + 40 * DAY))
    ordered = sorted(set(e.id for e in chosen))
    canonical = [next(e for e in POOL if e.id == i) for i in ordered]
    result = derive(shuffled, briefs={}, now=now)
    assert result == derive(canonical, briefs={}, now=now)
    for contract in result.values():
        assert contract.state in STATES
        assert [e.at for e in contract.timeline] == sorted(e.at for e in contract.timeline)
        records = [e.record for e in contract.timeline if e.record is not None]
        assert records == [e.id for e in contract.events]
        for did in (ORG, FREE):
            for action in contract.actions(did, now):
                assert isinstance(action, str)


def test_contracts_are_values() -> None:
    a = one(approved(), LATER)
    b = one(list(reversed(approved())), LATER)
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.state = "completed"  # type: ignore[misc]
    assert isinstance(a, Contract)


def test_each_party_attests_its_own_side_of_payment() -> None:
    events = [
        *approved(),
        payment("paid0", 0, "paid", at=T0 + 3 * DAY),
        payment("paid1", 1, "paid", at=T0 + 3 * DAY),
        payment("got0", 0, "received", at=T0 + 4 * DAY),
    ]
    milestones = one(events, T0 + 5 * DAY).milestones
    assert payment_status(milestones) == "unpaid"  # milestone 2 not confirmed received
    assert payment_status(milestones, side="organisation") == "on_time"
    assert payment_status(milestones, side="freelancer") == "unpaid"
    late = [*events, payment("got1", 1, "received", at=T0 + 20 * DAY)]
    milestones = one(late, T0 + 21 * DAY).milestones
    assert payment_status(milestones, side="freelancer") == "late"
    assert payment_status(milestones) == "on_time"  # the organisation paid in time


def test_a_long_chain_of_counter_offers_stays_one_thread() -> None:
    chain = [offer()]
    for n in range(1, 300):
        author = FREE if n % 2 else ORG
        chain.append(offer(f"c{n}", at=T0 + n, author=author, answers=chain[-1].id))
    contract = one(chain, T0 + 400)
    assert contract.state == "countered" and len(contract.offers) == 300


def test_pay_by_is_fourteen_days_after_the_latest_approval() -> None:
    assert pay_by(one(active(), T0 + DAY).milestones) == 0  # nothing approved yet
    milestones = one(approved(), T0 + 3 * DAY).milestones
    assert pay_by(milestones) == T0 + 2 * DAY + PAY_ON_TIME_DAYS * DAY


def test_a_counter_is_sealed_to_the_contracts_delegate_and_nobody_else() -> None:
    # SPEC §6.9, §12.3, §15.4: a delegate's first offer (read as ORG's) is sealed to the two
    # parties and the delegate; a counter may name that delegate as its third recipient, and
    # a counter naming anyone else has no effect.
    delegate = "did:key:z6MkStaff"
    three = tuple(sorted((ORG, FREE, delegate)))
    first = dataclasses.replace(offer(), parties=three)
    good = dataclasses.replace(c1_by_freelancer, parties=three)
    c = one([first, good], T0 + 2 * HOUR)
    assert c.state == "countered" and [o.status for o in c.offers] == ["countered", "open"]
    two = dataclasses.replace(c1_by_freelancer, parties=tuple(sorted((ORG, FREE))))
    assert one([first, two], T0 + 2 * HOUR).state == "countered"
    elsewhere = dataclasses.replace(c1_by_freelancer, parties=tuple(sorted((ORG, FREE, STRANGER))))
    for root in (first, offer()):
        c = one([root, elsewhere], T0 + 2 * HOUR)
        assert c.state == "offered", root.parties
        [problem] = [e.problem for e in c.timeline if e.record == C1]
        assert problem is not None and problem[0] == "invalid_terms"
