"""The cached scope, advanced batch by batch, equals the scope computed from scratch."""

from __future__ import annotations

import random

import pytest

from guildnode.protocol import Identity
from guildnode.scope import compute_scope

pytestmark = pytest.mark.anyio


async def test_the_advanced_scope_equals_a_fresh_computation(make_node, author) -> None:
    served = await make_node()
    node = served.node
    rng = random.Random(7)
    people = [author(n) for n in range(1, 13)]
    outsider = Identity(bytes([99]) * 32).did
    node.vouch(people[0].did, level=2)  # hop 1
    for step in range(12):
        batch = []
        for _ in range(6):
            voucher = rng.choice(people)
            subject = rng.choice([*people, outsider, node.did])
            if subject is voucher or (
                subject is not outsider and subject == node.did and rng.random() < 0.5
            ):
                continue
            did = subject if isinstance(subject, str) else subject.did
            batch.append(voucher.next("vouch", {"subject": did, "level": 1}).to_wire())
        if step % 4 == 0:  # the owner widens its own scope between batches too
            node.vouch(rng.choice(people).did, level=1, context="python")
        node.scope()  # warm the cache, so the batch below advances it
        node.ingest(batch)  # unscoped: every record lands, scope or not
        assert node._scope is not None and node._scope[0][0] == node.store.refs_version
        assert node.scope().core == compute_scope(node.store, node.did, node.now()).core, step
