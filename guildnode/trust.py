"""Personalised, per-context trust with explanations (DESIGN "Trust"; SPEC §6.2 for vouches).

Pure: vouches and `now` in, scores out. Trust flows from a viewer through active vouches by
personalised PageRank: at each step a share `RESTART` of the mass returns to the viewer and
the rest follows vouches. An edge's weight is its level, faded by age (half-life
`half_life_days`), doubled when the vouch cites a completed contract between the two
(evidence), and discounted when a general vouch counts in a context (or a contextual vouch
in general trust). Each voucher passes on w / (Σ w + SINK × W_MAX) of its mass, so
vouching for many dilutes each vouch and nobody passes on more trust than they hold; what
is not passed on drains away. Scores are capped during iteration, so no one becomes a hub.
Edges are kept in record-id order, so sums are bit-identical whatever order the records
arrived in. Blocked identities neither hold nor pass on trust.

A ring of fake identities that vouch for each other gains only what flows over the few real
vouches into it: the flow into a region is bounded by the mass of its border's vouchers,
whatever the size of the region.

`VouchTable` holds every vouch once as arrays (build it when records change); `trust()`
then answers any viewer and context with array arithmetic only.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

RESTART = 0.15
SINK = 5.0
W_MAX = 3.0  # the weight of one fresh level-3 vouch without evidence
EVIDENCE_BONUS = 2.0
CROSS_CONTEXT_DISCOUNT = 0.5
SCORE_CAP = 0.1  # nobody but the viewer holds more than this share of the mass
MAX_VOUCH_LIFE = 365 * 86_400
DAY = 86_400
TOLERANCE = 1e-12
MAX_ITERATIONS = 200

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Vouch:
    """A vouch record, as trust needs it."""

    id: str
    author: str
    subject: str
    level: int
    created_at: int
    context: str | None = None
    expires_at: int | None = None
    evidence: str | None = None


@dataclass(frozen=True)
class VouchTable:
    """All vouches that can ever count, as arrays, in record-id order."""

    vouches: tuple[Vouch, ...]
    dids: tuple[str, ...]
    index: Mapping[str, int]
    src: Ints
    dst: Ints
    level: Floats
    start: Ints  # created_at
    end: Ints  # min(expires_at, created_at + 365 days)
    contexts: tuple[str, ...]  # the distinct contexts; code 0 is "general"
    context: Ints  # per vouch: 0 for a general vouch, else 1 + index into `contexts`
    evidence: npt.NDArray[np.bool_]
    # Vouches grouped by (author, subject): an author's vouches for one subject in several
    # contexts count once, at the weight of the strongest, so contexts cannot multiply trust.
    pair: Ints  # per vouch: its pair
    pair_src: Ints
    pair_dst: Ints
    by_pair: Ints  # vouch positions sorted by pair
    pair_starts: Ints  # where each pair begins in `by_pair`

    @classmethod
    def build(
        cls,
        vouches: Iterable[Vouch],
        *,
        revoked: Iterable[str] = (),
        completed: Mapping[str, frozenset[str]] | None = None,
    ) -> VouchTable:
        """`revoked`: ids of vouches revoked by their own author. `completed`: a completed
        contract's id → its parties, for the evidence bonus."""
        revoked = set(revoked)
        completed = completed or {}
        # A newer vouch by the same author for the same subject in the same context
        # supersedes the older ones: repeating a vouch must not multiply its weight.
        latest: dict[tuple[str, str, str | None], Vouch] = {}
        for v in vouches:
            if v.id in revoked or v.author == v.subject:
                continue
            key = (v.author, v.subject, v.context)
            held = latest.get(key)
            if held is None or (v.created_at, v.id) > (held.created_at, held.id):
                latest[key] = v
        kept = tuple(sorted(latest.values(), key=lambda v: v.id))
        dids = tuple(sorted({v.author for v in kept} | {v.subject for v in kept}))
        index = {did: i for i, did in enumerate(dids)}
        contexts = tuple(sorted({v.context for v in kept if v.context is not None}))
        code = {context: i + 1 for i, context in enumerate(contexts)}
        count = len(kept)

        def column(values: Iterable[int | float | bool], dtype: type) -> Any:
            return np.fromiter(values, dtype=dtype, count=count)

        return cls(
            vouches=kept,
            dids=dids,
            index=index,
            src=column((index[v.author] for v in kept), np.int64),
            dst=column((index[v.subject] for v in kept), np.int64),
            level=column((v.level for v in kept), np.float64),
            start=column((v.created_at for v in kept), np.int64),
            end=column(
                (
                    min(
                        v.created_at + MAX_VOUCH_LIFE,
                        2**62 if v.expires_at is None else v.expires_at,
                    )
                    for v in kept
                ),
                np.int64,
            ),
            contexts=contexts,
            context=column((code[v.context] if v.context else 0 for v in kept), np.int64),
            **_pairs(kept, index),
            evidence=column(
                (
                    bool(v.evidence)
                    and {v.author, v.subject} <= completed.get(v.evidence or "", frozenset())
                    for v in kept
                ),
                np.bool_,
            ),
        )

    def pair_weights(self, weight: Floats) -> Floats:
        """The weight of each (author, subject) pair: its strongest vouch's."""
        if not len(weight):
            return weight
        return np.maximum.reduceat(weight[self.by_pair], self.pair_starts)

    def weights(self, *, context: str | None, now: int, half_life_days: float) -> Floats:
        """Each vouch's weight at `now` in `context`; 0 where it does not count."""
        active = (self.start <= now) & (now < self.end)
        general = self.context == 0
        if context is None:
            same = general
        elif context in self.contexts:
            same = self.context == self.contexts.index(context) + 1
        else:
            same = np.zeros(len(self.context), dtype=bool)
        counts = active & (general | same | (context is None))
        fade = np.exp2(-(now - self.start) / (half_life_days * DAY))
        weight = self.level * fade
        weight = np.where(same, weight, weight * CROSS_CONTEXT_DISCOUNT)
        weight = np.where(self.evidence, weight * EVIDENCE_BONUS, weight)
        return np.where(counts, weight, 0.0)


