"""Trust benchmark: one viewer's personalised trust over 100,000 vouches, against one sparse
matrix-vector product on the same graph.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.trust [--vouches 100000]
        [--identities 10000] [--node-records 20000] [--seed 1]

DESIGN.md, "Limits to measure against": personalised trust over 100k vouches is measured
against the time of one sparse matrix-vector product (numpy), in the same run. The goal is
"array arithmetic, not Python loops": each power-iteration step should cost about one
matrix-vector product, and a query about (iterations × product) plus little else.

What is measured (generation is never timed):

* `VouchTable.build` over 100,000 `trust.Vouch` values among 10,000 identities (random graph,
  fixed seed, levels 1–3, 60 % general and 40 % contextual, created within the last year);
* one `trust()` query, general and in a skill context; the iteration count comes from a
  replica of `trust()`'s loop (`propagate` below), asserted bit-identical to `trust()`;
* the limit: `np.bincount(dst, weights=w * x[src], minlength=n)` on the same arrays, median
  of many, measured interleaved with the queries so that load on a shared machine hits both;
* where a query's time goes: the work before its loop (`VouchTable.weights`, and inside it
  the elementwise comparison of the object array of contexts and the fade; the shares), and
  the loop = query − that work, divided by the iteration count to give the cost of one
  iteration (the replica's loop, timed alone, is shown as a cross-check);
* `TrustView.score`, `ranked`, `rank`;
* the node's cache: `Node.trust_view` twice on a real node whose store holds signed vouch
  records (the first `--node-records` of the same graph, signed for real; 0 skips it), and
  again after one new record arrives (the store's version moves, so everything is rebuilt).

`propagate` is also what `bench.sybil` uses to compute 20 viewers as one sparse × dense
product. A correctness failure (replica differs from `trust()`, the node's view differs
from `trust()` on the same records) exits 1; a goal missed is a measurement, exit 0.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.common import BenchFailure, run, step_logger, verdict
from guildnode import derive
from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.trust import (
    MAX_ITERATIONS,
    MAX_VOUCH_LIFE,
    RESTART,
    SCORE_CAP,
    SINK,
    TOLERANCE,
    W_MAX,
    Vouch,
    VouchTable,
    trust,
)

NOW = 1_790_000_000  # 2026-09-21
HALF_LIFE_DAYS = 180.0  # trust()'s default
CONTEXTS: tuple[str | None, ...] = (None, "python", "design", "rust", "guild:" + "ab" * 32)
CONTEXT_WEIGHTS = (0.60, 0.15, 0.10, 0.10, 0.05)
GOAL_ITERATION = 2.0  # one iteration costs at most this many matrix-vector products
GOAL_OVERHEAD = 1.0  # work before the loop (weights, shares) at most this share of the loop's
ROUNDS = 25

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


# -- the replica of trust()'s iteration, for k viewers at once ------------------------------


def shares(table: VouchTable, *, now: int, context: str | None) -> Floats:
    """Each (author, subject) pair's share of its voucher's mass, exactly as `trust()`
    computes it (no block list): the pair's strongest vouch w / (Σ w + SINK × W_MAX)."""
    weight = table.weights(context=context, now=now, half_life_days=HALF_LIFE_DAYS)
    pair_weight = table.pair_weights(weight)
    out = np.bincount(table.pair_src, weights=pair_weight, minlength=len(table.dids))
    return pair_weight / (out[table.pair_src] + SINK * W_MAX) if len(weight) else weight


