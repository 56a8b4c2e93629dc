"""Actions benchmark (issue 14): one work action — an accept, a milestone approval — while the
owner holds thousands of contracts, beside the same action with 10 contracts.

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.actions [--contracts 5000] [--repeats 15]

Workload (not timed): a real node (data directory, SQLite store on disk, `synchronous=FULL`)
whose owner is a party to `--contracts` contracts with 100 counterparts, every record signed
and sealed for real and taken in by `Node.ingest`: half the owner's offers to freelancers,
half offers to the owner; all accepted with a milestone submitted, except `--repeats` offers
to the owner left open and `--repeats` of the owner's contracts whose first milestone awaits
its approval. Each counterpart and the owner hold a brief the offers name. The first
counterpart has a delegate (SPEC §15), who makes its first open offer to the owner, so the
delegate rules run in every contract's derivation.

Measured: the first look (the ledger opens every sealed record once: what a node pays once
after it starts), then `Market.accept` of each open offer and `Market.milestone(...,
"approved")` of each awaiting milestone — each the whole action: finding the contract,
judging the record by the contract's replay, sealing, signing, committing — median over
`--repeats`; the same with 10 contracts; and one full derivation of every contract (what each
action cost at least twice before the ledger). Goal: ≤ 5 ms median at 5,000 contracts.
A correctness failure (the ledger and a full derivation disagree) exits 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guildnode import contracts as rules
from guildnode import notices, views
from guildnode.datadir import DataDir
from guildnode.ledger import Ledger
from guildnode.node import Node
from guildnode.protocol import Identity, VerifiedRecord, format_timestamp, sign_record
from guildnode.protocol.sealed import seal

from .common import BenchFailure, run, step_logger, verdict

GOAL_MS = 5.0
DAY = 86_400
GUILD = "ab" * 32
PEOPLE = 100


def _key(n: int) -> Identity:
    return Identity(n.to_bytes(4, "big") + bytes(28))


class _Chains:
    """Signed records of many authors, each chain in order, `created` never going back."""

    def __init__(self) -> None:
        self.records: list[VerifiedRecord] = []
        self.heads: dict[str, VerifiedRecord] = {}

    def sign(
        self,
        key: Identity,
        kind: str,
        body: dict[str, Any],
        at: int,
        expires_at: int | None = None,
    ) -> VerifiedRecord:
        head = self.heads.get(key.did)
        record = sign_record(
            key,
            kind=kind,
            body=body,
            seq=head.seq + 1 if head else 1,
            prev=head.id if head else None,
            created_at=max(at, head.created_at) if head else at,
            expires_at=expires_at,
        )
        self.heads[key.did] = record
        self.records.append(record)
        return record

    def sealed(
        self, key: Identity, kind: str, inner: dict[str, Any], to: str, at: int, *also: str
    ) -> Any:
        return self.sign(key, kind, seal(key, kind, inner, [to, *also]), at)


def offer_terms(
    brief: str, org: str, freelancer: str, start: int, amounts: tuple[int, ...] = (100, 200)
) -> dict[str, Any]:
    """An offer's terms: one milestone per amount, due every 5 days from `start`, 30 days in
    all (also what tests/contracts/test_ledger.py offers)."""
    return {
        "brief": brief,
        "organisation": org,
        "freelancer": freelancer,
        "scope": "Build the thing",
        "acceptance_criteria": ["It works"],
        "price": {"amount": sum(amounts), "currency": "EUR"},
        "milestones": [
            {"title": f"Part {i}", "amount": a, "due": format_timestamp(start + (i + 1) * 5 * DAY)}
            for i, a in enumerate(amounts)
        ],
        "starts": format_timestamp(start),
        "ends": format_timestamp(start + 30 * DAY),
    }


def brief_body(title: str) -> dict[str, Any]:
    return {
        "guilds": [GUILD],
        "title": title,
        "description": "Work",
        "acceptance_criteria": ["It works"],
        "budget": {"min": 1, "max": 1000, "currency": "EUR"},
        "engagement": "fixed",
    }


def _workload(
    owner: Identity, contracts: int, repeats: int, t0: int
) -> tuple[list[VerifiedRecord], list[str], list[str]]:
    """The records, the open offers to accept, and the contracts awaiting an approval."""
    chains = _Chains()
    people = [_key(1000 + n) for n in range(PEOPLE)]
    briefs = {p.did: chains.sign(p, "brief", brief_body("Theirs"), t0 - DAY).id for p in people}
    mine = chains.sign(owner, "brief", brief_body("Mine"), t0 - DAY).id
    # The first counterpart's delegate offers for it (its offer sealed to three, SPEC §15.4).
    staff = _key(999)
    grant = {"delegate": staff.did, "scope": ["offers"]}
    chains.sign(people[0], "delegate", grant, t0 - DAY, expires_at=t0 + 30 * DAY)
    steps: list[tuple[int, Identity, VerifiedRecord, str]] = []  # (n, other, offer, role)
    for n in range(contracts):
        other = people[n % PEOPLE]
        if n % 2:  # the owner hires
            body = offer_terms(mine, owner.did, other.did, t0)
            offer = chains.sealed(owner, "offer", body, other.did, t0 + n % 600)
            steps.append((n, other, offer, "organisation"))
        else:
            body = offer_terms(briefs[other.did], other.did, owner.did, t0)
            if n == 0:  # the delegate's offer for `other`
                offer = chains.sealed(staff, "offer", body, owner.did, t0, other.did)
            else:
                offer = chains.sealed(other, "offer", body, owner.did, t0 + n % 600)
            steps.append((n, other, offer, "freelancer"))
    to_accept = [o.id for _, _, o, role in steps if role == "freelancer"][:repeats]
    to_approve = [o.id for _, _, o, role in steps if role == "organisation"][:repeats]
    for _, other, offer, role in steps:
        if offer.id in to_accept:
            continue
        who = owner if role == "freelancer" else other
        chains.sealed(who, "accept", {"offer": offer.id}, offer.author, t0 + 3600)
    for _, other, offer, role in steps:
        if offer.id in to_accept:
            continue
        freelancer = owner if role == "freelancer" else other
        to = offer.author if role == "organisation" else other.did
        body = {"contract": offer.id, "index": 0, "action": "submitted"}
        chains.sealed(freelancer, "milestone", body, to, t0 + 7200)
    return chains.records, to_accept, to_approve


def _median_ms(actions: list[Callable[[], object]]) -> float:
    times = []
    for action in actions:
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def _measure(
    contracts: int, repeats: int, step: Callable[[str], None], full: bool
) -> dict[str, float]:
    now = int(time.time())
    t0 = now - 2 * DAY
    owner = _key(1)
    step(f"{contracts:,} contracts: signing and sealing the records")
    records, to_accept, to_approve = _workload(owner, contracts, repeats, t0)
    with tempfile.TemporaryDirectory() as tmp:
        datadir = DataDir(Path(tmp) / "owner")
        datadir.create(owner)
        node = Node(datadir)
        try:
            step(f"{contracts:,} contracts: ingesting {len(records):,} records")
            for start in range(0, len(records), 500):
                results = node.ingest([r.to_wire() for r in records[start : start + 500]])
                if any(r.status != "accepted" for r in results):
                    raise BenchFailure(f"a record was not accepted: {results}")
            market = node.market
            started = time.perf_counter()
            held = market.contracts()
            first = (time.perf_counter() - started) * 1e3
            if len(held) != contracts:
                raise BenchFailure(f"{len(held)} contracts held, not {contracts}")
            step(f"{contracts:,} contracts: {repeats} accepts, {repeats} approvals")
            accept = _median_ms([lambda o=o: market.accept(o) for o in to_accept])  # type: ignore[misc]
            approve = _median_ms(
                [lambda c=c: market.milestone(c, 0, "approved") for c in to_approve]  # type: ignore[misc]
            )
            kept = market.ledger.contracts(node.now())
            fresh = Ledger(node)
            derived = rules.derive(fresh.events(), briefs=market.briefs(), now=node.now())
            if kept != derived:
                raise BenchFailure("the ledger and a full derivation disagree")
            if any(o not in kept or kept[o].state != "active" for o in to_accept) or any(
                kept[c].milestones[0].approved_at is None for c in to_approve
            ):
                raise BenchFailure("an action had no effect")
            out = {"first": first, "accept": accept, "approve": approve}
            out["list"] = _median_ms([lambda: views.contracts(node, None) for _ in range(3)])
            # `notices.notices` derives afresh; `notices.inbox` would answer from its cache.
            out["inbox"] = _median_ms([lambda: notices.notices(node) for _ in range(3)])
            if full:
                events = fresh.events()
                out["full"] = _median_ms(
                    [
                        lambda: rules.derive(events, briefs=market.briefs(), now=node.now())
                        for _ in range(3)
                    ]
                )
            return out
        finally:
            node.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    step = step_logger(time.perf_counter())
    small = _measure(10, 5, step, full=True)
    large = _measure(args.contracts, args.repeats, step, full=True)
    n = f"{args.contracts:,}"
    print(f"contracts held: 10 and {n} (medians: 5 and {args.repeats} actions)")
    for name in ("accept", "approve"):
        ok = large[name] <= GOAL_MS
        print(
            f"{name:>8}: {large[name]:.2f} ms at {n}, {small[name]:.2f} ms at 10"
            f"  (goal ≤ {GOAL_MS:.0f} ms at {n})  {verdict(ok)}"
        )
    print(
        f"first look (opens every sealed record once): {large['first']:.0f} ms at {n}, "
        f"{small['first']:.1f} ms at 10"
    )
    print(
        f"one full derivation of every contract (before the ledger, each action ran it at "
        f"least twice): {large['full']:.0f} ms at {n}, {small['full']:.2f} ms at 10"
    )
    print(
        f"listing every contract (GET /api/contracts' view, next steps included): "
        f"{large['list']:.0f} ms at {n}, {small['list']:.2f} ms at 10"
    )
    print(
        f"the notifications (GET /api/inbox, every source): "
        f"{large['inbox']:.0f} ms at {n}, {small['inbox']:.2f} ms at 10"
    )
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    run(main)
