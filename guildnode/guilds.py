"""Guild membership: a deterministic fixed point over charters, applications and vouches.

Pure: records (as values) and `now` in, membership out; the same records give the same
members on every node, whatever order they arrived in (inputs are put in canonical order).

A guild is a `guild` charter: founders and an admission rule (k vouches in the guild's
context `guild:<charter id>`, a cooling period). The charter's author is a founder; a
cofounder counts once it has applied to the charter (consent). Founders are members from
the start and exempt from cooling. An applicant becomes a member when
  - it has applied and not left since (the later of its `apply` and `leave` wins),
  - at least k members vouch for it in the guild's context, each vouch active at `now`
    (not revoked, not expired, within 365 days), and made once the voucher had been a member
    for the cooling period (by record time) — founders are exempt;
  - and admission flow reaches it (Advogato's trust metric): every member has a capacity
    that shrinks with its distance from the founders, a unit of flow certifies one member,
    and a member passes on at most its capacity less one. So two confused members can admit
    at most their summed capacity of newcomers, however many fakes vouch for each other.
Leaving, revocation and expiry are honoured because membership is recomputed from the
records, never stored. Governance (`governance`, SPEC §12.5) chooses the charter as amended
and the members removed by vote that this is computed with.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .trust import MAX_VOUCH_LIFE, Vouch

FOUNDER_CAPACITY = 64
CAPACITY_DECAY = 4  # each step away from the founders divides capacity by this
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Charter:
    id: str
    author: str
    name: str
    purpose: str
    founders: tuple[str, ...]
    vouches_required: int
    created_at: int
    cooling_days: int = 7
    skills: tuple[str, ...] = ()
    listing: Mapping[str, Any] | None = None  # SPEC §6.4: present when the guild is listed

    @property
    def context(self) -> str:
        return f"guild:{self.id}"

    def is_valid(self) -> bool:
        """SPEC §6.8: vouches required is at most the number of founders; else no effect."""
        return 1 <= self.vouches_required <= len(set(self.founders) | {self.author})


@dataclass(frozen=True, slots=True)
class Application:
    """An `apply` or `leave` record of one author for one guild."""

    id: str
    author: str
    guild: str
    kind: str  # "apply" | "leave"
    seq: int
    created_at: int


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an applicant stands."""

    vouchers: tuple[str, ...]  # members whose admission vouches count
    needed: int
    reached: bool  # admission flow reaches it


@dataclass
class Membership:
    charter: Charter
    members: dict[str, int] = field(default_factory=dict)  # did → member since
    founders: frozenset[str] = frozenset()
    applicants: dict[str, Standing] = field(default_factory=dict)  # not (yet) members
    capacity: dict[str, int] = field(default_factory=dict)

    def is_member(self, did: str) -> bool:
        return did in self.members


def latest_applications(applications: Iterable[Application], guild: str) -> dict[str, Application]:
    """author → its latest `apply` or `leave` for `guild`, by chain order."""
    latest: dict[str, Application] = {}
    for item in applications:
        held = latest.get(item.author)
        if item.guild == guild and (held is None or (item.seq, item.id) > (held.seq, held.id)):
            latest[item.author] = item
    return latest


def current_applicants(applications: Iterable[Application], guild: str) -> dict[str, int]:
    """author → created_at of its standing application to `guild` (latest is an apply)."""
    latest = latest_applications(applications, guild)
    return {a: item.created_at for a, item in latest.items() if item.kind == "apply"}


def _active(vouch: Vouch, now: int) -> bool:
    end = vouch.created_at + MAX_VOUCH_LIFE
    if vouch.expires_at is not None:
        end = min(end, vouch.expires_at)
    return vouch.created_at <= now < end


