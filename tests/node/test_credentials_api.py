"""GET /api/credentials (SPEC §18.5): owner only; vouches reach the node by POST /inbox and
only those that count now are exported; the answer verifies offline."""

from __future__ import annotations

import json

import pytest
from test_ui import sign_in

from guildnode.protocol.credentials import verify_file

pytestmark = pytest.mark.anyio


async def test_credentials_need_the_owner(make_node) -> None:
    served = await make_node()
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        response = await served.client.get("/api/credentials", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_only_vouches_that_count_now_are_exported(make_node, author) -> None:
    served = await make_node()
    node = served.node
    ola, ben, cy = author(31), author(32), author(33)
    now = node.now()
    kept = ola.next("vouch", {"subject": node.did, "level": 3, "context": "go"})
    undone = ben.next("vouch", {"subject": node.did, "level": 2})
    revoke = ben.next("revoke", {"target": undone.id})
    lapsed = cy.next("vouch", {"subject": node.did, "level": 1}, created_at=now - 100,
                     expires_at=now - 10)  # fmt: skip
    other = cy.next("vouch", {"subject": ola.did, "level": 2}, created_at=now - 5)  # not for us
    results = await served.inbox([r.to_wire() for r in (kept, undone, revoke, lapsed, other)])
    assert [r["status"] for r in results] == ["accepted"] * 5

    response = await served.client.get("/api/credentials", headers=served.owner)
    assert response.status_code == 200
    exported = response.json()
    assert exported["holder"] == node.did
    [only] = exported["verifiableCredential"]
    assert only["evidence"][0]["record"] == kept.to_wire()
    assert only["credentialSubject"] == {
        "id": node.did,
        "vouchedBy": ola.did,
        "level": 3,
        "context": "go",
    }
    report = verify_file(json.dumps(exported).encode(), now)
    assert report.ok and [c.type for c in report.credentials] == ["GuildnodeVouchCredential"]


async def test_the_download_needs_a_session_and_verifies(make_node, author) -> None:
    served = await make_node()
    path = "/identity/export/guildnode-credentials.json"
    refused = await served.client.get(path)
    assert refused.status_code == 303 and refused.headers["location"] == "/login"
    vouch = author(41).next("vouch", {"subject": served.node.did, "level": 2})
    assert [r["status"] for r in await served.inbox([vouch.to_wire()])] == ["accepted"]
    await sign_in(served)
    response = await served.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        'attachment; filename="guildnode-credentials.json"'
    )
    report = verify_file(response.content, served.node.now())
    assert report.ok and len(report.credentials) == 1
