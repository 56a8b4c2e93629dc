"""The trust graph as a picture: the owner at the centre, two hops around, laid out for SVG.

Pure: edges and scores in, positions out. The people the owner vouches for, and those who
vouch for the owner, sit on an inner ring; the people they vouch for on an outer ring, each
near the first-ring people who vouch for it. Edge width follows the vouch's current weight,
colour its context.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

SIZE = 640
INNER, OUTER = 0.27, 0.43  # ring radii, as shares of SIZE
MAX_INNER, MAX_OUTER = 24, 48
GENERAL = "#6b7280"
PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d")


@dataclass(frozen=True, slots=True)
class Link:
    """One vouch that counts: from `author` to `subject`, with its weight and context."""

    author: str
    subject: str
    weight: float
    context: str | None


@dataclass(frozen=True, slots=True)
class Dot:
    did: str
    name: str
    x: float
    y: float
    r: float
    hop: int
    score: float


@dataclass(frozen=True, slots=True)
class Line:
    """A vouch drawn as a gentle curve, so that two people's vouches for each other do not
    lie on top of each other: each bends to its own side."""

    author: str
    subject: str
    path: str  # SVG path data
    width: float
    colour: str
    context: str | None
    weight: float


@dataclass(frozen=True, slots=True)
class Picture:
    size: int
    dots: list[Dot]
    lines: list[Line]
    legend: list[tuple[str | None, str]]  # (context, colour)
    view_box: str  # the part of the SIZE × SIZE canvas that holds the drawing


def colours(contexts: list[str | None]) -> dict[str | None, str]:
    named = sorted({c for c in contexts if c is not None})
    found: dict[str | None, str] = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(named)}
    found[None] = GENERAL
    return found


def curve(a: Dot, b: Dot, bend: float = 0.18) -> str:
    """A quadratic curve from the edge of `a` to just short of the edge of `b` (room for the
    arrowhead), bowed to the right of the direction of travel."""
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy) or 1.0
    cx = (a.x + b.x) / 2 - dy / length * bend * length
    cy = (a.y + b.y) / 2 + dx / length * bend * length

    def toward(x: float, y: float, distance: float) -> tuple[float, float]:
        span = math.hypot(cx - x, cy - y) or 1.0
        return x + (cx - x) * distance / span, y + (cy - y) * distance / span

    sx, sy = toward(a.x, a.y, a.r)
    ex, ey = toward(b.x, b.y, b.r + 3)
    return f"M {sx:.1f} {sy:.1f} Q {cx:.1f} {cy:.1f} {ex:.1f} {ey:.1f}"


def layout(
    me: str, links: list[Link], scores: Mapping[str, float], names: Mapping[str, str]
) -> Picture:
    """Place `me`, up to two hops, and the links among them. The strongest link of each
    (author, subject) pair is drawn."""
    best: dict[tuple[str, str], Link] = {}
    for link in links:
        key = (link.author, link.subject)
        if link.weight > 0 and (key not in best or link.weight > best[key].weight):
            best[key] = link
    strongest = sorted(best.values(), key=lambda k: (-k.weight, k.author, k.subject))

    def by_trust(dids: set[str], most: int) -> list[str]:
        return sorted(dids, key=lambda d: (-scores.get(d, 0.0), d))[:most]

    inner = by_trust(
        {k.subject for k in strongest if k.author == me}
        | {k.author for k in strongest if k.subject == me},
        MAX_INNER,
    )
    outer_candidates = {k.subject for k in strongest if k.author in inner} - set(inner) - {me}
    outer = by_trust(outer_candidates, MAX_OUTER)

    centre = SIZE / 2
    angle: dict[str, float] = {}
    for i, did in enumerate(inner):
        angle[did] = 2 * math.pi * i / max(1, len(inner)) - math.pi / 2

    # Each outer dot sits in its voucher's direction, spread evenly in that order.
    def direction(did: str) -> float:
        parents = [angle[k.author] for k in strongest if k.subject == did and k.author in angle]
        return math.atan2(sum(math.sin(a) for a in parents), sum(math.cos(a) for a in parents)) % (
            2 * math.pi
        )

    ordered = sorted(outer, key=lambda d: (direction(d), d))
    start = direction(ordered[0]) if ordered else 0.0
    for i, did in enumerate(ordered):
        angle[did] = start + 2 * math.pi * i / len(ordered)

    top = max([scores.get(d, 0.0) for d in inner + outer] or [0.0]) or 1.0
    dots = [Dot(me, names.get(me, "you"), centre, centre, 16.0, 0, scores.get(me, 0.0))]
    for hop, ring, radius in ((1, inner, INNER), (2, outer, OUTER)):
        for did in ring:
            dots.append(
                Dot(
                    did,
                    names.get(did, did[:16]),
                    round(centre + radius * SIZE * math.cos(angle[did]), 1),
                    round(centre + radius * SIZE * math.sin(angle[did]), 1),
                    round(6 + 6 * scores.get(did, 0.0) / top, 1),
                    hop,
                    scores.get(did, 0.0),
                )
            )
    place = {dot.did: dot for dot in dots}
    palette = colours([k.context for k in strongest])
    heaviest = max([k.weight for k in strongest] or [1.0])
    lines = []
    for link in strongest:
        a, b = place.get(link.author), place.get(link.subject)
        if a is None or b is None:
            continue
        lines.append(
            Line(
                link.author,
                link.subject,
                curve(a, b),
                round(1 + 4 * link.weight / heaviest, 1),
                palette[link.context],
                link.context,
                link.weight,
            )
        )
    used = {line.context for line in lines}
    legend = [(c, palette[c]) for c in sorted(used, key=lambda c: (c is not None, c or ""))]
    return Picture(SIZE, dots, lines, legend, view_box(dots))


def view_box(dots: list[Dot], margin: float = 30.0, label: float = 60.0) -> str:
    """The drawing's bounds, with room for the labels under the dots and for the curves, so
    that a small network fills a narrow screen instead of a corner of the canvas."""
    left = min(d.x - max(d.r, label) for d in dots) - margin
    right = max(d.x + max(d.r, label) for d in dots) + margin
    top = min(d.y - d.r for d in dots) - margin
    bottom = max(d.y + d.r + 16 for d in dots) + margin
    width, height = max(right - left, 200.0), max(bottom - top, 160.0)
    return f"{left:.0f} {top:.0f} {width:.0f} {height:.0f}"
