"""Sync benchmark: catch-up, idle sync and gossip, against the limits in DESIGN.md.

    uv run python -m bench.sync [--records 50000] [--authors 500] [--catch-up-limit 120]
                                [--gossip 100,300,1000] [--real-max 300]
                                [--gossip-budget 150] [--profile]

DESIGN.md, "Limits to measure against":

* catch-up sync of a fresh node over loopback — bytes on the wire vs the records' canonical
  bytes; round trips vs feeds. Also its rate vs `Node.ingest` of the same records measured in
  the same run (the "direct ingest rate"). Goals: rate ≥ 90 % of direct, wire bytes ≤ 1.1 ×
  canonical, at most 20 round trips (batches of many feeds, `POST /sync/batch`).
* an idle sync with a peer that has nothing new — one round trip, a few hundred bytes.
  Goal: exactly 1 round trip and < 512 bytes both ways.
* gossip of one new record through N nodes — log2(N) rounds. Goal: ≤ 2·log2(N).

What is measured (signing and serialising the workload are never timed):

(1) 50,000 chained `vouch` records (~410 canonical bytes) of 500 fixed authors, `created` in
    the past, are stored into the source's data directory by `Node.ingest(..., scoped=False)`
    in batches of 200 (timed: the direct ingest rate). The source is then served by a real
    `guildnode --data DIR run --sync-interval 0` process on 127.0.0.1. The fresh node F lives
    in this process: its owner vouches for the 500 authors (so they are in its scope; not
    timed), then `Federation(F, Settings(..., sync_interval=0))` with the default transport
    (real sockets) adds the source as a peer and `sync_peer` runs rounds until it has
    accepted every record (timed). F must then hold every record, with the source's heads,
    and `F.check()` must pass. Wire figures are the rounds' `SyncReport.traffic`; a response
    hook on F's client breaks them down by request. `compute_scope` is wrapped (counted and
    timed, nothing else) to show what `Node.scope()` costs during the catch-up. A catch-up
    still running after `--catch-up-limit` seconds is cancelled and reported INCOMPLETE with
    what it reached (so a slow build cannot make the run unbounded).
(2) One more `sync_peer` round with the unchanged source (the heads ETag is known). If the
    catch-up did not finish, a fresh node that replicates none of the source's feeds
    measures it instead (its first round learns the ETag).
(3) Gossip. N in-process nodes (one FastAPI app each, in `LifespanManager`, requests routed by
    host to `httpx.ASGITransport`; data directories on tmpfs when there is one) on a random
    8-regular peer graph (fixed seed). Every node vouches for X = node 0 (not timed); after one
    warm-up round (every heads ETag known), X publishes a new record, its push queue is
    flushed (X pushes to its 8 peers), then rounds run — a round is every node's
    `federation.sync_all()`, all at once — until every node holds the record. Beside it: a
    model of the same pull protocol on the same graph (heads compared with each peer, the
    feed fetched from every peer that is ahead, own records offered where the peer's heads
    lack them, everyone working from the state at the start of the round). Real nodes run up
    to `--real-max` (300: N = 1,000 real nodes need ~0.8 GB and ~5 minutes on 2 cores, over
    this run's budget); above it the model alone gives the figure. A concurrent real round
    could carry a record more than one hop, so real ≤ model; so far they agree round by
    round, request by request.

Any correctness failure (a record missing, a check failing, a sync error) exits 1; falling
short of a goal is a measurement, not a failure: exit 0. `--profile` adds a cProfile run of
the catch-up (this process, all threads; the server is not profiled). Traffic goes only to
127.0.0.1 or stays in process; a whole run takes about four minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import pstats
import random
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
from asgi_lifespan import LifespanManager

import guildnode
from bench.common import (
    BenchFailure,
    print_stats,
    run,
    running_server,
    step_logger,
    verdict,
    vouch_chains,
)
from bench.common import Profiler as BaseProfiler
from guildnode.app import create_app
from guildnode.datadir import DataDir
from guildnode.federation import Federation, SyncReport
from guildnode.node import Node
from guildnode.peers import Traffic
from guildnode.protocol import Identity, VerifiedRecord, canonical_bytes, decode_sig
from guildnode.scope import compute_scope
from guildnode.settings import Settings

BASE_TIME = 1_790_000_000  # 2026-09-21, in the past (and within a vouch's 365-day life)
BATCH = 200
GOAL_RATE = 0.90  # catch-up rate ÷ direct ingest rate (issue 14)
GOAL_WIRE = 1.10  # bytes on the wire ÷ canonical bytes
GOAL_IDLE_BYTES = 512
GOAL_TRIPS = 20  # round trips of the whole catch-up (POST /sync/batch, SPEC §9.13)
GOAL_GOSSIP = 2.0  # rounds ≤ this × log2(N)
DEGREE = 8
GRAPH_SEED = 20261127
MAX_CATCH_UP_ROUNDS = 5
STATEMENT = "Good work."  # records of ~400 canonical bytes

Wire = dict[str, Any]


# -- the workload -----------------------------------------------------------------------------


@dataclass
class Workload:
    identities: list[Identity]
    chains: list[list[VerifiedRecord]]

    @property
    def records(self) -> list[VerifiedRecord]:
        return [record for chain in self.chains for record in chain]

    @property
    def canonical_bytes(self) -> int:
        return sum(len(r.canonical) for chain in self.chains for r in chain)


def build_workload(records: int, authors: int) -> Workload:
    """`records` signed vouches of `authors` fixed identities, each author's chained."""
    identities, chains = vouch_chains(
        records, authors, label=b"guildnode-bench-sync", statement=STATEMENT, base_time=BASE_TIME
    )
    return Workload(identities, chains)