def propagate(table: VouchTable, share: Floats, viewers: Sequence[int]) -> tuple[Floats, Ints]:
    """`trust()`'s power iteration for several viewers at once, one row per viewer.

    One sparse × dense product per step: scores are held as (n, k), the block
    `share × scores[src]` (edges × k) is summed into (n × k) bins by a single `np.bincount`,
    whose per-bin sums run in edge order as `trust()`'s do, so each row of the result is
    bit-identical to `trust(table, viewer)._scores`. A viewer stops when its own L1 change
    falls below TOLERANCE, as `trust()` stops. Returns the scores (k, n) and each viewer's
    iteration count."""
    n, k = len(table.dids), len(viewers)
    columns = np.arange(k)
    restart = np.zeros((n, k))
    restart[viewers, columns] = RESTART
    cap = np.full((n, k), SCORE_CAP)
    cap[viewers, columns] = 1.0
    scores = restart.copy()
    iterations = np.zeros(k, dtype=np.int64)
    active = columns
    held, base, limit = scores, restart, cap
    bins = (table.pair_dst[:, None] * k + columns[None, :]).ravel()
    weights = share[:, None]
    for step in range(1, MAX_ITERATIONS + 1):
        a = len(active)
        flowing = np.bincount(
            bins, weights=(weights * held[table.pair_src]).ravel(), minlength=n * a
        ).reshape(n, a)
        updated = np.minimum(base + (1 - RESTART) * flowing, limit)
        # per viewer, over a contiguous vector, as trust() sums its change
        difference = np.ascontiguousarray(np.abs(updated - held).T)
        going = np.array([float(row.sum()) >= TOLERANCE for row in difference], dtype=bool)
        scores[:, active] = updated
        iterations[active] = step
        if going.all():
            held = updated
            continue
        active = active[going]
        if not len(active):
            break
        held = np.ascontiguousarray(scores[:, active])
        base, limit = restart[:, active], cap[:, active]
        bins = (table.pair_dst[:, None] * len(active) + np.arange(len(active))[None, :]).ravel()
    return np.ascontiguousarray(scores.T), iterations


def check_replica(
    table: VouchTable, share: Floats, viewers: Sequence[int], context: str | None, now: int
) -> tuple[Floats, Ints]:
    """`propagate` for `viewers`, asserted bit-identical to `trust()` for each of them."""
    scores, iterations = propagate(table, share, viewers)
    for row, viewer in enumerate(viewers):
        reference = trust(table, table.dids[viewer], now=now, context=context)
        if not np.array_equal(reference._scores, scores[row]):
            worst = float(np.abs(reference._scores - scores[row]).max())
            raise BenchFailure(
                f"the replica of trust()'s iteration differs for viewer {viewer} "
                f"(context {context!r}): max |Δ| = {worst:.3g}"
            )
    return scores, iterations


# -- the workload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Graph:
    """A random vouch graph as arrays (fixed seed); row i is vouch i."""

    src: Ints
    dst: Ints
    level: Ints
    age: Ints  # seconds before NOW
    context: Ints  # index into CONTEXTS

    def __len__(self) -> int:
        return len(self.src)