@dataclass(frozen=True, slots=True)
class Edge:
    """A vouch that counts, with its weight and the share of the voucher's mass it carries."""

    vouch: Vouch
    weight: float
    share: float


@dataclass(frozen=True, slots=True)
class Path:
    """One route trust takes from the viewer to a subject, with the mass it carries."""

    edges: tuple[Edge, ...]
    strength: float


class TrustView:
    """Every identity's trust from one viewer, in one context."""

    def __init__(
        self, table: VouchTable, viewer: str, context: str | None, scores: Floats, share: Floats
    ) -> None:
        self.table = table
        self.viewer = viewer
        self.context = context
        self._scores = scores
        self._share = share

    def score(self, did: str) -> float:
        i = self.table.index.get(did)
        if i is None and did == self.viewer:
            return RESTART
        return 0.0 if i is None else float(self._scores[i])

    def ranked(self) -> list[tuple[str, float]]:
        """Identities other than the viewer with positive trust, best first (ties by DID)."""
        order = np.lexsort((np.arange(len(self._scores)), -self._scores))
        return [
            (self.table.dids[i], float(self._scores[i]))
            for i in order
            if self._scores[i] > 0 and self.table.dids[i] != self.viewer
        ]

    def rank(self, did: str) -> int | None:
        """1 for the most trusted identity other than the viewer; None without trust."""
        mine = self.score(did)
        if did == self.viewer or mine <= 0:
            return None
        others = self._scores.copy()
        viewer = self.table.index.get(self.viewer)
        if viewer is not None:
            others[viewer] = 0.0
        # Ties go to the smaller DID; `dids` is sorted, so that is the smaller index.
        tied_before = np.flatnonzero(others == mine) < self.table.index[did]
        return int((others > mine).sum() + tied_before.sum()) + 1

    def paths(self, did: str, limit: int = 3, max_length: int = 3) -> list[Path]:
        """The strongest routes (at most `max_length` vouches) from the viewer to `did`:
        a path's strength is the viewer's score times each edge's share and (1 − RESTART)
        per hop — the trust it would carry without the caps."""
        table = self.table
        if did == self.viewer or did not in table.index or self.viewer not in table.index:
            return []
        viewer = table.index[self.viewer]
        counts = self._share > 0
        found: list[tuple[float, tuple[int, ...]]] = []

        def walk(node: int, suffix: tuple[int, ...], factor: float) -> None:
            for position in np.nonzero(counts & (table.dst == node))[0]:
                voucher = int(table.src[position])
                visited = {int(table.src[p]) for p in suffix} | {int(table.dst[p]) for p in suffix}
                if voucher in visited:
                    continue
                strength = factor * float(self._share[position]) * (1 - RESTART)
                path = (int(position), *suffix)
                if voucher == viewer:
                    found.append((strength * float(self._scores[viewer]), path))
                elif len(path) < max_length:
                    walk(voucher, path, strength)

        walk(table.index[did], (), 1.0)
        best = heapq.nlargest(limit, found, key=lambda item: (item[0], item[1]))
        return [
            Path(
                tuple(
                    Edge(table.vouches[p], float(table.level[p]), float(self._share[p]))
                    for p in positions
                ),
                strength,
            )
            for strength, positions in best
        ]