def bare_verify_rate(workload: Workload) -> float:
    """PyNaCl's bare Ed25519 verify over the records' unsigned canonical bytes, one thread."""
    keys = {i.did: nacl.signing.VerifyKey(i.public_key) for i in workload.identities}
    items = []
    for record in workload.records[:20_000]:
        wire = record.to_wire()
        unsigned = {k: v for k, v in wire.items() if k != "sig"}
        items.append((keys[record.author], canonical_bytes(unsigned), decode_sig(wire["sig"])))
    start = time.perf_counter()
    for key, message, signature in items:
        key.verify(message, signature)
    return len(items) / (time.perf_counter() - start)


# -- (1) the source: direct ingest, then a real server -------------------------------------


def ingest_direct(path: Path, workload: Workload) -> float:
    """Create the source's data directory and `Node.ingest` every record into it, in author
    order, batches of 200, as fresh dicts (as a parsed page hands them over). Records/s."""
    DataDir(path).create()
    wire = [r.to_wire() for r in workload.records]
    batches = [
        json.loads(json.dumps(wire[i : i + BATCH])) for i in range(0, len(wire), BATCH)
    ]  # fresh objects, not shared with the signed records
    node = Node(DataDir(path))
    try:
        gc.collect()
        start = time.perf_counter()
        answers = [node.ingest(batch, scoped=False) for batch in batches]
        elapsed = time.perf_counter() - start
        for number, results in enumerate(answers):
            for index, result in enumerate(results):
                if result.status != "accepted":
                    raise BenchFailure(
                        f"direct ingest batch {number} record {index}: {result.status} "
                        f"{result.error}"
                    )
        if node.store.count() != len(wire):
            raise BenchFailure(f"the source holds {node.store.count()} records, not {len(wire)}")
    finally:
        node.close()
    return len(wire) / elapsed


# -- (1) and (2): the fresh node's side -----------------------------------------------------


@dataclass
class WireLog:
    """Requests seen by an httpx response hook, by kind: count, bytes sent, bytes received
    (request headers + body; response headers + Content-Length). A breakdown only: the
    figures that count are `SyncReport.traffic`'s."""

    counts: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)

    @staticmethod
    def kind(request: httpx.Request) -> str:
        path = request.url.path
        for prefix, name in (
            ("/sync/heads", "heads"),
            ("/sync/feed/", "feed"),
            ("/sync/batch", "batch"),
            ("/inbox", "inbox"),
            ("/.well-known", "well-known"),
        ):
            if path.startswith(prefix):
                return f"{request.method} {name}"
        return f"{request.method} other"

    async def hook(self, response: httpx.Response) -> None:
        request = response.request
        kind = self.kind(request)
        self.counts[kind] += 1
        self.sent[kind] += len(request.content) + sum(
            len(k) + len(v) + 4 for k, v in request.headers.raw
        )
        length = response.headers.get("content-length", "0")
        self.received[kind] += (
            (int(length) if length.isdigit() else 0)
            + sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
            + 12
        )

    def clear(self) -> None:
        self.counts.clear()
        self.sent.clear()
        self.received.clear()


class Profiler(BaseProfiler):
    """`bench.common.Profiler` whose stats skip threads' profilers that recorded nothing."""

    def stats(self) -> pstats.Stats:
        stats: pstats.Stats | None = None
        for profiler in self.profilers:
            with contextlib.suppress(Exception):
                profiler.disable()
            profiler.create_stats()
            if profiler.stats:
                stats = pstats.Stats(profiler) if stats is None else stats.add(profiler)
        assert stats is not None
        return stats


