"""Five nodes in one process, federating through a routing transport (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio

ROUNDS = 5


async def sync_round(nodes: list[Any]) -> None:
    for served in nodes:
        await served.federation.flush()
    for served in nodes:
        await served.federation.sync_all()


def held_feeds(served: Any) -> set[str]:
    return set(served.node.store.heads())


async def build(make_node: Any) -> dict[str, Any]:
    names = ["a", "b", "c", "d", "e"]
    nodes = {name: await make_node(name) for name in names}
    for name, served in nodes.items():
        served.node.set_profile(name=name.upper())
    # A ring of peers: a–b, b–c, c–d, d–e, e–a.
    for left, right in zip(names, names[1:] + names[:1], strict=True):
        await nodes[left].federation.add_peer(nodes[right].url)
        await nodes[right].federation.add_peer(nodes[left].url)
    vouch = {("a", "b"), ("b", "c"), ("c", "d"), ("e", "a")}
    for voucher, subject in sorted(vouch):
        nodes[voucher].node.vouch(nodes[subject].node.did, level=2, context="python")
    return nodes


async def test_every_node_holds_exactly_its_scope_with_identical_heads(make_node) -> None:
    nodes = await build(make_node)
    did = {name: served.node.did for name, served in nodes.items()}
    expected = {
        "a": {"a", "b", "c", "e"},  # vouchee b, b's vouchee c, voucher e
        "b": {"b", "c", "d", "a"},
        "c": {"c", "d", "b"},
        "d": {"d", "c"},
        "e": {"e", "a", "b"},
    }
    for _ in range(ROUNDS):
        await sync_round(list(nodes.values()))
        if all(held_feeds(nodes[n]) == {did[m] for m in want} for n, want in expected.items()):
            break
    for name, want in expected.items():
        assert nodes[name].node.scope().core == {did[m] for m in want}, name
        assert held_feeds(nodes[name]) == {did[m] for m in want}, name
    # Shared feeds have the same head everywhere: the author's own.
    for name, served in nodes.items():
        for author, head in served.node.store.heads().items():
            owner = next(n for n, d in did.items() if d == author)
            assert head == nodes[owner].node.store.heads()[author], (name, owner)
    for served in nodes.values():
        assert served.node.check().ok


async def test_a_revoked_vouch_shrinks_the_scope_of_the_nodes_it_affected(make_node) -> None:
    nodes = await build(make_node)
    did = {name: served.node.did for name, served in nodes.items()}
    for _ in range(ROUNDS):
        await sync_round(list(nodes.values()))
    assert did["b"] in nodes["e"].node.scope()  # e → a → b
    [a_vouch] = nodes["a"].node.records(author=did["a"], kind="vouch")
    nodes["a"].node.revoke(a_vouch["id"], reason="no longer working together")
    for _ in range(ROUNDS):
        await sync_round(list(nodes.values()))
    assert nodes["a"].node.scope().core == {did["a"], did["e"]}
    assert nodes["e"].node.scope().core == {did["e"], did["a"]}
    assert nodes["b"].node.scope().core == {did[n] for n in "bcd"}  # a no longer vouches for b
    assert nodes["c"].node.scope().core == {did[n] for n in "bcd"}  # unaffected

    # Records b publishes now reach neither a nor e, by push or by sync.
    before = nodes["a"].node.store.head(did["b"])
    late = nodes["b"].node.vouch(did["d"], level=1)
    for _ in range(2):
        await sync_round(list(nodes.values()))
    assert nodes["a"].node.store.head(did["b"]) == before
    assert nodes["e"].node.store.get(late.id) is None
    assert nodes["c"].node.store.get(late.id) is not None  # b is in c's scope (c's voucher)


async def test_an_idle_sync_is_one_small_round_trip(make_node, router) -> None:
    nodes = await build(make_node)
    for _ in range(ROUNDS):
        await sync_round(list(nodes.values()))
    a = nodes["a"]
    [peer] = [p for p in a.federation.peers() if p["url"] == nodes["b"].url]
    await a.federation.sync_peer(peer)  # settles the ETag after the last changes
    [peer] = [p for p in a.federation.peers() if p["url"] == nodes["b"].url]
    router.exchanges.clear()
    report = await a.federation.sync_peer(peer)
    assert report.idle
    assert len(router.exchanges) == 1
    method, url, sent, received = router.exchanges[0]
    assert (method, url) == ("GET", f"{nodes['b'].url}/sync/heads")
    assert sent + received < 512, (sent, received)
    assert report.traffic.round_trips == 1


async def test_push_delivers_a_new_record_at_once(make_node) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.federation.add_peer(b.url)
    b.node.vouch(a.node.did, level=2)  # a is b's vouchee: in b's scope
    record = a.node.vouch(b.node.did, level=3)
    await a.federation.flush()
    assert b.node.store.get(record.id) is not None