def trust(
    table: VouchTable,
    viewer: str,
    *,
    now: int,
    context: str | None = None,
    blocked: Iterable[str] = (),
    half_life_days: float = 180.0,
    cap: float = SCORE_CAP,
) -> TrustView:
    """Trust from `viewer` in `context` (None: general trust), by power iteration.
    `cap` bounds everyone's score but the viewer's (a safety net: with the sink it rarely
    binds)."""
    n = len(table.dids)
    weight = table.weights(context=context, now=now, half_life_days=half_life_days)
    blocked_ids = [table.index[d] for d in set(blocked) - {viewer} if d in table.index]
    if blocked_ids:
        barred = np.zeros(n, dtype=bool)
        barred[blocked_ids] = True
        weight = np.where(barred[table.src] | barred[table.dst], 0.0, weight)
    pair_weight = table.pair_weights(weight)
    out = np.bincount(table.pair_src, weights=pair_weight, minlength=n)
    pair_share = pair_weight / (out[table.pair_src] + SINK * W_MAX) if len(weight) else weight
    # Per vouch, for explanations: each pair's share goes to its first strongest vouch.
    share = np.zeros(len(weight))
    if len(weight):
        strongest = np.flatnonzero((weight == pair_weight[table.pair]) & (weight > 0))
        _, first = np.unique(table.pair[strongest], return_index=True)
        chosen = strongest[first]
        share[chosen] = pair_share[table.pair[chosen]]
    scores = np.zeros(n)
    if viewer not in table.index:
        return TrustView(table, viewer, context, scores, share)
    me = table.index[viewer]
    restart = np.zeros(n)
    restart[me] = RESTART
    ceiling = np.full(n, cap)
    ceiling[me] = 1.0
    scores = restart.copy()
    for _ in range(MAX_ITERATIONS):
        flowing = np.bincount(
            table.pair_dst, weights=pair_share * scores[table.pair_src], minlength=n
        )
        updated = np.minimum(restart + (1 - RESTART) * flowing, ceiling)
        change = float(np.abs(updated - scores).sum())
        scores = updated
        if change < TOLERANCE:
            break
    return TrustView(table, viewer, context, scores, share)


def _pairs(kept: tuple[Vouch, ...], index: Mapping[str, int]) -> dict[str, Ints]:
    pair_of: dict[tuple[int, int], int] = {}
    pair = np.fromiter(
        (pair_of.setdefault((index[v.author], index[v.subject]), len(pair_of)) for v in kept),
        dtype=np.int64,
        count=len(kept),
    )
    ends = sorted(pair_of, key=pair_of.__getitem__)
    by_pair = np.argsort(pair, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(pair[by_pair]) != 0]) if len(kept) else pair
    return {
        "pair": pair,
        "pair_src": np.array([a for a, _ in ends], dtype=np.int64),
        "pair_dst": np.array([b for _, b in ends], dtype=np.int64),
        "by_pair": by_pair.astype(np.int64),
        "pair_starts": starts.astype(np.int64),
    }
