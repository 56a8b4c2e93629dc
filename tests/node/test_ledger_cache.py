"""The owner's contracts are kept one by one (`guildnode.ledger`), through the real routes: an
action and the records it brings derive only the contract they touch, listing contracts
derives nothing that did not change, and time alone (an offer's respond-by passing) moves a
kept contract on with no record arriving."""

from __future__ import annotations

from typing import Any

import pytest

from tests.node.test_work import Clock, brief_and_proposal, completed, network, offered, sync, work

pytestmark = pytest.mark.anyio


async def listed(served: Any) -> dict[str, str]:
    response = await served.client.get("/api/contracts", headers=served.owner)
    assert response.status_code == 200, response.text
    return {c["id"]: c["state"] for c in response.json()["contracts"]}


async def test_an_action_derives_only_the_contract_it_touches(make_node: Any) -> None:
    clock = Clock()
    nodes = await network(make_node, clock)
    org, fay = nodes["org"], nodes["fay"]
    _, proposal = await brief_and_proposal(nodes)
    first = await offered(nodes, proposal)
    second = await offered(nodes, proposal, respond_days=2)
    ledger, org_ledger = fay.node.market.ledger, org.node.market.ledger
    assert await listed(fay) == {first: "offered", second: "offered"}
    assert await listed(org) == {first: "offered", second: "offered"}
    seen = dict(org_ledger.derivations)
    before = dict(ledger.derivations)
    assert await listed(fay) == {first: "offered", second: "offered"}
    assert ledger.derivations == before  # nothing changed: nothing derived again

    assert (await work(fay, "accept", offer=first)).status_code == 200
    assert await listed(fay) == {first: "active", second: "offered"}
    assert ledger.derivations[second] == before[second]  # untouched by the accept
    assert ledger.derivations[first] > before[first]

    # The organisation learns of the accept (pushed, then by sync): only that contract is
    # derived again there too.
    await sync(*nodes.values())
    assert await listed(org) == {first: "active", second: "offered"}
    assert org_ledger.derivations[second] == seen[second]

    # Time alone: the second offer's respond-by passes, no record arrives.
    clock.advance(3)
    assert await listed(fay) == {first: "active", second: "expired"}
    assert (await fay.client.get(f"/api/contracts/{second}", headers=fay.owner)).json()[
        "state"
    ] == "expired"


async def test_settling_looks_only_at_contracts_that_ended(make_node: Any) -> None:
    clock = Clock()
    nodes = await network(make_node, clock)
    fay = nodes["fay"]
    _, proposal = await brief_and_proposal(nodes)
    first = await offered(nodes, proposal)
    second = await offered(nodes, proposal)
    ledger = fay.node.market.ledger
    assert await listed(fay) == {first: "offered", second: "offered"}
    untouched = ledger.derivations[second]
    assert (await work(fay, "accept", offer=first)).status_code == 200
    await sync(*nodes.values())
    await completed(nodes, first)  # fay completes: the node settles, publishing its receipt
    assert fay.node.did in {r.author for r in fay.node.market.evidence.receipts(first)}
    assert ledger.derivations[second] == untouched
    assert set(ledger.ended(fay.node.now())) == {first}


async def notified(served: Any) -> list[str]:
    response = await served.client.get("/api/notifications", headers=served.owner)
    assert response.status_code == 200, response.text
    return sorted(n["key"] for n in response.json()["notices"])


async def test_notifications_read_the_kept_contracts(make_node: Any) -> None:
    """GET /api/notifications lists the offers waiting on the freelancer from the kept
    contracts: asking again derives nothing, an accept derives only its contract again and
    takes its notice away."""
    clock = Clock()
    nodes = await network(make_node, clock)
    fay = nodes["fay"]
    _, proposal = await brief_and_proposal(nodes)
    first = await offered(nodes, proposal)
    second = await offered(nodes, proposal)
    ledger = fay.node.market.ledger
    assert await notified(fay) == sorted([f"offer:{first}", f"offer:{second}"])
    before = dict(ledger.derivations)
    assert await notified(fay) == sorted([f"offer:{first}", f"offer:{second}"])
    assert ledger.derivations == before  # nothing changed: nothing derived again
    assert (await work(fay, "accept", offer=first)).status_code == 200
    assert await notified(fay) == [f"offer:{second}"]
    assert ledger.derivations[second] == before[second]
    assert ledger.derivations[first] > before[first]


async def test_settling_reads_only_the_commitments_on_the_owners_drafts(make_node: Any) -> None:
    """A settle runs on every ingest: while the owner's blind feedback waits (SPEC §12.4), it
    reads the commitments and reveals of that contract alone, not every one held, and still
    reveals the feedback once the other party has committed."""
    clock = Clock()
    nodes = await network(make_node, clock)
    org, fay = nodes["org"], nodes["fay"]
    contracts = []
    for _ in range(2):
        _, proposal = await brief_and_proposal(nodes)
        contracts.append(await offered(nodes, proposal))
    first, second = contracts
    for contract in contracts:
        assert (await work(fay, "accept", offer=contract)).status_code == 200
        await sync(*nodes.values())
        await completed(nodes, contract)
    assert (await work(fay, "feedback", contract=first, rating=3)).status_code == 200
    answer = await work(org, "feedback", contract=second, rating=2)
    assert answer.status_code == 200, answer.text
    await sync(*nodes.values())
    assert fay.node.market.evidence.reveals(first) == []  # blind: Northwind has not committed

    queries: list[str] = []
    fay.node.store.db.conn.set_trace_callback(queries.append)
    assert fay.node.market.settle() == []
    fay.node.store.db.conn.set_trace_callback(None)
    read = [q for q in queries if "x.kind = 'commit'" in q or "x.kind = 'feedback'" in q]
    assert len(read) == 2 and all(f"x.value IN ('{first}')" in q for q in read), read

    assert (await work(org, "feedback", contract=first, rating=2)).status_code == 200
    await sync(*nodes.values())
    revealed = sorted(r.author for r in fay.node.market.evidence.reveals(first))
    assert revealed == sorted([org.node.did, fay.node.did])  # both committed: both revealed
