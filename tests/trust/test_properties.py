"""Trust and membership do not depend on the order records arrived in (DESIGN "Trust conserves
mass": bit-identical for any arrival order; "Guilds": the same records give the same members
on every node)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode.guilds import Application, Charter, membership
from guildnode.trust import MAX_VOUCH_LIFE, SCORE_CAP, Vouch, VouchTable, trust

T0 = 1_790_000_000
DAY = 86_400
PEOPLE = "ABCDEFGH"
CONTEXTS = (None, "python", "design")


@st.composite
def vouch_graphs(draw: st.DrawFn) -> tuple[list[Vouch], set[str], dict[str, frozenset[str]]]:
    """Up to 25 vouches among up to 8 identities, some revoked, some with evidence."""
    people = PEOPLE[: draw(st.integers(2, len(PEOPLE)))]
    person = st.sampled_from(people)
    rows = draw(
        st.lists(
            st.tuples(
                person,
                person,  # self-vouches included: they must not count
                st.integers(1, 3),
                st.integers(0, 400 * DAY),  # age at T0
                st.none() | st.integers(1, 2 * MAX_VOUCH_LIFE),  # life the record claims
                st.sampled_from(CONTEXTS),
                st.sampled_from([None, "c1", "c2"]),
                st.sampled_from([False, False, False, True]),  # revoked
            ),
            max_size=25,
        )
    )
    vouches = [
        Vouch(
            f"v{i:02d}",
            author,
            subject,
            level,
            T0 - age,
            context,
            None if life is None else T0 - age + life,
            evidence,
        )
        for i, (author, subject, level, age, life, context, evidence, _) in enumerate(rows)
    ]
    revoked = {v.id for v, row in zip(vouches, rows, strict=True) if row[-1]}
    completed = {
        "c1": frozenset(draw(st.sets(person, max_size=3))),
        "c2": frozenset(draw(st.sets(person, max_size=3))),
    }
    return vouches, revoked, completed


def all_scores(
    vouches: list[Vouch], revoked: set[str], completed: dict[str, frozenset[str]]
) -> list[tuple[str, str | None, list[float]]]:
    table = VouchTable.build(vouches, revoked=revoked, completed=completed)
    found = []
    for viewer in PEOPLE[:2]:
        for context in CONTEXTS:
            view = trust(table, viewer, now=T0, context=context, blocked=["H"])
            found.append((viewer, context, [view.score(d) for d in PEOPLE]))
    return found


@settings(max_examples=100, deadline=None)
@given(graph=vouch_graphs(), data=st.data())
def test_trust_is_bit_identical_in_any_order(
    graph: tuple[list[Vouch], set[str], dict[str, frozenset[str]]], data: st.DataObject
) -> None:
    vouches, revoked, completed = graph
    shuffled = data.draw(st.permutations(vouches))
    one = all_scores(vouches, revoked, completed)
    two = all_scores(shuffled, revoked, completed)
    assert one == two
    for viewer, _, scores in one:
        assert sum(scores) <= 1.0 + 1e-12
        assert all(
            0.0 <= s <= SCORE_CAP for d, s in zip(PEOPLE, scores, strict=True) if d != viewer
        )


# -- guilds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    charter: Charter
    applications: list[Application]
    vouches: list[Vouch]
    revoked: set[str]
    now: int


FOUNDERS = ("F1", "F2", "F3")
APPLICANTS = ("P1", "P2", "P3", "P4", "P5", "P6")


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A charter by F1, up to 6 applicants, random admission vouches, some leaves."""
    founders = FOUNDERS[: draw(st.integers(1, 3))]
    charter = Charter(
        "G1",
        "F1",
        "Guild",
        "Tests",
        founders,
        draw(st.integers(1, len(founders))),
        T0,
        draw(st.sampled_from([0, 0, 1, 7])),
    )
    applicants = APPLICANTS[: draw(st.integers(0, len(APPLICANTS)))]
    people = (*founders, *applicants)
    # Cofounders usually consent; applicants usually apply; anyone may leave and return.
    histories = draw(
        st.lists(
            st.lists(
                st.tuples(st.sampled_from(["apply"] * 3 + ["leave"]), st.integers(0, 10)),
                min_size=1,
                max_size=3,
            ),
            min_size=len(people),
            max_size=len(people),
        )
    )
    applications = [
        Application(f"{kind}-{person}-{seq}", person, "G1", kind, seq, T0 + day * DAY)
        for person, history in zip(people, histories, strict=True)
        for seq, (kind, day) in enumerate(history, start=1)
    ]
    person = st.sampled_from(people)
    vouch = st.tuples(
        st.sampled_from(founders) | person,  # author
        st.integers(0, 12),  # day made
        st.none() | st.none() | st.integers(1, 30 * DAY),  # life the record claims
        st.sampled_from([charter.context] * 4 + [None, "guild:G2"]),
        st.sampled_from([False, False, False, True]),  # revoked
    )
    # Vouches for each applicant, and a few about anyone (founders, self-vouches).
    rows = [
        (subject, *row)
        for subject in applicants
        for row in draw(st.lists(vouch, min_size=1, max_size=4))
    ]
    rows += [
        (subject, *row) for subject, row in draw(st.lists(st.tuples(person, vouch), max_size=4))
    ]
    vouches = [
        Vouch(
            f"v{i:02d}",
            author,
            subject,
            3,
            T0 + day * DAY,
            context,
            None if life is None else T0 + day * DAY + life,
        )
        for i, (subject, author, day, life, context, _) in enumerate(rows)
    ]
    revoked = {v.id for v, row in zip(vouches, rows, strict=True) if row[-1]}
    now = T0 + draw(st.integers(0, 30)) * DAY
    return Scenario(charter, applications, vouches, revoked, now)