def membership(
    charter: Charter,
    applications: Iterable[Application],
    vouches: Iterable[Vouch],
    *,
    now: int,
    revoked: Iterable[str] = (),
    removed: Mapping[str, int] | None = None,
) -> Membership:
    """The members and applicants of `charter`'s guild at `now` (see the module docstring).

    `vouches` may hold any vouches; only active ones in the guild's context count.
    `revoked` holds ids of vouches revoked by their own author. `removed` maps each member
    removed by a vote (SPEC §12.5) to the time of its removal: its `apply`, `leave` and
    admission vouches, given or received, up to that time are set aside, and it is never a
    founder again."""
    result = Membership(charter)
    if not charter.is_valid():
        return result
    gone = dict(removed or {})

    def spent(did: str, created_at: int) -> bool:
        # SPEC §12.5: a removal sets aside what came before it, for and by the removed.
        return did in gone and created_at <= gone[did]

    # Records dated after `now` do not count yet (as vouches dated after `now` do not).
    latest = latest_applications(
        (a for a in applications if a.created_at <= now and not spent(a.author, a.created_at)),
        charter.id,
    )
    standing = {a: item.created_at for a, item in latest.items() if item.kind == "apply"}
    revoked = set(revoked)
    admission = sorted(
        (
            v
            for v in vouches
            if v.context == charter.context
            and v.id not in revoked
            and v.author != v.subject
            and _active(v, now)
            and not spent(v.author, v.created_at)
            and not spent(v.subject, v.created_at)
        ),
        key=lambda v: v.id,
    )
    # The author consents by writing the charter (until it leaves); cofounders by applying.
    founders = {f for f in charter.founders if f in standing and f not in gone}
    author_latest = latest.get(charter.author)
    if charter.author not in gone and (author_latest is None or author_latest.kind == "apply"):
        founders.add(charter.author)
    result.founders = frozenset(founders)
    cooling = charter.cooling_days * DAY
    applicants = {a: t for a, t in standing.items() if a not in founders}

    members: dict[str, int] = {f: charter.created_at for f in founders}
    capacity: dict[str, int] = {}
    certified: set[str] = set()
    seen: list[dict[str, int]] = [members]
    for _ in range(len(applicants) + 2):
        counted = [
            v
            for v in admission
            if v.author in members
            and (v.author in founders or v.created_at >= members[v.author] + cooling)
        ]
        vouchers: dict[str, list[Vouch]] = {}
        for v in counted:
            if v.subject in applicants:
                vouchers.setdefault(v.subject, []).append(v)
        # Only applicants with enough member vouches take part in the flow: flow spent on one
        # who cannot be admitted would be taken from one who can.
        eligible = {
            a
            for a, vs in vouchers.items()
            if len({v.author for v in vs}) >= charter.vouches_required
        }
        reachable = set(founders) | set(members) | eligible
        edges = sorted({(v.author, v.subject) for v in counted if v.subject in reachable})
        capacity = _capacities(founders, edges)
        certified = _certify(founders, edges, capacity)
        admitted: dict[str, int] = {f: charter.created_at for f in founders}
        for applicant, supporting in sorted(vouchers.items()):
            distinct: dict[str, int] = {}
            for v in supporting:
                distinct[v.author] = min(distinct.get(v.author, v.created_at), v.created_at)
            if len(distinct) >= charter.vouches_required and applicant in certified:
                kth = sorted(distinct.values())[charter.vouches_required - 1]
                admitted[applicant] = max(applicants[applicant], kth)
        if admitted == members:
            break
        if admitted in seen:
            # The rounds cycle: the states since this one's first appearance repeat for ever.
            # Members are those in every state of the cycle, since the latest time they had
            # (SPEC §12.1): the same whatever the number of rounds, or of applicants.
            cycle = seen[seen.index(admitted) :]
            common = set.intersection(*(set(state) for state in cycle))
            members = {did: max(state[did] for state in cycle) for did in sorted(common)}
            break
        seen.append(admitted)
        members = admitted

    result.members = members
    result.capacity = {did: capacity.get(did, 0) for did in members}
    counted_now = [
        v
        for v in admission
        if v.author in members
        and (v.author in founders or v.created_at >= members[v.author] + cooling)
    ]
    for applicant in sorted(set(applicants) - set(members)):
        names = sorted({v.author for v in counted_now if v.subject == applicant})
        # With enough vouches, only the flow decides; short of them, flow would reach it
        # through any member who vouches.
        reached = applicant in certified if len(names) >= charter.vouches_required else bool(names)
        result.applicants[applicant] = Standing(tuple(names), charter.vouches_required, reached)
    return result


