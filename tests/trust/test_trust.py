"""Trust on small graphs whose scores are worked out by hand from the documented formula
(guildnode/trust.py; DESIGN "Trust", "Trust conserves mass").

One step of trust: a voucher holding mass s passes (1 − RESTART) · s · w / (Σ w + SINK · W_MAX)
over a vouch of weight w; the viewer gets RESTART back every step.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from guildnode.trust import (
    CROSS_CONTEXT_DISCOUNT,
    EVIDENCE_BONUS,
    MAX_VOUCH_LIFE,
    RESTART,
    SCORE_CAP,
    SINK,
    W_MAX,
    TrustView,
    Vouch,
    VouchTable,
    trust,
)

T0 = 1_790_000_000
DAY = 86_400
PASS = 1 - RESTART  # the share of a holder's mass that follows its vouches each step
KEEP = SINK * W_MAX  # what every voucher's outgoing weights are normalised against, on top of Σ w


def vouch(
    id: str,
    author: str,
    subject: str,
    level: int = 3,
    created_at: int = T0,
    **extra: object,
) -> Vouch:
    return Vouch(id, author, subject, level, created_at, **extra)  # type: ignore[arg-type]


def view(
    vouches: list[Vouch],
    viewer: str = "A",
    *,
    now: int = T0,
    revoked: tuple[str, ...] = (),
    completed: dict[str, frozenset[str]] | None = None,
    **options: object,
) -> TrustView:
    table = VouchTable.build(vouches, revoked=revoked, completed=completed)
    return trust(table, viewer, now=now, **options)  # type: ignore[arg-type]


def share(w: float, total: float | None = None) -> float:
    """The share of its mass a voucher passes over a vouch of weight `w`, its weights summing
    to `total`."""
    return w / ((w if total is None else total) + KEEP)


def direct(w: float, total: float | None = None) -> float:
    """The score of someone the viewer (with no vouches back to it) vouches for with weight `w`."""
    return PASS * RESTART * share(w, total)


# -- values ----------------------------------------------------------------------------------


def test_one_vouch_passes_its_share_of_the_restart_mass() -> None:
    trusted = view([vouch("v1", "A", "B", 3)])
    assert trusted.score("B") == pytest.approx(PASS * RESTART * 3 / (3 + SINK * W_MAX), rel=1e-12)
    assert trusted.score("A") == RESTART


def test_two_hop_chain() -> None:
    trusted = view([vouch("v1", "A", "B", 3), vouch("v2", "B", "C", 2)])
    b = PASS * RESTART * 3 / (3 + KEEP)
    c = PASS * b * 2 / (2 + KEEP)
    assert trusted.score("B") == pytest.approx(b, rel=1e-12)
    assert trusted.score("C") == pytest.approx(c, rel=1e-12)
    assert trusted.score("A") == RESTART


def test_mass_returning_to_the_viewer_adds_to_its_score() -> None:
    # A ↔ B: s_A = R + (1−R)·s_B/6, s_B = (1−R)·s_A/6.
    trusted = view([vouch("v1", "A", "B", 3), vouch("v2", "B", "A", 3)])
    loop = (PASS * share(3)) ** 2
    a = RESTART / (1 - loop)
    assert trusted.score("A") == pytest.approx(a, abs=1e-12)
    assert trusted.score("B") == pytest.approx(PASS * share(3) * a, abs=1e-12)


def test_levels_weigh_proportionally() -> None:
    for level in (1, 2, 3):
        assert view([vouch("v1", "A", "B", level)]).score("B") == pytest.approx(
            direct(level), rel=1e-12
        )


# -- fading ----------------------------------------------------------------------------------


def test_a_vouch_half_a_half_life_old_weighs_half() -> None:
    vouches = [vouch("v1", "A", "B", 3, created_at=T0)]
    fresh = view(vouches, now=T0, half_life_days=180)
    old = view(vouches, now=T0 + 180 * DAY, half_life_days=180)
    assert fresh.score("B") == pytest.approx(direct(3), rel=1e-12)
    assert old.score("B") == pytest.approx(direct(1.5), rel=1e-12)
    assert old.score("B") < fresh.score("B")


def test_the_half_life_is_a_parameter() -> None:
    vouches = [vouch("v1", "A", "B", 2, created_at=T0)]
    assert view(vouches, now=T0 + 90 * DAY, half_life_days=90).score("B") == pytest.approx(
        direct(1), rel=1e-12
    )
    assert view(vouches, now=T0 + 180 * DAY, half_life_days=90).score("B") == pytest.approx(
        direct(0.5), rel=1e-12
    )


def test_a_vouch_created_after_now_does_not_count_yet() -> None:
    trusted = view([vouch("v1", "A", "B", 3, created_at=T0 + 10)], now=T0)
    assert trusted.score("B") == 0.0


# -- evidence --------------------------------------------------------------------------------


def test_a_completed_contract_between_the_two_doubles_the_weight() -> None:
    vouches = [vouch("v1", "A", "B", 3, evidence="c1")]
    trusted = view(vouches, completed={"c1": frozenset({"A", "B"})})
    assert EVIDENCE_BONUS == 2.0
    assert trusted.score("B") == pytest.approx(direct(3 * EVIDENCE_BONUS), rel=1e-12)
    assert trusted.score("B") == pytest.approx(direct(6), rel=1e-12)


def test_no_bonus_when_the_contract_is_not_between_the_two() -> None:
    vouches = [vouch("v1", "A", "B", 3, evidence="c1")]
    others = view(vouches, completed={"c1": frozenset({"A", "Z"})})
    assert others.score("B") == pytest.approx(direct(3), rel=1e-12)
    subject_only = view(vouches, completed={"c1": frozenset({"B", "Z"})})
    assert subject_only.score("B") == pytest.approx(direct(3), rel=1e-12)


def test_no_bonus_without_a_completed_contract() -> None:
    vouches = [vouch("v1", "A", "B", 3, evidence="c1")]
    assert view(vouches).score("B") == pytest.approx(direct(3), rel=1e-12)
    unknown = view(vouches, completed={"c2": frozenset({"A", "B"})})
    assert unknown.score("B") == pytest.approx(direct(3), rel=1e-12)


def test_a_contract_cited_by_another_vouch_gives_no_bonus_to_this_one() -> None:
    vouches = [vouch("v1", "A", "B", 3, evidence="c1"), vouch("v2", "A", "C", 3)]
    trusted = view(vouches, completed={"c1": frozenset({"A", "B"})})
    assert trusted.score("B") == pytest.approx(direct(6, 9), rel=1e-12)
    assert trusted.score("C") == pytest.approx(direct(3, 9), rel=1e-12)


# -- dilution --------------------------------------------------------------------------------


def test_vouching_for_many_dilutes_each_vouch() -> None:
    alone = view([vouch("v1", "A", "B", 3)])
    many = view([vouch("v1", "A", "B", 3), vouch("v2", "A", "C", 3), vouch("v3", "A", "D", 3)])
    assert alone.score("B") == pytest.approx(PASS * RESTART * 3 / (3 + KEEP), rel=1e-12)
    assert many.score("B") == pytest.approx(PASS * RESTART * 3 / (9 + KEEP), rel=1e-12)
    assert many.score("B") < alone.score("B")
    for did in "BCD":
        assert many.score(did) == many.score("B")


def test_dilution_is_by_weight_not_by_count() -> None:
    trusted = view([vouch("v1", "A", "B", 3), vouch("v2", "A", "C", 1)])
    assert trusted.score("B") == pytest.approx(direct(3, 4), rel=1e-12)
    assert trusted.score("C") == pytest.approx(direct(1, 4), rel=1e-12)


# -- mass ------------------------------------------------------------------------------------


def random_graph(rng: random.Random, people: int, count: int) -> list[Vouch]:
    names = [f"P{i:02d}" for i in range(people)]
    vouches = []
    for i in range(count):
        author, subject = rng.sample(names, 2)
        vouches.append(
            vouch(
                f"v{i:04d}",
                author,
                subject,
                rng.randint(1, 3),
                created_at=T0 - rng.randint(0, 400) * DAY,
                context=rng.choice([None, None, "python", "design"]),
            )
        )
    return vouches


def reference(vouches: list[Vouch], viewer: str, now: int, context: str | None) -> dict[str, float]:
    """Uncapped personalised PageRank by a dense linear solve, straight from the docstring:
    s = restart + (1 − RESTART) · Pᵀ s with P[i, j] = Σ w(i→j) / (Σ w(i→·) + SINK · W_MAX)."""
    names = sorted({v.author for v in vouches} | {v.subject for v in vouches} | {viewer})
    at = {d: i for i, d in enumerate(names)}
    weight = np.zeros((len(names), len(names)))
    # The latest vouch per (author, subject, context) stands; per (author, subject) the
    # strongest context counts (the module docstring's rules against repeated vouches).
    latest: dict[tuple[str, str, str | None], Vouch] = {}
    for v in vouches:
        key = (v.author, v.subject, v.context)
        if key not in latest or (v.created_at, v.id) > (latest[key].created_at, latest[key].id):
            latest[key] = v
    for v in latest.values():
        end = v.created_at + MAX_VOUCH_LIFE
        if v.expires_at is not None:
            end = min(end, v.expires_at)
        if v.author == v.subject or not v.created_at <= now < end:
            continue
        if context is not None and v.context not in (None, context):
            continue
        w = v.level * 0.5 ** ((now - v.created_at) / (180 * DAY))
        if v.context != context:
            w *= CROSS_CONTEXT_DISCOUNT
        weight[at[v.author], at[v.subject]] = max(weight[at[v.author], at[v.subject]], w)
    p = weight / (weight.sum(axis=1, keepdims=True) + KEEP)
    restart = np.zeros(len(names))
    restart[at[viewer]] = RESTART
    scores = np.linalg.solve(np.eye(len(names)) - PASS * p.T, restart)
    return dict(zip(names, scores.tolist(), strict=True))


@pytest.mark.parametrize("seed", range(20))
def test_mass_is_conserved_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    vouches = random_graph(rng, rng.randint(3, 30), rng.randint(1, 150))
    table = VouchTable.build(vouches)
    for context in (None, "python"):
        trusted = trust(table, "P00", now=T0, context=context)
        scores = [trusted.score(d) for d in table.dids]
        assert sum(scores) <= 1.0 + 1e-12
        assert min(scores) >= 0.0
        assert all(trusted.score(d) <= SCORE_CAP for d in table.dids if d != "P00")
        expected = reference(vouches, "P00", T0, context)
        if max(s for d, s in expected.items() if d != "P00") <= SCORE_CAP:
            for did in table.dids:
                assert trusted.score(did) == pytest.approx(expected[did], rel=1e-9, abs=1e-12)


def test_nobody_but_the_viewer_rises_above_the_cap() -> None:
    # A star: the viewer and twenty spokes pour what they can into one hub, which hands it
    # back to the viewer. Repeated vouches no longer add up (the sink keeps any one voucher's
    # share below 1/6), so the default cap is a safety net that rarely binds; the mechanism
    # is shown with a lower cap that this star would exceed.
    spokes = [f"S{i:02d}" for i in range(20)]
    vouches: list[Vouch] = [vouch("vAH", "A", "H", 3), vouch("vHA", "H", "A", 3)]
    for i, spoke in enumerate(spokes):
        vouches.append(vouch(f"vA{i:02d}", "A", spoke, 3))
        vouches.append(vouch(f"vS{i:02d}", spoke, "H", 3))
    uncapped = reference(vouches, "A", T0, None)
    low_cap = 0.5 * uncapped["H"]
    assert uncapped["H"] > low_cap and uncapped["H"] < SCORE_CAP

    trusted = trust(VouchTable.build(vouches), "A", now=T0, cap=low_cap)
    assert trusted.score("H") == pytest.approx(low_cap, rel=1e-12)
    assert all(trusted.score(s) <= low_cap for s in spokes)
    total = sum(trusted.score(d) for d in ["A", "H", *spokes])
    assert total <= 1.0 + 1e-12
    assert trusted.score("A") >= RESTART  # the viewer is not capped
    # Without the lower cap the same star stays below the default one.
    assert view(vouches).score("H") == pytest.approx(uncapped["H"], rel=1e-9)


@pytest.mark.parametrize("size", [20, 200])
def test_a_ring_gains_only_what_flows_over_its_border(size: int) -> None:
    # The viewer vouches for B; B vouches for one Sybil of a ring in which each vouches for
    # twenty others. Whatever the ring's size, its total mass is at most the inflow over
    # B's vouch divided by RESTART (each step keeps at most 1 − RESTART of it).
    ring = [f"S{i:03d}" for i in range(size)]
    vouches = [vouch("a-b", "A", "B", 3), vouch("a-c", "A", "C", 3), vouch("b-s", "B", ring[0], 3)]
    for i, sybil in enumerate(ring):
        for j in range(1, 21):
            vouches.append(vouch(f"r{i:03d}-{j:02d}", sybil, ring[(i + j) % size], 3))
    trusted = view(vouches)
    inflow = PASS * trusted.score("B") * share(3)
    ring_mass = sum(trusted.score(s) for s in ring)
    assert inflow > 0
    assert ring_mass <= inflow / RESTART + 1e-15
    assert ring_mass < trusted.score("B")
    assert max(trusted.score(s) for s in ring) < trusted.score("C")


# -- revocation and expiry ---------------------------------------------------------------------


def test_revoked_vouches_count_for_nothing() -> None:
    vouches = [vouch("v1", "A", "B", 3), vouch("v2", "A", "C", 3)]
    trusted = view(vouches, revoked=("v1",))
    assert trusted.score("B") == 0.0
    assert trusted.score("C") == pytest.approx(direct(3), rel=1e-12)  # and dilute nothing
    assert "v1" not in {v.id for v in VouchTable.build(vouches, revoked=["v1"]).vouches}


def test_an_expired_vouch_counts_for_nothing() -> None:
    vouches = [vouch("v1", "A", "B", 3, created_at=T0, expires_at=T0 + 10 * DAY)]
    assert view(vouches, now=T0 + 9 * DAY).score("B") > 0
    assert view(vouches, now=T0 + 10 * DAY).score("B") == 0.0
    assert view(vouches, now=T0 + 11 * DAY).score("B") == 0.0


def test_no_vouch_lives_longer_than_365_days() -> None:
    far = [vouch("v1", "A", "B", 3, created_at=T0, expires_at=T0 + 1000 * DAY)]
    never = [vouch("v1", "A", "B", 3, created_at=T0)]
    for vouches in (far, never):
        assert view(vouches, now=T0 + 364 * DAY).score("B") == pytest.approx(
            direct(3 * 0.5 ** (364 / 180)), rel=1e-12
        )
        assert view(vouches, now=T0 + 365 * DAY - 1).score("B") > 0
        assert view(vouches, now=T0 + 365 * DAY).score("B") == 0.0
        assert view(vouches, now=T0 + 366 * DAY).score("B") == 0.0


# -- contexts --------------------------------------------------------------------------------


def test_a_contextual_vouch_counts_fully_in_its_context_only() -> None:
    vouches = [vouch("v1", "A", "B", 3, context="python")]
    assert view(vouches, context="python").score("B") == pytest.approx(direct(3), rel=1e-12)
    assert view(vouches, context="design").score("B") == 0.0


def test_a_general_vouch_counts_in_a_context_at_the_discount() -> None:
    vouches = [vouch("v1", "A", "B", 3)]
    assert view(vouches, context="python").score("B") == pytest.approx(
        direct(3 * CROSS_CONTEXT_DISCOUNT), rel=1e-12
    )
    assert view(vouches, context=None).score("B") == pytest.approx(direct(3), rel=1e-12)


def test_in_general_trust_a_contextual_vouch_counts_at_the_discount() -> None:
    vouches = [vouch("v1", "A", "B", 3, context="python")]
    assert view(vouches).score("B") == pytest.approx(direct(3 * CROSS_CONTEXT_DISCOUNT), rel=1e-12)


def test_contexts_mix_with_their_own_weights() -> None:
    vouches = [
        vouch("v1", "A", "B", 3),
        vouch("v2", "A", "C", 3, context="python"),
        vouch("v3", "A", "D", 3, context="design"),
    ]
    in_python = view(vouches, context="python")
    assert in_python.score("B") == pytest.approx(direct(1.5, 4.5), rel=1e-12)
    assert in_python.score("C") == pytest.approx(direct(3, 4.5), rel=1e-12)
    assert in_python.score("D") == 0.0
    general = view(vouches)
    assert general.score("B") == pytest.approx(direct(3, 6), rel=1e-12)
    assert general.score("C") == pytest.approx(direct(1.5, 6), rel=1e-12)
    assert general.score("D") == pytest.approx(direct(1.5, 6), rel=1e-12)


# -- block list, self-vouches, empty views ----------------------------------------------------


def test_a_blocked_identity_holds_and_passes_nothing() -> None:
    vouches = [vouch("v1", "A", "B", 3), vouch("v2", "B", "C", 3)]
    assert view(vouches).score("C") > 0
    blocked = view(vouches, blocked=["B"])
    assert blocked.score("B") == 0.0
    assert blocked.score("C") == 0.0
    assert blocked.ranked() == []
    assert blocked.paths("C") == []


def test_blocking_a_subject_only_zeroes_it() -> None:
    vouches = [vouch("v1", "A", "B", 3), vouch("v2", "A", "C", 3), vouch("v3", "C", "D", 3)]
    blocked = view(vouches, blocked=["C"])
    assert blocked.score("C") == 0.0
    assert blocked.score("D") == 0.0
    assert blocked.score("B") > 0


def test_the_viewer_cannot_block_itself() -> None:
    vouches = [vouch("v1", "A", "B", 3)]
    assert view(vouches, blocked=["A"]).score("B") == view(vouches).score("B")


def test_self_vouches_are_ignored() -> None:
    vouches = [vouch("v0", "A", "A", 3), vouch("v1", "A", "B", 3), vouch("v2", "B", "B", 3)]
    trusted = view(vouches)
    assert trusted.score("A") == RESTART
    assert trusted.score("B") == pytest.approx(direct(3), rel=1e-12)  # no dilution by v0
    assert {v.id for v in trusted.table.vouches} == {"v1"}
    assert view([vouch("v0", "Z", "Z", 3)], viewer="Z").ranked() == []


def test_a_viewer_without_vouches_trusts_nobody() -> None:
    vouches = [vouch("v1", "B", "C", 3), vouch("v2", "C", "A", 3)]
    for trusted in (view(vouches, viewer="A"), view(vouches, viewer="Q")):
        assert trusted.score("B") == 0.0
        assert trusted.score("C") == 0.0
        assert trusted.ranked() == []
        assert trusted.rank("B") is None
        assert trusted.paths("C") == []
        assert trusted.score(trusted.viewer) == RESTART


def test_an_empty_table_trusts_nobody() -> None:
    trusted = view([], viewer="A")
    assert trusted.score("A") == RESTART
    assert trusted.score("B") == 0.0
    assert trusted.ranked() == []
    assert trusted.rank("B") is None


# -- ranking ---------------------------------------------------------------------------------


def test_ranked_best_first_ties_broken_by_did() -> None:
    vouches = [
        vouch("v1", "A", "D", 3),
        vouch("v2", "A", "C", 3),
        vouch("v3", "A", "B", 1),
        vouch("v4", "A", "E", 3),
    ]
    trusted = view(vouches)
    high, low = direct(3, 10), direct(1, 10)
    assert [d for d, _ in trusted.ranked()] == ["C", "D", "E", "B"]
    assert [s for _, s in trusted.ranked()] == pytest.approx([high, high, high, low], rel=1e-12)
    assert [trusted.rank(d) for d in "CDEB"] == [1, 2, 3, 4]
    assert trusted.rank("A") is None  # the viewer
    assert trusted.rank("Z") is None  # unknown


def test_rank_ignores_the_viewers_own_score() -> None:
    vouches = [vouch("v1", "A", "B", 3), vouch("v2", "B", "A", 3), vouch("v3", "A", "C", 1)]
    trusted = view(vouches)
    assert trusted.score("A") > trusted.score("B") > trusted.score("C") > 0
    assert trusted.rank("B") == 1
    assert trusted.rank("C") == 2
    assert [d for d, _ in trusted.ranked()] == ["B", "C"]


# -- explanation paths -----------------------------------------------------------------------


def test_a_paths_strength_is_the_trust_it_carries() -> None:
    trusted = view([vouch("v1", "A", "B", 3), vouch("v2", "B", "C", 2)])
    [path] = trusted.paths("C")
    assert [e.vouch.id for e in path.edges] == ["v1", "v2"]
    assert [e.weight for e in path.edges] == [3.0, 2.0]
    assert path.edges[0].share == pytest.approx(share(3), rel=1e-12)
    assert path.edges[1].share == pytest.approx(share(2), rel=1e-12)
    strength = RESTART * share(3) * PASS * share(2) * PASS
    assert path.strength == pytest.approx(strength, rel=1e-12)
    assert path.strength == pytest.approx(trusted.score("C"), rel=1e-12)


def test_at_most_three_paths_strongest_first() -> None:
    # A → Mi → Z for five middlemen with different levels, plus a direct A → Z.
    vouches = [vouch("d", "A", "Z", 1)]
    levels = {"M1": 1, "M2": 3, "M3": 2, "M4": 3, "M5": 1}
    for name, level in levels.items():
        vouches.append(vouch(f"a-{name}", "A", name, level))
        vouches.append(vouch(f"{name}-z", name, "Z", 3))
    trusted = view(vouches)
    total = 1 + sum(levels.values())
    paths = trusted.paths("Z")
    assert len(paths) == 3
    strengths = [p.strength for p in paths]
    assert strengths == sorted(strengths, reverse=True)
    via = {
        name: RESTART * share(level, total) * PASS * share(3) * PASS
        for name, level in levels.items()
    }
    ranked = sorted(
        [*via.values(), RESTART * share(1, total) * PASS],
        reverse=True,
    )
    assert strengths == pytest.approx(ranked[:3], rel=1e-12)
    assert [len(p.edges) for p in paths] == [1, 2, 2]  # the direct vouch is the strongest
    assert {p.edges[0].vouch.subject for p in paths[1:]} == {"M2", "M4"}
    assert len(trusted.paths("Z", limit=10)) == 6


def test_paths_are_simple() -> None:
    # A → X, X ↔ Y, and X → A: the walks A→X→Y→X and A→X→A→X are not paths.
    vouches = [
        vouch("v1", "A", "X", 3),
        vouch("v2", "X", "Y", 3),
        vouch("v3", "Y", "X", 3),
        vouch("v4", "X", "A", 3),
    ]
    trusted = view(vouches)
    paths = trusted.paths("X")
    assert [[e.vouch.id for e in p.edges] for p in paths] == [["v1"]]
    for p in trusted.paths("Y"):
        nodes = [p.edges[0].vouch.author] + [e.vouch.subject for e in p.edges]
        assert len(nodes) == len(set(nodes))


def test_paths_are_at_most_three_vouches_long() -> None:
    hops = [("A", "B"), ("B", "C"), ("C", "D"), ("D", "E")]
    chain = [vouch(f"v{i}", a, b, 3) for i, (a, b) in enumerate(hops)]
    trusted = view(chain)
    assert len(trusted.paths("D")) == 1
    assert len(trusted.paths("D")[0].edges) == 3
    assert trusted.score("E") > 0  # trust reaches four hops …
    assert trusted.paths("E") == []  # … but is not explained beyond three
    assert len(trusted.paths("E", max_length=4)) == 1
    assert trusted.paths("A") == []  # the viewer needs no explanation


# -- determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_any_input_order_gives_bit_identical_scores(seed: int) -> None:
    rng = random.Random(seed)
    vouches = random_graph(rng, 12, 80)
    completed = {f"v{i:04d}": frozenset({v.author, v.subject}) for i, v in enumerate(vouches)}
    vouches = [
        Vouch(v.id, v.author, v.subject, v.level, v.created_at, v.context, None, v.id)
        if rng.random() < 0.3
        else v
        for v in vouches
    ]
    shuffled = vouches[:]
    rng.shuffle(shuffled)
    for context in (None, "python", "design"):
        one = view(vouches, viewer="P00", context=context, completed=completed)
        two = view(shuffled, viewer="P00", context=context, completed=completed)
        assert one.table.dids == two.table.dids
        assert [one.score(d) for d in one.table.dids] == [two.score(d) for d in two.table.dids]
        assert one.ranked() == two.ranked()
        for did in one.table.dids:
            assert one.paths(did) == two.paths(did)


def test_repeating_a_vouch_or_spreading_it_over_contexts_does_not_multiply_it() -> None:
    once = view([vouch("v1", "A", "B", 3)]).score("B")
    repeated = view([vouch(f"v{i}", "A", "B", 3) for i in range(20)]).score("B")
    assert repeated == once
    spread = [vouch("g", "A", "B", 3)] + [
        vouch(f"c{i}", "A", "B", 3, context=f"skill{i}") for i in range(20)
    ]
    assert view(spread).score("B") == once  # the strongest (general) vouch counts, once


def test_a_newer_vouch_for_the_same_subject_and_context_supersedes_the_older() -> None:
    downgraded = [vouch("v1", "A", "B", 3), vouch("v2", "A", "B", 1, created_at=T0)]
    older = [vouch("v1", "A", "B", 3, created_at=T0 - DAY)]
    newer_low = [*older, vouch("v2", "A", "B", 1, created_at=T0)]
    assert view(newer_low).score("B") < view(older).score("B")
    assert view(downgraded).score("B") > 0