def counts(v: Vouch, scenario: Scenario) -> bool:
    """Whether `v` is an active admission vouch at the scenario's `now`."""
    end = v.created_at + MAX_VOUCH_LIFE
    if v.expires_at is not None:
        end = min(end, v.expires_at)
    return (
        v.context == scenario.charter.context
        and v.id not in scenario.revoked
        and v.author != v.subject
        and v.created_at <= scenario.now < end
    )


@settings(max_examples=100, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_membership_is_the_same_in_any_order(scenario: Scenario, data: st.DataObject) -> None:
    applications = data.draw(st.permutations(scenario.applications))
    vouches = data.draw(st.permutations(scenario.vouches))
    one = membership(
        scenario.charter,
        scenario.applications,
        scenario.vouches,
        now=scenario.now,
        revoked=scenario.revoked,
    )
    two = membership(
        scenario.charter, applications, vouches, now=scenario.now, revoked=set(scenario.revoked)
    )
    assert one.members == two.members
    assert one.applicants == two.applicants
    assert one.founders == two.founders
    assert one.capacity == two.capacity

    # And the members are sound: every one but a founder has applied (its latest record by
    # `now` is an apply) and holds k vouches from other members that count, cooling respected.
    latest: dict[str, Application] = {}
    for item in scenario.applications:
        if item.created_at > scenario.now:
            continue  # not yet written at `now`
        if item.author not in latest or item.seq > latest[item.author].seq:
            latest[item.author] = item
    cooling = scenario.charter.cooling_days * DAY
    for member, since in one.members.items():
        if member in one.founders:
            assert since == scenario.charter.created_at
            continue
        assert latest[member].kind == "apply"
        assert since >= latest[member].created_at
        vouchers = {
            v.author
            for v in scenario.vouches
            if v.subject == member
            and counts(v, scenario)
            and v.author in one.members
            and (v.author in one.founders or v.created_at >= one.members[v.author] + cooling)
        }
        assert len(vouchers) >= scenario.charter.vouches_required
    for applicant in one.applicants:
        assert applicant not in one.members
        assert latest[applicant].kind == "apply"