def _capacities(founders: set[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Capacity by distance from the founders along vouches (Advogato)."""
    out: dict[str, list[str]] = {}
    for voucher, subject in edges:
        out.setdefault(voucher, []).append(subject)
    distance = {f: 0 for f in founders}
    queue = deque(sorted(founders))
    while queue:
        node = queue.popleft()
        for nxt in out.get(node, ()):
            if nxt not in distance:
                distance[nxt] = distance[node] + 1
                queue.append(nxt)
    return {did: max(1, FOUNDER_CAPACITY // CAPACITY_DECAY**d) for did, d in distance.items()}


def _certify(
    founders: set[str], edges: list[tuple[str, str]], capacity: Mapping[str, int]
) -> set[str]:
    """Members that a unit of admission flow reaches (max flow, node capacities)."""
    nodes = sorted(capacity)
    if not nodes:
        return set()
    index = {did: i for i, did in enumerate(nodes)}
    n = len(nodes)
    source, sink = 2 * n, 2 * n + 1
    flow = _MaxFlow(2 * n + 2)
    unbounded = sum(capacity.values()) + 1
    for did in sorted(founders):
        flow.add(source, 2 * index[did], capacity[did])
    certify_edge: dict[str, int] = {}
    for did in nodes:
        i = index[did]
        certify_edge[did] = flow.add(2 * i, sink, 1)
        if capacity[did] > 1:
            flow.add(2 * i, 2 * i + 1, capacity[did] - 1)
    for voucher, subject in edges:
        if voucher in index and subject in index:
            flow.add(2 * index[voucher] + 1, 2 * index[subject], unbounded)
    flow.run(source, sink)
    return {did for did, edge in certify_edge.items() if flow.flow_on(edge) > 0}


class _MaxFlow:
    """Dinic's algorithm on integer capacities; deterministic for a given insertion order."""

    def __init__(self, size: int) -> None:
        self.graph: list[list[int]] = [[] for _ in range(size)]
        self.to: list[int] = []
        self.cap: list[int] = []
        self.original: list[int] = []

    def add(self, a: int, b: int, capacity: int) -> int:
        self.graph[a].append(len(self.to))
        self.to.append(b)
        self.cap.append(capacity)
        self.original.append(capacity)
        self.graph[b].append(len(self.to))
        self.to.append(a)
        self.cap.append(0)
        self.original.append(0)
        return len(self.to) - 2

    def flow_on(self, edge: int) -> int:
        return self.original[edge] - self.cap[edge]

    def run(self, source: int, sink: int) -> int:
        total = 0
        while True:
            level = [-1] * len(self.graph)
            level[source] = 0
            queue = deque([source])
            while queue:
                node = queue.popleft()
                for e in self.graph[node]:
                    if self.cap[e] > 0 and level[self.to[e]] < 0:
                        level[self.to[e]] = level[node] + 1
                        queue.append(self.to[e])
            if level[sink] < 0:
                return total
            cursor = [0] * len(self.graph)
            while True:
                pushed = self._push(source, sink, 1 << 62, level, cursor)
                if not pushed:
                    break
                total += pushed

    def _push(self, source: int, sink: int, limit: int, level: list[int], cursor: list[int]) -> int:
        # Iterative DFS along the level graph, so deep graphs do not hit the recursion limit.
        path: list[int] = []
        node = source
        while True:
            if node == sink:
                pushed = min([limit] + [self.cap[e] for e in path])
                for e in path:
                    self.cap[e] -= pushed
                    self.cap[e ^ 1] += pushed
                return pushed
            edges = self.graph[node]
            while cursor[node] < len(edges):
                e = edges[cursor[node]]
                if self.cap[e] > 0 and level[self.to[e]] == level[node] + 1:
                    break
                cursor[node] += 1
            else:
                if not path:
                    return 0
                level[node] = -1  # dead end
                e = path.pop()
                node = self.to[e ^ 1]
                cursor[node] += 1
                continue
            path.append(edges[cursor[node]])
            node = self.to[edges[cursor[node]]]
