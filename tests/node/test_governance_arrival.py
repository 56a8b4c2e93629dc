"""Guild governance (SPEC §12.5) on real nodes: records arriving one by one, in different
orders across authors (each author's chain in order, as the chain rules require; a vote may
arrive before its motion), into real SQLite stores, give every node the same amended charter,
outcomes and members."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Author

from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import VerifiedRecord

T = 1_790_000_000
NOW = T + 3_600


def story() -> tuple[str, dict[str, list[VerifiedRecord]], dict[str, str]]:
    """F founds a guild with A and B (one vouch admits); P is admitted by F's vouch: four
    members, so a motion needs three yes. A's amendment (new name, two vouches) passes with
    F's and B's yes over P's no; F's motion to remove P passes with A's and B's yes; P's own
    motion to rename the guild gets only P's yes."""
    f, a, b, p = (Author(n, T) for n in (41, 42, 43, 44))
    charter = f.next("guild", {
        "name": "Makers", "purpose": "Make.", "founders": [f.did, a.did, b.did],
        "admission": {"vouches_required": 1, "cooling_days": 0},
    })  # fmt: skip
    g = charter.id
    a.next("apply", {"guild": g}, created_at=T + 10)
    b.next("apply", {"guild": g}, created_at=T + 10)
    p.next("apply", {"guild": g}, created_at=T + 10)
    f.next("vouch", {"subject": p.did, "level": 2, "context": f"guild:{g}"}, created_at=T + 20)
    amend = a.next("motion", {"guild": g, "action": "amend",
                              "changes": {"name": "Makers Guild", "vouches_required": 2}},
                   created_at=T + 100)  # fmt: skip
    remove = f.next("motion", {"guild": g, "action": "remove", "member": p.did}, created_at=T + 110)
    f.next("vote", {"guild": g, "motion": amend.id, "choice": "yes"}, created_at=T + 120)
    again = p.next("motion", {"guild": g, "action": "amend", "changes": {"name": "P's"}},
                   created_at=T + 150)  # fmt: skip
    b.next("vote", {"guild": g, "motion": amend.id, "choice": "yes"}, created_at=T + 200)
    b.next("vote", {"guild": g, "motion": remove.id, "choice": "yes"}, created_at=T + 210)
    a.next("vote", {"guild": g, "motion": remove.id, "choice": "yes"}, created_at=T + 220)
    p.next("vote", {"guild": g, "motion": amend.id, "choice": "no"}, created_at=T + 230)
    p.next("vote", {"guild": g, "motion": amend.id, "choice": "yes"}, created_at=T + 240)
    chains = {x.did: list(x.records) for x in (f, a, b, p)}
    return g, chains, {"F": f.did, "A": a.did, "B": b.did, "P": p.did, "again": again.id}


def arrivals(chains: dict[str, list[VerifiedRecord]], seed: int) -> list[VerifiedRecord]:
    """One interleaving of the chains, each kept in order."""
    rng = random.Random(seed)
    queues = {did: list(chain) for did, chain in chains.items()}
    order = []
    while queues:
        did = rng.choice(sorted(queues))
        order.append(queues[did].pop(0))
        if not queues[did]:
            del queues[did]
    return order


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    opened = []
    for n in range(5):
        datadir = DataDir(tmp_path / f"node{n}")
        datadir.create()
        datadir.acquire()
        opened.append((datadir, Node(datadir, clock=lambda: NOW)))
    yield [node for _, node in opened]
    for datadir, node in opened:
        node.close()
        datadir.release()


def test_every_order_of_arrival_gives_the_same_charter_and_members(nodes: list[Node]) -> None:
    guild, chains, who = story()
    for seed, node in enumerate(nodes):
        for record in arrivals(chains, seed):
            [result] = node.ingest([record.to_wire()])
            assert result.status == "accepted", result
    first, *others = (node.governance(guild) for node in nodes)
    for other in others:
        assert other == first  # charter, removals, outcomes, members, applicants, capacity

    assert (first.charter.name, first.charter.vouches_required) == ("Makers Guild", 2)
    assert first.removed == {who["P"]: T + 220}
    assert set(first.membership.members) == {who["F"], who["A"], who["B"]}
    by_id = {o.motion.id: o for o in first.outcomes}
    assert by_id[who["again"]].status == "open" and by_id[who["again"]].yes == (who["P"],)
    [amendment] = [o for o in first.outcomes if o.motion.action == "amend" and o.adopted_at]
    assert amendment.no == (who["P"],)  # P's first vote counts; its later yes does not
