"""Sybil benchmark: trust captured by a Sybil region of S identities behind g attack edges,
and Sybils admitted to a guild through g confused members.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.sybil [--seed 7] [--viewers 20]

DESIGN.md, "Limits to measure against": trust captured by a Sybil ring of size S behind g
attack edges must be flat in S and bounded by the trust flowing over the g edges
("Corrections": "Sybil benchmark shape": each Sybil vouches for 20 others; the 20 viewers
are computed together as one sparse × dense product).

* Honest graph: Barabási–Albert, n = 1,000, m = 4 (own generator, numpy, fixed seed),
  vouches both ways, levels 1–3, created within the last year, general context.
* Sybil region: S ∈ {100, 1,000, 5,000}; each Sybil vouches for 20 other Sybils (level 3,
  fresh: the attacker's best case).
* Attack edges: g ∈ {1, 10, 100} honest → Sybil vouches (level 3, fresh, distinct Sybil
  targets), from random honest nodes and from the honest nodes of highest in-degree; the
  same attackers for every S, and the 20 viewers are never attackers.
* From 20 random honest viewers (means): the Sybil region's mass; the trust flowing into it
  over the attack edges per step (0.85 × Σ share × voucher's score) and mass ÷ that inflow,
  with its bound 1 / (1 − 0.85 × f), f the largest share of its mass a Sybil passes on; the
  number of Sybils scored above the median honest node (the viewer excluded), per attack
  edge; and the region's mass once the attack vouches are revoked (`VouchTable.build(...,
  revoked=...)`).
  The 20 viewers go through `bench.trust.propagate` (one bincount over an edges × 20 block
  per step), checked bit-identical to `trust()` for one viewer per configuration and all 20
  in the first; its time is compared with 20 `trust()` calls on the biggest graph.
* Guild admission: a guild of 2 founders and honest members (BA nodes 0–119, guild-context
  vouches along the BA edges both ways, vouches_required 2, cooling 0). g confused members
  (random, or highest in-degree) each vouch in the guild context for the same 20 Sybils; all
  S Sybils apply and vouch for 20 others in the guild context. Goal: Sybils admitted never
  above the summed `Membership.capacity` of the confused members. Also shown: the honest
  members left (Sybils compete with them for the founders' flow) and the ceiling, the
  members when all 999 other honest nodes apply.

Goals: mass at S = 5,000 within 1.1× of S = 100; at most 10 Sybils above the median honest
node per attack edge; exactly 0 after revocation; guild Sybils ≤ the confused members'
capacity. A broken check (replica differs from `trust()`) exits 1; a missed goal exits 0.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.common import run, step_logger, verdict
from bench.trust import check_replica, propagate, shares
from guildnode.guilds import FOUNDER_CAPACITY, Application, Charter, membership
from guildnode.trust import MAX_VOUCH_LIFE, RESTART, Vouch, VouchTable, trust

NOW = 1_790_000_000
DAY = 86_400
HONEST = 1_000
BA_M = 4
SYBIL_OUT = 20  # "densely": each Sybil vouches for 20 others
SIZES = (100, 1_000, 5_000)
ATTACK_EDGES = (1, 10, 100)
MODES = ("random", "top")
GUILD_SIZE = 120  # honest members: BA nodes 0 .. GUILD_SIZE - 1
GOAL_FLAT = 1.1
GOAL_ABOVE_MEDIAN = 10.0
GUILD_SLOW = 60.0  # seconds of one membership() call worth reporting as too slow

Ints = npt.NDArray[np.int64]


def honest(i: int) -> str:
    return f"did:key:z6MkHonest{i:05d}"


def sybil(i: int) -> str:
    return f"did:key:z6MkSybil{i:05d}"


def record_id(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, ("bench-sybil", *parts))).encode()).hexdigest()


# -- graphs ----------------------------------------------------------------------------------


def barabasi_albert(n: int, m: int, rng: np.random.Generator) -> Ints:
    """Undirected edges (u, v) of a Barabási–Albert graph: a clique of m + 1 nodes, then each
    new node links to m distinct earlier nodes picked in proportion to their degree."""
    ends = np.empty(m * (m + 1) + 2 * m * (n - m - 1), dtype=np.int64)  # every edge's ends
    edges: list[tuple[int, int]] = []
    filled = 0
    for u in range(m + 1):
        for v in range(u + 1, m + 1):
            edges.append((u, v))
            ends[filled : filled + 2] = (u, v)
            filled += 2
    for v in range(m + 1, n):
        chosen: set[int] = set()
        while len(chosen) < m:
            chosen.add(int(ends[rng.integers(0, filled)]))
        for u in sorted(chosen):
            edges.append((v, u))
            ends[filled : filled + 2] = (v, u)
            filled += 2
    return np.array(edges, dtype=np.int64)


def sybil_targets(size: int, rng: np.random.Generator) -> Ints:
    """(size, SYBIL_OUT): the distinct other Sybils each Sybil vouches for."""
    picks = np.empty((size, SYBIL_OUT), dtype=np.int64)
    for i in range(size):
        chosen = rng.choice(size - 1, SYBIL_OUT, replace=False)
        picks[i] = chosen + (chosen >= i)
    return picks


@dataclass(frozen=True)
class World:
    edges: Ints  # honest BA edges
    honest_vouches: list[Vouch]
    in_degree: Ints
    viewers: list[int]  # honest node numbers
    sybil_graphs: dict[int, Ints]
    attack_targets: dict[tuple[str, int, int], tuple[list[int], list[int]]]  # attackers, Sybils


def make_world(seed: int, viewer_count: int) -> World:
    rng = np.random.default_rng(seed)
    edges = barabasi_albert(HONEST, BA_M, rng)
    both = np.concatenate([edges, edges[:, ::-1]])
    levels = rng.integers(1, 4, len(both))
    ages = rng.integers(0, MAX_VOUCH_LIFE - DAY, len(both))
    honest_vouches = [
        Vouch(record_id("honest", i), honest(int(u)), honest(int(v)), int(lv), NOW - int(age))
        for i, ((u, v), lv, age) in enumerate(zip(both.tolist(), levels, ages, strict=True))
    ]
    in_degree = np.bincount(both[:, 1], minlength=HONEST)
    viewers = sorted(rng.choice(HONEST, viewer_count, replace=False).tolist())
    sybil_graphs = {size: sybil_targets(size, rng) for size in SIZES}
    others = np.array([h for h in range(HONEST) if h not in set(viewers)])
    by_degree = [h for h in np.argsort(-in_degree, kind="stable").tolist() if h not in viewers]
    # The same attackers for every S, so that only S changes along a row of the comparison.
    chosen = {g: rng.choice(others, g, replace=False).tolist() for g in ATTACK_EDGES}
    attack: dict[tuple[str, int, int], tuple[list[int], list[int]]] = {}
    for size in SIZES:
        for g in ATTACK_EDGES:
            targets = rng.choice(size, g, replace=False).tolist()
            attack["random", g, size] = (chosen[g], targets)
            attack["top", g, size] = (by_degree[:g], targets)
    return World(edges, honest_vouches, in_degree, viewers, sybil_graphs, attack)


def sybil_vouches(picks: Ints, context: str | None) -> list[Vouch]:
    return [
        Vouch(record_id("sybil", context, i, j), sybil(i), sybil(j), 3, NOW - 3600, context)
        for i, row in enumerate(picks.tolist())
        for j in row
    ]


# -- trust -----------------------------------------------------------------------------------


@dataclass
class TrustRow:
    mode: str
    g: int
    size: int
    mass: float
    mass_share: float
    inflow: float
    amplification: float
    bound: float
    above_median: float
    revoked_mass: float
    seconds: float


def trust_row(
    world: World, mode: str, g: int, size: int, region: list[Vouch], check_all: bool
) -> TrustRow:
    started = time.perf_counter()
    attackers, targets = world.attack_targets[mode, g, size]
    attack = [
        Vouch(record_id("attack", mode, g, size, a, t), honest(a), sybil(t), 3, NOW - 3600)
        for a, t in zip(attackers, targets, strict=True)
    ]
    vouches = world.honest_vouches + region + attack
    table = VouchTable.build(vouches)
    viewers = [table.index[honest(v)] for v in world.viewers]
    share = shares(table, now=NOW, context=None)
    checked = viewers if check_all else viewers[:1]
    check_replica(table, share, checked, None, NOW)
    scores, _ = propagate(table, share, viewers)

    honest_ids = np.array([table.index[honest(h)] for h in range(HONEST)])
    sybil_ids = np.array([table.index[sybil(s)] for s in range(size)])
    mass = scores[:, sybil_ids].sum(axis=1)
    attack_ids = {a.id for a in attack}
    attack_rows = np.array([i for i, v in enumerate(table.vouches) if v.id in attack_ids])
    # Shares are per (author, subject) pair, as trust() counts them.
    attack_pairs = np.unique(table.pair[attack_rows])
    inflow = (1 - RESTART) * (share[attack_pairs] * scores[:, table.pair_src[attack_pairs]]).sum(
        axis=1
    )
    passed_on = np.bincount(table.pair_src, weights=share, minlength=len(table.dids))
    bound = 1 / (1 - (1 - RESTART) * float(passed_on[sybil_ids].max()))
    above = []
    for row, viewer in enumerate(viewers):
        others = honest_ids[honest_ids != viewer]
        median = float(np.median(scores[row, others]))
        above.append(int((scores[row, sybil_ids] > median).sum()))

    cleared = VouchTable.build(vouches, revoked=[a.id for a in attack])
    cleared_viewers = [cleared.index[honest(v)] for v in world.viewers]
    cleared_scores, _ = propagate(cleared, shares(cleared, now=NOW, context=None), cleared_viewers)
    cleared_sybils = np.array([cleared.index[sybil(s)] for s in range(size)])
    revoked_mass = float(cleared_scores[:, cleared_sybils].sum(axis=1).max())
    return TrustRow(
        mode=mode,
        g=g,
        size=size,
        mass=float(mass.mean()),
        mass_share=float((mass / scores.sum(axis=1)).mean()),
        inflow=float(inflow.mean()),
        amplification=float((mass / inflow).mean()),
        bound=bound,
        above_median=statistics.mean(above) / g,
        revoked_mass=revoked_mass,
        seconds=time.perf_counter() - started,
    )


def viewers_together_vs_apart(world: World, region: list[Vouch]) -> tuple[float, float, int]:
    """Seconds for the 20 viewers as one propagate() and as 20 trust() calls (biggest case)."""
    attackers, targets = world.attack_targets["top", ATTACK_EDGES[-1], SIZES[-1]]
    attack = [
        Vouch(record_id("timing", a, t), honest(a), sybil(t), 3, NOW - 3600)
        for a, t in zip(attackers, targets, strict=True)
    ]
    table = VouchTable.build(world.honest_vouches + region + attack)
    viewers = [table.index[honest(v)] for v in world.viewers]
    started = time.perf_counter()
    propagate(table, shares(table, now=NOW, context=None), viewers)
    together = time.perf_counter() - started
    started = time.perf_counter()
    for v in world.viewers:
        trust(table, honest(v), now=NOW)
    apart = time.perf_counter() - started
    return together, apart, len(table.vouches)


# -- guild admission -------------------------------------------------------------------------


@dataclass
class GuildRow:
    mode: str
    g: int
    size: int
    admitted: int
    capacity: int
    honest_members: int
    confused_members: int
    seconds: float


@dataclass(frozen=True)
class Guild:
    charter: Charter
    applications: list[Application]
    vouches: list[Vouch]
    baseline: int  # honest members without the attack
    confused: dict[tuple[str, int], list[int]]  # (mode, g) → confused members, same for every S
    ceiling: int  # members when all honest nodes apply
    ceiling_seconds: float


def make_guild(world: World, seed: int) -> Guild:
    charter = Charter(
        id=record_id("guild"),
        author=honest(0),
        name="Bench guild",
        purpose="Sybil benchmark",
        founders=(honest(0), honest(1)),
        vouches_required=2,
        created_at=NOW - 200 * DAY,
        cooling_days=0,
    )
    context = charter.context
    inside = [
        (int(u), int(v)) for u, v in world.edges.tolist() if u < GUILD_SIZE and v < GUILD_SIZE
    ]
    vouches = [
        Vouch(record_id("guild-vouch", a, b), honest(a), honest(b), 2, NOW - 100 * DAY, context)
        for u, v in inside
        for a, b in ((u, v), (v, u))
    ]
    applications = [
        Application(record_id("apply", h), honest(h), charter.id, "apply", 1, NOW - 150 * DAY)
        for h in range(1, GUILD_SIZE)
    ]
    base = membership(charter, applications, vouches, now=NOW)
    members = sorted(int(did.removeprefix("did:key:z6MkHonest")) for did in base.members)
    degree = np.bincount([b for u, v in inside for b in (u, v)], minlength=GUILD_SIZE)
    by_degree = [h for h in np.argsort(-degree, kind="stable").tolist() if h in set(members)]
    rng = np.random.default_rng(seed)
    confused: dict[tuple[str, int], list[int]] = {}
    for g in ATTACK_EDGES:
        count = min(g, len(members))
        confused["top", g] = by_degree[:count]
        confused["random", g] = sorted(rng.choice(members, count, replace=False).tolist())

    # The ceiling: every honest node applies, vouched for along all its BA edges.
    everyone = [
        Vouch(record_id("guild-all", a, b), honest(a), honest(b), 2, NOW - 100 * DAY, context)
        for u, v in world.edges.tolist()
        for a, b in ((u, v), (v, u))
    ]
    all_applications = [
        Application(record_id("apply", h), honest(h), charter.id, "apply", 1, NOW - 150 * DAY)
        for h in range(1, HONEST)
    ]
    started = time.perf_counter()
    ceiling = len(membership(charter, all_applications, everyone, now=NOW).members)
    return Guild(
        charter,
        applications,
        vouches,
        len(base.members),
        confused,
        ceiling,
        time.perf_counter() - started,
    )


def guild_row(guild: Guild, mode: str, g: int, size: int, region: list[Vouch]) -> GuildRow:
    confused = guild.confused[mode, g]
    context = guild.charter.context
    attack = [
        Vouch(record_id("guild-attack", c, s), honest(c), sybil(s), 3, NOW - 3600, context)
        for c in confused
        for s in range(SYBIL_OUT)
    ]
    applications = guild.applications + [
        Application(record_id("sybil-apply", s), sybil(s), guild.charter.id, "apply", 1, NOW - DAY)
        for s in range(size)
    ]
    started = time.perf_counter()
    result = membership(guild.charter, applications, guild.vouches + region + attack, now=NOW)
    seconds = time.perf_counter() - started
    admitted = sum(1 for did in result.members if "Sybil" in did)
    return GuildRow(
        mode=mode,
        g=len(confused),
        size=size,
        admitted=admitted,
        capacity=sum(result.capacity.get(honest(c), 0) for c in confused),
        honest_members=len(result.members) - admitted,
        confused_members=sum(1 for c in confused if result.is_member(honest(c))),
        seconds=seconds,
    )


# -- the run ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sybil", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--no-guild", action="store_true", help="skip guild admission")
    args = parser.parse_args(argv)
    run_started = time.perf_counter()
    step = step_logger(run_started)

    step("honest BA graph, Sybil regions, attack edges (not timed)")
    world = make_world(args.seed, args.viewers)
    regions = {size: sybil_vouches(world.sybil_graphs[size], None) for size in SIZES}

    rows: list[TrustRow] = []
    for mode in MODES:
        for g in ATTACK_EDGES:
            for size in SIZES:
                step(f"trust: {mode} attackers, g = {g}, S = {size}")
                rows.append(trust_row(world, mode, g, size, regions[size], check_all=not rows))
    step("timing: 20 viewers as one product vs 20 trust() calls")
    together, apart, edges = viewers_together_vs_apart(world, regions[SIZES[-1]])

    guild_rows: list[GuildRow] = []
    guild: Guild | None = None
    if not args.no_guild:
        step("guild: honest baseline")
        guild = make_guild(world, args.seed + 1)
        for size in SIZES:
            region = sybil_vouches(world.sybil_graphs[size], guild.charter.context)
            for mode in MODES:
                for g in ATTACK_EDGES:
                    step(f"guild: {mode} confused members, g = {g}, S = {size}")
                    guild_rows.append(guild_row(guild, mode, g, size, region))
    step("done")

    print(
        f"\nSybil benchmark: honest Barabási–Albert graph n = {HONEST:,}, m = {BA_M} "
        f"({len(world.edges):,} edges, {len(world.honest_vouches):,} vouches both ways, "
        f"seed {args.seed}); each Sybil vouches for {SYBIL_OUT} others; "
        f"{len(world.viewers)} random honest viewers (means); Python "
        f"{platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}.\n"
        f"mass: Σ of the Sybils' scores; inflow: trust crossing the attack edges per step; "
        f"bound: mass ≤ inflow / (1 − 0.85 f).\n"
    )
    header = (
        f"{'attackers':<9} {'g':>4} {'S':>6} {'Sybil mass':>11} {'% of all':>8} "
        f"{'inflow':>10} {'mass/in':>8} {'bound':>6} {'>median/g':>10} {'revoked':>8} {'time':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        over = "" if r.amplification <= r.bound * (1 + 1e-9) else " !"
        print(
            f"{r.mode:<9} {r.g:>4} {r.size:>6,} {r.mass:>11.3e} {r.mass_share:>8.3%} "
            f"{r.inflow:>10.3e} {r.amplification:>8.3f} {r.bound:>6.3f}{over} "
            f"{r.above_median:>10.2f} {r.revoked_mass:>8.1g} {r.seconds:>6.1f}s"
        )
    print(
        f"\n{len(world.viewers)} viewers over {edges:,} vouches (S = {SIZES[-1]:,}): one "
        f"{len(world.viewers)}-row product {together:.2f} s, {len(world.viewers)} trust() "
        f"calls {apart:.2f} s (propagate() checked bit-identical to trust())."
    )

    print("\nGoals (trust)")
    by_key = {(r.mode, r.g, r.size): r for r in rows}
    for mode in MODES:
        for g in ATTACK_EDGES:
            small, big = by_key[mode, g, SIZES[0]], by_key[mode, g, SIZES[-1]]
            ratio = big.mass / small.mass
            ok = 1 / GOAL_FLAT <= ratio <= GOAL_FLAT
            print(
                f"  mass flat in S, {mode:<6} g = {g:>3}: S = {SIZES[-1]:,} / S = "
                f"{SIZES[0]} = {ratio:.3f}  (goal within {GOAL_FLAT}×)   {verdict(ok)}"
            )
    worst = max(rows, key=lambda r: r.above_median)
    print(
        f"  Sybils above the median honest node per attack edge ≤ {GOAL_ABOVE_MEDIAN:.0f}: "
        f"worst {worst.above_median:.2f} ({worst.mode}, g = {worst.g}, S = {worst.size:,})   "
        f"{verdict(all(r.above_median <= GOAL_ABOVE_MEDIAN for r in rows))}"
    )
    leaked = max(r.revoked_mass for r in rows)
    print(
        f"  Sybil mass after the attack vouches are revoked = 0: largest {leaked:g}   "
        f"{verdict(leaked == 0.0)}"
    )
    within = all(r.amplification <= r.bound * (1 + 1e-9) for r in rows)
    print(
        f"  mass bounded by the inflow over the g edges (mass ≤ inflow × bound): {verdict(within)}"
    )

    if guild is not None:
        print(
            f"\nGuild admission: 2 founders (capacity {FOUNDER_CAPACITY} each), honest "
            f"applicants BA nodes 1–{GUILD_SIZE - 1}; {guild.baseline} honest members without "
            f"the attack; vouches_required 2, cooling 0. Each confused member vouches for the "
            f"same {SYBIL_OUT} Sybils; every Sybil applies and vouches for {SYBIL_OUT} others.\n"
            f"Ceiling: with all {HONEST - 1} other honest nodes applying (vouched along every BA "
            f"edge), {guild.ceiling} are members ({guild.ceiling_seconds:.1f} s) — at most "
            f"founders × FOUNDER_CAPACITY = {2 * FOUNDER_CAPACITY}.\n"
        )
        header = (
            f"{'confused':<8} {'g':>4} {'S':>6} {'Sybils in':>9} {'Σ capacity':>10} "
            f"{'goal':>6} {'honest members':>14} {'confused kept':>13} {'membership()':>12}"
        )
        print(header)
        print("-" * len(header))
        for gr in guild_rows:
            print(
                f"{gr.mode:<8} {gr.g:>4} {gr.size:>6,} {gr.admitted:>9} {gr.capacity:>10} "
                f"{verdict(gr.admitted <= gr.capacity):>6} {gr.honest_members:>14} "
                f"{gr.confused_members:>13} {gr.seconds:>11.2f}s"
            )
        print("\nGoals (guild)")
        ok = all(r.admitted <= r.capacity for r in guild_rows)
        print(
            f"  Sybils admitted ≤ summed capacity of the confused members, every S: {verdict(ok)}"
        )
        slowest = max(guild_rows, key=lambda r: r.seconds)
        print(
            f"  slowest membership(): {slowest.seconds:.2f} s (S = {slowest.size:,}, "
            f"{slowest.mode}, g = {slowest.g}); {verdict(slowest.seconds <= GUILD_SLOW)} "
            f"against {GUILD_SLOW:.0f} s"
        )
    print(f"\nwall time of the whole run: {time.perf_counter() - run_started:.1f} s")
    return 0


if __name__ == "__main__":
    run(main)
