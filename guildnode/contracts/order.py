"""Which records make up which contract, and in what order they are replayed (SPEC §12.3).

Records count from their `created_at` up to `now`, sorted by (created, phase, record id):
within a second, in the order a contract runs. A thread is a first offer with the records of
its two parties that reach it.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import _CONTRACT_KINDS, Event

# Within one second, records sort in the order a contract runs (SPEC §12.3), so that steps
# taken in quick succession (submit, approve, pay, complete) keep their meaning.
_PHASES = {"proposal": 0, "accept": 3, "decline": 3, "complete": 8, "cancel": 8}


def _phase(event: Event) -> int:
    body = event.body
    if event.kind == "offer":
        return 2 if "answers" in body else 1
    if event.kind == "milestone":
        return 4 if body["action"] == "submitted" else 5
    if event.kind == "payment":
        return 6 if body["action"] == "paid" else 7
    return _PHASES.get(event.kind, 9)


def _ordered(events: Iterable[Event], now: int) -> list[Event]:
    """Distinct records dated no later than `now`, in (created, phase, record id) order."""
    unique = {e.id: e for e in events if e.created_at <= now}
    return sorted(unique.values(), key=lambda e: (e.created_at, _phase(e), e.id))


def _threads(ordered: list[Event]) -> list[tuple[Event, list[Event]]]:
    """Each first offer with the records of its thread, in order. Only the thread's two
    parties' records belong to it: anyone else's are not even shown."""
    offers = {e.id: e for e in ordered if e.kind == "offer"}
    roots_of: dict[str, Event | None] = {}

    def root_of(offer_id: str) -> Event | None:
        path: list[str] = []
        root: Event | None = None
        while offer_id in offers and offer_id not in roots_of and offer_id not in path:
            path.append(offer_id)
            answers = offers[offer_id].body.get("answers")
            if answers is None:
                root = offers[offer_id]
                break
            offer_id = answers
        else:
            root = roots_of.get(offer_id)
        for seen in path:  # each offer is walked once, however long the chain of counters
            roots_of[seen] = root
        return root

    roots = {e.id: e for e in offers.values() if "answers" not in e.body}
    threads: dict[str, list[Event]] = {}
    for e in ordered:
        if e.kind == "offer":
            root = root_of(e.id)
        elif e.kind in ("accept", "decline"):
            root = root_of(e.body["offer"])
        elif e.kind in _CONTRACT_KINDS:
            root = roots.get(e.body["contract"])
        else:
            root = None
        if root is not None and e.author in (
            root.body["organisation"],
            root.body["freelancer"],
        ):
            threads.setdefault(root.id, []).append(e)
    return [(roots[rid], thread) for rid, thread in threads.items()]