@dataclass
class CatchUp:
    seconds: float
    rounds: int
    traffic: Traffic  # the rounds' `SyncReport.traffic`, summed (complete rounds only)
    accepted: int
    breakdown: WireLog
    complete: bool = True
    progress: list[tuple[float, int]] = field(default_factory=list)  # (s, records held)
    scope_calls: int = 0
    scope_seconds: float = 0.0
    scope_ms_full: float = 0.0  # one compute_scope over the full store, afterwards
    idle: SyncReport | None = None
    idle_note: str = ""
    check_seconds: float = 0.0


class ScopeMeter:
    """Counts and times `compute_scope` as `Node.scope()` calls it (observation only: the
    wrapper calls the original and returns its result)."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        import guildnode.node as node_module

        original = getattr(node_module, "compute_scope")  # noqa: B009 - not re-exported

        def metered(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.calls += 1
                    self.seconds += time.perf_counter() - start

        setattr(node_module, "compute_scope", metered)  # noqa: B010
        try:
            yield
        finally:
            setattr(node_module, "compute_scope", original)  # noqa: B010


def fresh_node(path: Path, workload: Workload | None) -> None:
    """F's data directory; its owner vouches for every author (not timed)."""
    DataDir(path).create()
    node = Node(DataDir(path))
    try:
        for identity in workload.identities if workload else []:
            node.vouch(identity.did, level=2, statement="Bench peer.")
    finally:
        node.close()


def _row(node: Node, did: str) -> dict[str, Any]:
    return next(p for p in node.store.peers() if p["did"] == did)


async def catch_up(
    path: Path,
    source_url: str,
    workload: Workload,
    *,
    limit: float,
    idle: bool,
    check: bool,
    profiler: Profiler | None = None,
) -> CatchUp:
    """Rounds of `sync_peer` from F to the source until F has accepted every record, or
    until `limit` seconds have passed (then the round is cancelled: `complete` is False)."""
    expected = sum(len(chain) for chain in workload.chains)
    own = len(workload.identities)  # F's own vouches
    node = Node(DataDir(path))
    federation = Federation(
        node, Settings(data_dir=path, sync_interval=0, allow_private_peers=True)
    )  # the source is on loopback
    wire = WireLog()
    hooks = getattr(getattr(federation.client, "_client", None), "event_hooks", None)
    if hooks is not None:  # observation only: a breakdown of the traffic by request kind
        hooks["response"].append(wire.hook)
    meter = ScopeMeter()
    try:
        peer = await federation.add_peer(source_url)
        wire.clear()  # the well-known request of add_peer is not part of the sync
        total = Traffic()
        progress: list[tuple[float, int]] = []
        counters = {"accepted": 0, "rounds": 0}

        async def rounds() -> None:
            while counters["accepted"] < expected and counters["rounds"] < MAX_CATCH_UP_ROUNDS:
                report = await federation.sync_peer(_row(node, peer["did"]))
                counters["rounds"] += 1
                if report.error is not None or report.rejected:
                    raise BenchFailure(
                        f"catch-up round {counters['rounds']}: error {report.error}, "
                        f"rejected {dict(report.rejected)}"
                    )
                counters["accepted"] += report.accepted
                total.add(report.traffic)

        async def sample(start: float) -> None:
            while True:
                await asyncio.sleep(1.0)
                progress.append((time.perf_counter() - start, node.store.count() - own))

        gc.collect()
        with meter.installed():
            if profiler:
                profiler.start()
            start = time.perf_counter()
            sampler = asyncio.create_task(sample(start))
            complete = True
            try:
                await asyncio.wait_for(rounds(), timeout=limit)
            except TimeoutError:
                complete = False
            seconds = time.perf_counter() - start
            sampler.cancel()
            if profiler:
                profiler.stop()
            # A cancelled page's ingest goes on in its thread: let it finish (it holds the
            # node's write lock) before counting and closing.
            write_lock = getattr(node, "_write_lock", None)
            if write_lock is not None:
                await asyncio.to_thread(
                    lambda: write_lock.acquire(timeout=60) and write_lock.release()
                )
        held = node.store.count() - own
        progress.append((seconds, held))
        result = CatchUp(
            seconds,
            counters["rounds"],
            total,
            counters["accepted"] if complete else held,
            wire,
            complete,
            progress,
            meter.calls,
            meter.seconds,
        )

        # Verify: every record, the source's heads (and `check` below).
        if complete:
            if counters["accepted"] != expected or held != expected:
                raise BenchFailure(
                    f"F accepted {counters['accepted']} and holds {held} records besides its "
                    f"own {own}; expected {expected}"
                )
            heads = node.store.heads()
            for chain in workload.chains:
                last = chain[-1]
                if heads.get(last.author, (None, None, None))[:2] != (last.seq, last.id):
                    raise BenchFailure(f"F's head of {last.author} is {heads.get(last.author)}")
        begin = time.perf_counter()
        compute_scope(node.store, node.did, node.now())
        result.scope_ms_full = (time.perf_counter() - begin) * 1000

        if idle and complete:
            result.idle = await federation.sync_peer(_row(node, peer["did"]))
            if result.idle.error is not None or result.idle.accepted:
                raise BenchFailure(f"idle round: {result.idle.as_dict()}")
        if check:
            begin = time.perf_counter()
            report = await asyncio.to_thread(node.check)
            result.check_seconds = time.perf_counter() - begin
            if not report.ok:
                raise BenchFailure(f"F.check() failed: {report.problems[:5]}")
        return result
    finally:
        await federation.stop()
        node.close()