def random_graph(vouches: int, identities: int, seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    src = rng.integers(0, identities, vouches)
    dst = rng.integers(0, identities - 1, vouches)
    dst = dst + (dst >= src)  # nobody vouches for themselves
    return Graph(
        src=src,
        dst=dst,
        level=rng.integers(1, 4, vouches),
        age=rng.integers(0, MAX_VOUCH_LIFE - 86_400, vouches),
        context=rng.choice(len(CONTEXTS), vouches, p=CONTEXT_WEIGHTS),
    )


def synthetic_vouches(graph: Graph, dids: Sequence[str]) -> list[Vouch]:
    """The graph as `trust.Vouch` values; ids are hashes, so record-id order is random."""
    return [
        Vouch(
            id=hashlib.sha256(b"bench-trust/%d" % i).hexdigest(),
            author=dids[s],
            subject=dids[d],
            level=int(lv),
            created_at=NOW - int(a),
            context=CONTEXTS[c],
        )
        for i, (s, d, lv, a, c) in enumerate(
            zip(
                graph.src.tolist(),
                graph.dst.tolist(),
                graph.level.tolist(),
                graph.age.tolist(),
                graph.context.tolist(),
                strict=True,
            )
        )
    ]


# -- timing ----------------------------------------------------------------------------------


def once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Samples:
    """Timings collected in interleaved rounds, so that load on a shared machine falls on
    every measurement alike; reported as medians."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def take(self, name: str, fn: Callable[[], object], repeat: int = 1) -> None:
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        self.times.setdefault(name, []).append((time.perf_counter() - start) / repeat)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


# -- the node's cache ------------------------------------------------------------------------


@dataclass
class NodeFigures:
    records: int
    prepare: float
    derive_vouches: float
    build: float
    first: float
    cached: float
    after_new_record: float
    query: float


def node_cache(graph: Graph, records: int, tmp: Path, step: Callable[[str], None]) -> NodeFigures:
    """A real node whose store holds the first `records` vouches of the graph (by author),
    signed for real; identity 0 is the node's owner, so the owner's view is that viewer's."""
    started = time.perf_counter()
    datadir = DataDir(tmp / "node")
    datadir.create()
    node = Node(datadir, clock=lambda: NOW)
    try:
        order = np.argsort(graph.src, kind="stable")[:records]
        authors = sorted(set(graph.src[order].tolist()) | set(graph.dst[order].tolist()) | {0})
        step(f"node: {len(authors)} identities, signing {len(order)} vouch records (not timed)")
        identities: dict[int, Identity] = {0: node.identity}
        for a in authors:
            if a:
                identities[a] = Identity(hashlib.sha256(b"bench-trust/identity/%d" % a).digest())
        by_author: dict[int, list[int]] = {}
        for i in order.tolist():
            by_author.setdefault(int(graph.src[i]), []).append(i)
        batch: list[VerifiedRecord] = []
        for author, rows in by_author.items():
            rows.sort(key=lambda i: -int(graph.age[i]))  # oldest first: created never goes back
            prev = None
            for seq, i in enumerate(rows, start=1):
                body: dict[str, object] = {
                    "subject": identities[int(graph.dst[i])].did,
                    "level": int(graph.level[i]),
                }
                context = CONTEXTS[int(graph.context[i])]
                if context is not None:
                    body["context"] = context
                record = sign_record(
                    identities[author],
                    kind="vouch",
                    body=body,
                    seq=seq,
                    prev=prev,
                    created_at=NOW - int(graph.age[i]),
                )
                prev = record.id
                batch.append(record)
            if len(batch) >= 5_000:
                node.store.commit(batch)
                batch = []
        node.store.commit(batch)
        prepare = time.perf_counter() - started
        step("node: trust_view cold, cached, after one new record")
        first = once(lambda: node.trust_view())
        cached = min(once(lambda: node.trust_view()) for _ in range(5))
        view = node.trust_view()
        if node.trust_view() is not view:
            raise BenchFailure("Node.trust_view did not answer the second call from its cache")
        vouches = derive.vouches(node.store)
        table = VouchTable.build(vouches, revoked=derive.revoked(node.store, vouches))
        reference = trust(table, node.did, now=NOW)
        if not np.array_equal(reference._scores, view._scores):
            raise BenchFailure("Node.trust_view differs from trust() over the same records")
        derive_vouches = statistics.median(
            once(lambda: derive.vouches(node.store)) for _ in range(3)
        )
        build = statistics.median(once(lambda: VouchTable.build(vouches)) for _ in range(3))
        query = statistics.median(once(lambda: trust(table, node.did, now=NOW)) for _ in range(5))
        node.publish("profile", {"name": "Bench owner", "kind": "person"})
        after = once(lambda: node.trust_view())
        return NodeFigures(
            records=len(vouches),
            prepare=prepare,
            derive_vouches=derive_vouches,
            build=build,
            first=first,
            cached=cached,
            after_new_record=after,
            query=query,
        )
    finally:
        node.close()


# -- the run ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.trust", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--vouches", type=int, default=100_000)
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--node-records",
        type=int,
        default=20_000,
        help="signed vouches in the real node's store (0: skip; 100000: the whole graph)",
    )
    args = parser.parse_args(argv)
    run_started = time.perf_counter()
    step = step_logger(run_started)

    step(f"generating {args.vouches} vouches among {args.identities} identities (not timed)")
    graph = random_graph(args.vouches, args.identities, args.seed)
    dids = [f"did:key:z6MkBench{i:08d}" for i in range(args.identities)]
    vouches = synthetic_vouches(graph, dids)

    step("VouchTable.build, 3 times")
    build_times = [once(lambda: VouchTable.build(vouches)) for _ in range(3)]
    table = VouchTable.build(vouches)
    n = len(table.dids)
    viewer_did = dids[0]
    viewer = table.index[viewer_did]

    step("replica of trust()'s iteration, checked bit-identical to trust()")
    general_share = shares(table, now=NOW, context=None)
    python_share = shares(table, now=NOW, context="python")
    general_scores, general_its = check_replica(table, general_share, [viewer], None, NOW)
    _, python_its = check_replica(table, python_share, [viewer], "python", NOW)
    its = {None: int(general_its[0]), "python": int(python_its[0])}

    weight = table.weights(context=None, now=NOW, half_life_days=HALF_LIFE_DAYS)
    x = general_scores[0]
    src, dst = table.src, table.dst

    def matvec() -> object:
        return np.bincount(dst, weights=weight * x[src], minlength=n)

    def iterations(share: Floats) -> Callable[[], object]:
        return lambda: propagate(table, share, [viewer])

    step(f"{ROUNDS} interleaved rounds: matvec, trust(), its parts")
    samples = Samples()
    for _ in range(ROUNDS):
        samples.take("matvec", matvec, repeat=5)
        samples.take("trust general", lambda: trust(table, viewer_did, now=NOW))
        samples.take("trust python", lambda: trust(table, viewer_did, now=NOW, context="python"))
        samples.take("matvec", matvec, repeat=5)
        samples.take(
            "weights general",
            lambda: table.weights(context=None, now=NOW, half_life_days=HALF_LIFE_DAYS),
        )
        samples.take(
            "weights python",
            lambda: table.weights(context="python", now=NOW, half_life_days=HALF_LIFE_DAYS),
        )
        samples.take("context == None", lambda: table.context == None)  # noqa: E711
        samples.take("context == 'python'", lambda: table.context == "python")
        samples.take("fade", lambda: 0.5 ** ((NOW - table.start) / (HALF_LIFE_DAYS * 86_400)))
        samples.take("shares general", lambda: shares(table, now=NOW, context=None))
        samples.take("shares python", lambda: shares(table, now=NOW, context="python"))
        samples.take("loop general", iterations(general_share))
        samples.take("loop python", iterations(python_share))

    view = trust(table, viewer_did, now=NOW)
    someone = view.ranked()[len(view.ranked()) // 2][0]
    step("TrustView.score, ranked, rank")
    for _ in range(5):
        samples.take("score", lambda: view.score(someone), repeat=100)
        samples.take("ranked", view.ranked)
        samples.take("rank", lambda: view.rank(someone))
        samples.take("dict lookup", lambda: {(1, None, 2): view}.get((1, None, 2)), repeat=100)

    node: NodeFigures | None = None
    if args.node_records > 0:
        with tempfile.TemporaryDirectory(prefix="guildnode-bench-trust-") as tmp:
            node = node_cache(graph, min(args.node_records, len(graph)), Path(tmp), step)
    step("done")

    mv = samples.median("matvec")
    rows: list[tuple[str, float, str]] = []

    def row(label: str, seconds: float, note: str = "") -> None:
        rows.append((label, seconds, note))

    build = statistics.median(build_times)
    row("VouchTable.build (median of 3)", build, f"{build / len(vouches) * 1e6:.2f} µs per vouch")
    row("one sparse matvec (the limit)", mv, "np.bincount(dst, weights=w*x[src]), median")
    per_iteration: dict[str | None, float] = {}
    setup_share: dict[str | None, float] = {}
    for context in (None, "python"):
        name = "general" if context is None else "python"
        query = samples.median(f"trust {name}")
        setup = samples.median(f"shares {name}")  # trust()'s work before its loop
        looping = max(query - setup, 0.0)
        per_iteration[context] = looping / its[context]
        setup_share[context] = setup / looping if looping else float("inf")
        replica = samples.median(f"loop {name}") / its[context]
        row(
            f"trust(), {name}: one query",
            query,
            f"{its[context]} iterations; query/matvec = {query / mv:.0f}",
        )
        row(
            "  before the loop: weights + shares",
            setup,
            f"{setup / mv:.0f} × matvec; {setup_share[context]:.0%} of the loop's time",
        )
        row(
            "    weights()",
            samples.median(f"weights {name}"),
            f"{samples.median(f'weights {name}') / mv:.0f} × matvec",
        )
        compare = samples.median("context == None") + (
            samples.median("context == 'python'") if context else 0.0
        )
        row(
            "      context == … (object array)",
            compare,
            f"{compare / mv:.0f} × matvec; a Python __eq__ per vouch",
        )
        row(
            "      fade 0.5 ** (age / half-life)",
            samples.median("fade"),
            f"{samples.median('fade') / mv:.0f} × matvec",
        )
        row(
            "  the loop: query − before",
            looping,
            f"{its[context]} × {fmt(per_iteration[context])} = "
            f"{per_iteration[context] / mv:.2f} × matvec per iteration",
        )
        row(
            "  (replica's loop, cross-check)",
            samples.median(f"loop {name}"),
            f"{fmt(replica)} = {replica / mv:.2f} × matvec per iteration",
        )
    row(
        "trust(), shares alone (general)",
        samples.median("shares general"),
        "weights() + bincount + divide",
    )
    row("TrustView.score", samples.median("score"), "")
    row(
        "TrustView.ranked()",
        samples.median("ranked"),
        f"{len(view.ranked())} identities, a Python list",
    )
    row("TrustView.rank(did)", samples.median("rank"), "calls ranked() inside")
    row("cache hit: a dict lookup", samples.median("dict lookup"), "")
    if node is not None:
        row(
            f"Node.trust_view, cold ({node.records:,} vouches)",
            node.first,
            "derive + VouchTable.build + trust()",
        )
        row(
            "  derive.vouches(store)",
            node.derive_vouches,
            f"{node.derive_vouches / node.records * 1e6:.2f} µs per vouch",
        )
        row("  VouchTable.build", node.build, f"{node.build / node.records * 1e6:.2f} µs per vouch")
        row("  trust()", node.query, "")
        row(
            "Node.trust_view, cached (best of 5)",
            node.cached,
            f"{node.first / max(node.cached, 1e-9):,.0f}× faster than cold",
        )
        row(
            "Node.trust_view after one new record",
            node.after_new_record,
            "store.version moved: derive + build + trust() again",
        )

    print(
        f"\nTrust benchmark: {len(vouches):,} vouches among {n:,} identities (seed {args.seed}; "
        f"levels 1–3; contexts {', '.join(str(c) for c in CONTEXTS[:4])}, guild; created within "
        f"the last year), one viewer; Python {platform.python_version()}, numpy "
        f"{np.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}.\n"
        f"Medians of {ROUNDS} interleaved rounds (matvec: {len(samples.times['matvec'])} "
        f"samples of 5). The replica of trust()'s loop is bit-identical to trust().\n"
    )
    print(f"{'measurement':<44} {'time':>10}  notes")
    print(f"{'-' * 44} {'-' * 10}  {'-' * 40}")
    for label, seconds, note in rows:
        print(f"{label:<44} {fmt(seconds):>10}  {note}")
    if node is not None:
        print(
            f"(node store prepared in {node.prepare:.1f} s, not timed; "
            f"--node-records {args.node_records})"
        )

    print("\nGoal: array arithmetic, not Python loops")
    for context in (None, "python"):
        name = "general" if context is None else "python"
        ratio = per_iteration[context] / mv
        print(
            f"  {name:<8} one iteration ≤ {GOAL_ITERATION:.0f} × matvec: "
            f"{ratio:5.2f} ×   {verdict(ratio <= GOAL_ITERATION)}"
        )
        share = setup_share[context]
        print(
            f"  {name:<8} work before the loop ≤ {GOAL_OVERHEAD:.0%} of the loop's: "
            f"{share:5.0%}   {verdict(share <= GOAL_OVERHEAD)}"
        )
    print(f"\nwall time of the whole run: {time.perf_counter() - run_started:.1f} s")
    return 0


if __name__ == "__main__":
    run(main)