async def idle_without_catch_up(path: Path, source_url: str) -> SyncReport:
    """An idle round with the source by a node that replicates none of its feeds (used when
    the catch-up did not finish): one round learns the heads' ETag, the next is idle."""
    node = Node(DataDir(path))
    federation = Federation(
        node, Settings(data_dir=path, sync_interval=0, allow_private_peers=True)
    )  # the source is on loopback
    try:
        peer = await federation.add_peer(source_url)
        first = await federation.sync_peer(_row(node, peer["did"]))
        if first.error is not None:
            raise BenchFailure(f"idle node's first round: {first.as_dict()}")
        report = await federation.sync_peer(_row(node, peer["did"]))
        if report.error is not None or report.accepted:
            raise BenchFailure(f"idle round: {report.as_dict()}")
        return report
    finally:
        await federation.stop()
        node.close()


# -- (3) gossip -------------------------------------------------------------------------------


def regular_graph(n: int, degree: int, seed: int) -> list[list[int]]:
    """A random `degree`-regular simple graph on n nodes: a ring lattice (each node joined to
    its degree/2 nearest on each side) randomised by double-edge swaps, kept connected."""
    if degree % 2 or degree >= n:
        raise SystemExit("the degree must be even and below N")
    rng = random.Random(seed)
    edges = [(i, (i + k) % n) for i in range(n) for k in range(1, degree // 2 + 1)]
    present = {frozenset(e) for e in edges}
    swaps = 10 * len(edges)
    for _ in range(swaps):
        i, j = rng.randrange(len(edges)), rng.randrange(len(edges))
        (a, b), (c, d) = edges[i], edges[j]
        if rng.random() < 0.5:
            c, d = d, c
        if len({a, b, c, d}) < 4 or frozenset((a, d)) in present or frozenset((c, b)) in present:
            continue
        present -= {frozenset((a, b)), frozenset((c, d))}
        present |= {frozenset((a, d)), frozenset((c, b))}
        edges[i], edges[j] = (a, d), (c, b)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    if any(len(ns) != degree for ns in neighbours) or len(bfs(neighbours, 0)) != n:
        return regular_graph(n, degree, seed + 1)  # (practically never) disconnected
    return [sorted(ns) for ns in neighbours]


def bfs(neighbours: Sequence[Sequence[int]], origin: int) -> dict[int, int]:
    distance = {origin: 0}
    queue = deque([origin])
    while queue:
        node = queue.popleft()
        for other in neighbours[node]:
            if other not in distance:
                distance[other] = distance[node] + 1
                queue.append(other)
    return distance


@dataclass
class GossipResult:
    n: int
    kind: str  # "real" or "model"
    rounds: int | None  # None: not every node held the record within the bound
    holders: list[int]  # after the push, then after each round
    requests: list[Counter[str]] = field(default_factory=list)  # per round
    round_seconds: list[float] = field(default_factory=list)
    setup_seconds: float = 0.0
    note: str = ""


def gossip_model(neighbours: Sequence[Sequence[int]], origin: int, bound: int) -> GossipResult:
    """The pull protocol of `Federation.sync_all` on the same graph, in synchronous rounds.

    State per node: whether it holds X's new record, and per peer whether the heads it last
    saw from that peer (its ETag) are still current. After X's push, X's peers hold it. In a
    round each node asks each of its peers for heads: 304 if unchanged, else 200, and then
    (as `_offer_own_records` does) it offers its own records to a peer whose heads lack them,
    which refuses them because the node is outside the peer's scope (a POST /inbox); from
    every peer whose heads
    are ahead it fetches X's feed (`sync_all` talks to all peers at once, so a node with k
    peers ahead fetches k times; all but the first page are duplicates). Everyone works from
    the state at the start of the round. Requests are counted per round.
    """
    n = len(neighbours)
    holds = [False] * n
    holds[origin] = True
    for peer in neighbours[origin]:
        holds[peer] = True
    seen = [dict.fromkeys(ns, False) for ns in neighbours]  # peer's state at our last 200
    holders = [sum(holds)]
    requests: list[Counter[str]] = [Counter({"POST inbox": len(neighbours[origin])})]
    rounds = 0
    while sum(holds) < n and rounds < bound:
        rounds += 1
        start_state = list(holds)
        counts: Counter[str] = Counter()
        for node in range(n):
            for peer in neighbours[node]:
                if seen[node][peer] == start_state[peer]:
                    counts["GET heads 304"] += 1
                    continue
                counts["GET heads 200"] += 1
                seen[node][peer] = start_state[peer]
                # The peer's heads lack this node's own feed, so the node offers its own
                # records, refused (out of scope). Not to X: X holds its peers' vouches for
                # it (they name X's owner, SPEC §9.7); not by X: its peers hold its feed.
                if origin not in (node, peer):
                    counts["POST inbox"] += 1
                if start_state[peer] and not start_state[node]:
                    counts["GET feed"] += 1
                    holds[node] = True
        requests.append(counts)
        holders.append(sum(holds))
    return GossipResult(n, "model", rounds if sum(holds) == n else None, holders, requests)


class Router(httpx.AsyncBaseTransport):
    """Routes requests by host to ASGI apps in this process, counting them by kind."""

    def __init__(self) -> None:
        self.hosts: dict[str, httpx.AsyncBaseTransport] = {}
        self.counts: Counter[str] = Counter()

    def add(self, host: str, app: Any) -> None:
        self.hosts[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.hosts.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        response = await transport.handle_async_request(request)
        kind = WireLog.kind(request)
        if kind == "GET heads":
            kind += f" {response.status_code}"
        self.counts[kind] += 1
        return response


@contextlib.asynccontextmanager
async def gossip_network(
    root: Path, neighbours: Sequence[Sequence[int]], step: Any, deadline: float
) -> AsyncIterator[list[Any]]:
    """N node apps, started; yields their FastAPI apps (fewer than N if setup would pass
    `deadline`: then the caller reports how far it got)."""
    router = Router()
    async with AsyncExitStack() as stack:
        apps: list[Any] = []
        for k in range(len(neighbours)):
            if time.monotonic() > deadline:
                break
            url = f"http://n{k}.sim"
            settings = Settings(
                data_dir=root / f"n{k}",
                public_url=url,
                sync_interval=0,
                allow_private_peers=True,
            )
            app = create_app(settings, transport=router)
            manager = await stack.enter_async_context(LifespanManager(app))
            router.add(f"n{k}.sim", manager.app)
            apps.append(app)
            if (k + 1) % 250 == 0:
                step(f"  {k + 1} nodes started")
        router.counts.clear()
        yield [router, *apps]


async def gossip_real(
    neighbours: Sequence[Sequence[int]], root: Path, step: Any, budget: float, bound: int
) -> GossipResult:
    """Real nodes: see the module docstring. `budget` bounds the setup time (seconds)."""
    n = len(neighbours)
    started = time.monotonic()
    async with gossip_network(root, neighbours, step, started + budget * 0.5) as network:
        router, apps = network[0], network[1:]
        if len(apps) < n:
            return GossipResult(
                n,
                "real",
                None,
                [],
                note=f"only {len(apps)} of {n} nodes started within {budget * 0.5:.0f} s",
            )
        nodes: list[Node] = [app.state.node for app in apps]
        feds: list[Federation] = [app.state.federation for app in apps]
        x = nodes[0]
        for node in nodes[1:]:
            node.vouch(x.did, level=1)  # X in every scope (before peers exist: no pushes)
        await asyncio.gather(*(f.flush() for f in feds))
        now = int(time.time())
        for k, node in enumerate(nodes):
            for peer in neighbours[k]:
                node.store.add_peer(nodes[peer].did, f"http://n{peer}.sim", "manual", now)
        setup = time.monotonic() - started
        step(f"  N={n}: set up in {setup:.1f} s; warm-up round")
        await asyncio.gather(*(f.sync_all() for f in feds))  # every heads ETag known
        router.counts.clear()

        record = x.set_profile(name="X, gossip source")
        await feds[0].flush()

        def holders() -> int:
            return sum(1 for node in nodes if (h := node.store.head(x.did)) and h.seq >= record.seq)

        result = GossipResult(n, "real", None, [holders()], setup_seconds=setup)
        result.requests.append(Counter(router.counts))  # the push
        rounds = 0
        while result.holders[-1] < n and rounds < bound:
            if time.monotonic() - started > budget:
                result.note = f"stopped after {rounds} rounds: over the {budget:.0f} s budget"
                break
            rounds += 1
            router.counts.clear()
            start = time.perf_counter()
            reports = await asyncio.gather(*(f.sync_all() for f in feds))
            result.round_seconds.append(time.perf_counter() - start)
            errors = Counter(
                r.error.code for per_node in reports for r in per_node if r.error is not None
            )
            if errors:
                raise BenchFailure(f"gossip N={n} round {rounds}: sync errors {dict(errors)}")
            result.requests.append(Counter(router.counts))
            result.holders.append(holders())
            step(
                f"  N={n}: round {rounds}: {result.holders[-1]} of {n} hold the record "
                f"({result.round_seconds[-1]:.1f} s)"
            )
        if result.holders[-1] == n:
            result.rounds = rounds
        step(f"  N={n}: stopping {n} nodes")
    return result


def gossip_root() -> Path | None:
    """tmpfs for the gossip nodes' databases when there is one: the figure is rounds, not
    disk speed, and a thousand fsync'd databases would only slow the setup."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# -- report -----------------------------------------------------------------------------------


def fmt_requests(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def print_catch_up(
    result: CatchUp, direct: float, bare: float, args: argparse.Namespace, canonical: int
) -> None:
    feeds = args.authors
    records = result.accepted
    rate = records / result.seconds
    if result.complete:
        traffic = result.traffic
        title = f"catch-up: {result.seconds:.2f} s in {result.rounds} round(s)"
        wire_note = "SyncReport.traffic"
        on_wire_of = canonical
    else:  # no report of the cancelled round: the response hook's figures, for what arrived
        log = result.breakdown
        traffic = Traffic(
            sum(log.counts.values()), sum(log.sent.values()), sum(log.received.values())
        )
        title = f"catch-up INCOMPLETE: {records:,} in {result.seconds:.0f} s"
        wire_note = "response hook, for the records held"
        on_wire_of = round(canonical * records / args.records)
    wire_bytes = traffic.bytes_sent + traffic.bytes_received
    partial = "" if result.complete else "(partial) "
    print("(1) catch-up of a fresh node from a real `guildnode run` over loopback HTTP")
    rows = [
        ("bare Ed25519 verify, 1 thread (context)", f"{bare:,.0f} rec/s", "", ""),
        ("direct Node.ingest, batches of 200 (limit)", f"{direct:,.0f} rec/s", "", ""),
        (
            title,
            f"{rate:,.0f} rec/s",
            f"{rate / direct:.2f} x direct",
            f"goal >= {GOAL_RATE:.2f}: {verdict(result.complete and rate / direct >= GOAL_RATE)}",
        ),
        (
            "bytes on the wire (sent + received)",
            f"{wire_bytes:,} B",
            f"{wire_bytes / on_wire_of:.3f} x canonical",
            f"goal <= {GOAL_WIRE:.2f}: {partial}{verdict(wire_bytes / on_wire_of <= GOAL_WIRE)}",
        ),
        (
            "round trips",
            f"{traffic.round_trips:,}",
            f"{traffic.round_trips / feeds:.3f} per feed",
            f"goal <= {GOAL_TRIPS}: "
            f"{verdict(result.complete and traffic.round_trips <= GOAL_TRIPS)}",
        ),
    ]
    print(f"{'measurement':<44} {'figure':>16} {'ratio':>22}  goal")
    print(f"{'-' * 44} {'-' * 16} {'-' * 22}  {'-' * 30}")
    for label, figure, ratio, goal in rows:
        print(f"{label:<44} {figure:>16} {ratio:>22}  {goal}")
    log = result.breakdown
    print(
        f"  wire figures from {wire_note}: sent {traffic.bytes_sent:,} B, received "
        f"{traffic.bytes_received:,} B; by request (response hook): "
        + "; ".join(
            f"{k} x{log.counts[k]} ({log.sent[k]:,} B out, {log.received[k]:,} B in)"
            for k in sorted(log.counts)
        )
    )
    marks = []
    for tenth in range(1, 11):
        target = args.records * tenth // 10
        when = next((t for t, held in result.progress if held >= target), None)
        if when is not None:
            marks.append(f"{tenth * 10}% {when:.0f} s")
    print(f"  progress (records held, sampled each second): {', '.join(marks) or '-'}")
    print(
        f"  Node.scope() recomputed compute_scope {result.scope_calls} times during the "
        f"catch-up, {result.scope_seconds:.1f} s in all "
        f"({result.scope_seconds / result.seconds:.0%} of the catch-up's wall time); "
        f"one over F's full store afterwards: "
        f"{result.scope_ms_full:.0f} ms."
    )
    if result.complete:
        print(
            f"  verified: F holds all {args.records:,} records (+{feeds} own vouches), every "
            f"head matches the source's; F.check() ok in {result.check_seconds:.1f} s."
        )
    else:
        print(
            f"  NOT verified complete: the round was cancelled at --catch-up-limit "
            f"{args.catch_up_limit:.0f} s holding {records:,} of {args.records:,}; "
            f"F.check() of what it holds: ok in {result.check_seconds:.1f} s."
        )


def print_idle(result: CatchUp) -> None:
    idle = result.idle
    assert idle is not None
    idle_bytes = idle.traffic.bytes_sent + idle.traffic.bytes_received
    print("\n(2) idle sync with the unchanged source")
    print(
        f"{'round trips':<44} {idle.traffic.round_trips:>16} {'':>22}  goal 1: "
        f"{verdict(idle.traffic.round_trips == 1)}"
    )
    idle_ok = idle.traffic.round_trips == 1 and idle_bytes < GOAL_IDLE_BYTES
    print(
        f"{'bytes on the wire (sent + received)':<44} {idle_bytes:>14} B {'':>22}  "
        f"goal < {GOAL_IDLE_BYTES}: {verdict(idle_ok)}"
    )
    print(
        f"  sent {idle.traffic.bytes_sent} B, received {idle.traffic.bytes_received} B, "
        f"idle (304) = {idle.idle}" + (f"; {result.idle_note}" if result.idle_note else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--authors", type=int, default=500)
    parser.add_argument(
        "--gossip", default="100,300,1000", help="comma-separated N of gossip runs ('' to skip)"
    )
    parser.add_argument(
        "--real-max",
        type=int,
        default=300,
        help="real nodes up to this N, the model alone above it (N=1000 real nodes take ~5 "
        "minutes on 2 cores; pass --real-max 1000 --gossip-budget 600 to run them)",
    )
    parser.add_argument(
        "--gossip-budget",
        type=float,
        default=150.0,
        help="seconds one real gossip run may take; half of it for starting the nodes",
    )
    parser.add_argument(
        "--catch-up-limit",
        type=float,
        default=120.0,
        help="seconds after which the catch-up is cancelled and reported as incomplete",
    )
    parser.add_argument("--profile", action="store_true", help="add a cProfile of the catch-up")
    args = parser.parse_args(argv)
    run_started = time.perf_counter()
    step = step_logger(run_started)
    sizes = [int(s) for s in args.gossip.split(",") if s.strip()]

    step(f"signing {args.records} records of {args.authors} authors (not timed)")
    workload = build_workload(args.records, args.authors)
    canonical = workload.canonical_bytes
    mean = canonical / args.records

    gossip: list[tuple[GossipResult | None, GossipResult, list[list[int]]]] = []
    profiled: CatchUp | None = None
    profiler: Profiler | None = None
    with tempfile.TemporaryDirectory(prefix="guildnode-bench-sync-") as tmp:
        workdir = Path(tmp)
        step("bare Ed25519 verify, 1 thread (context)")
        bare = bare_verify_rate(workload)
        step("direct ingest: Node.ingest(scoped=False) into the source's data directory")
        source = workdir / "source"
        direct = ingest_direct(source, workload)
        step("F: its owner vouches for every author (not timed)")
        fresh = workdir / "fresh"
        fresh_node(fresh, workload)
        if args.profile:
            shutil.copytree(fresh, workdir / "fresh-profiled")
        step("starting the source: guildnode run --sync-interval 0")
        # the source's settings are its flags alone, not this environment's GUILDNODE_*
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUILDNODE_")}
        with running_server(source, ["--sync-interval", "0"], env=env) as url:
            step(f"(1) catch-up from {url} (at most {args.catch_up_limit:.0f} s), (2) idle sync")
            result = asyncio.run(
                catch_up(fresh, url, workload, limit=args.catch_up_limit, idle=True, check=True)
            )
            if result.idle is None:
                step("(2) idle sync by a node that replicates nothing (the catch-up did not end)")
                fresh_node(workdir / "idle", None)
                result.idle = asyncio.run(idle_without_catch_up(workdir / "idle", url))
                result.idle_note = (
                    "measured by a fresh node that replicates none of the source's feeds, "
                    "since the catch-up did not finish"
                )
            if args.profile:
                step("profiling the catch-up (again, into a copy of F; no check)")
                profiler = Profiler()
                profiled = asyncio.run(
                    catch_up(
                        workdir / "fresh-profiled",
                        url,
                        workload,
                        limit=args.catch_up_limit,
                        idle=False,
                        check=False,
                        profiler=profiler,
                    )
                )
        step("source stopped")
        bare_after = bare_verify_rate(workload)

        if sizes:
            raise_fd_limit(20_000)
            root = gossip_root()
            for n in sizes:
                neighbours = regular_graph(n, DEGREE, GRAPH_SEED + n)
                bound = math.ceil(3 * math.log2(n)) + 2
                model = gossip_model(neighbours, 0, bound)
                real = None
                if n <= args.real_max:
                    step(f"(3) gossip, N={n} real nodes (budget {args.gossip_budget:.0f} s)")
                    with tempfile.TemporaryDirectory(
                        prefix="guildnode-bench-gossip-", dir=root
                    ) as gtmp:
                        real = asyncio.run(
                            gossip_real(neighbours, Path(gtmp), step, args.gossip_budget, bound)
                        )
                    gc.collect()
                gossip.append((real, model, neighbours))
        step("done")

    # -- the table --
    print(
        f"\nSync benchmark: {args.records:,} vouch records ({mean:.0f} canonical bytes on "
        f"average, {canonical:,} in all) of {args.authors} authors, {args.records // args.authors}"
        f" each; Python {platform.python_version()}, {os.cpu_count()} CPUs, guildnode "
        f"{guildnode.__version__}.\n"
    )
    print_catch_up(result, direct, statistics.median([bare, bare_after]), args, canonical)
    print_idle(result)
    if gossip:
        print(
            f"\n(3) gossip of one new record; random {DEGREE}-regular peer graph (seed "
            f"{GRAPH_SEED}+N); rounds after X's push until every node holds it"
        )
        print(
            f"{'N':>6} {'kind':<32} {'rounds':>6} {'log2 N':>7} {'goal <=':>7}  verdict  "
            f"holders after push, then each round"
        )
        for real, model, neighbours in gossip:
            n = model.n
            limit = math.log2(n)
            ecc = max(bfs(neighbours, 0).values())
            for res, label in (
                (real, "real nodes, concurrent rounds"),
                (model, "model, synchronous rounds"),
            ):
                if res is None:
                    continue
                if res.rounds is None:
                    shown, ok = "-", "n/a"
                else:
                    shown, ok = str(res.rounds), verdict(res.rounds <= GOAL_GOSSIP * limit)
                print(
                    f"{n:>6} {label:<32} {shown:>6} {limit:>7.2f} {GOAL_GOSSIP * limit:>7.1f}  "
                    f"{ok:<7}  {' → '.join(map(str, res.holders)) or '-'}"
                )
                if res.note:
                    print(f"{'':>6}   note: {res.note}")
            if real is None:
                print(f"{'':>6}   real nodes: not run (N > --real-max {args.real_max})")
            print(
                f"{'':>6}   graph: X's eccentricity is {ecc} hops, so synchronous rounds = "
                f"{max(ecc - 1, 0)}"
            )
            if real is not None and real.requests:
                print(
                    f"{'':>6}   real: setup {real.setup_seconds:.1f} s; round times "
                    + ", ".join(f"{s:.1f}" for s in real.round_seconds)
                    + " s"
                )
                for number, counts in enumerate(real.requests):
                    print(
                        f"{'':>6}   real {'push' if number == 0 else f'round {number}'}: "
                        f"{fmt_requests(counts)}"
                    )
            for number, counts in enumerate(model.requests):
                print(
                    f"{'':>6}   model {'push' if number == 0 else f'round {number}'}: "
                    f"{fmt_requests(counts)}"
                )

    print(f"\nwall time of the whole run: {time.perf_counter() - run_started:.1f} s")
    if profiled is not None and profiler is not None:
        print(f"\nprofiled catch-up: {profiled.seconds:.2f} s (profiling inflates Python code)")
        print_stats("catch-up, bench process, all threads", profiler.stats(), limit=25)
    return 0


if __name__ == "__main__":
    run(main)
