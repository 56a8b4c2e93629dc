"""GET /api/credentials (SPEC §18.5): owner only; vouches reach the node by POST /inbox and
only those that count now are exported; the answer verifies offline."""

from __future__ import annotations

import json

import pytest
from test_ui import sign_in

from guildnode.protocol import verify_record
from guildnode.protocol.credentials import MEMBERSHIP, claims, verify_file
from guildnode.protocol.dataintegrity import CredentialError

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


async def test_a_membership_under_an_amended_charter_is_exported_with_its_motion(
    make_node, author
) -> None:
    """SPEC §18.4, §12.5: the guild admitted with two vouches until F and A voted to admit
    with one and rename it; the node's owner, vouched in by F alone, is a member. The export
    carries the motion and A's yes vote after the charter, and claims the amended name."""
    served = await make_node()
    node = served.node
    f, a = author(51), author(52)
    charter = f.next("guild", {
        "name": "Makers", "purpose": "Make.", "founders": [f.did, a.did],
        "admission": {"vouches_required": 2, "cooling_days": 0},
    })  # fmt: skip
    g = charter.id
    joined = a.next("apply", {"guild": g})
    vouch = f.next("vouch", {"subject": node.did, "level": 2, "context": f"guild:{g}"})
    motion = f.next("motion", {"guild": g, "action": "amend",
                               "changes": {"name": "Makers Guild", "vouches_required": 1}},
                    created_at=charter.created_at + 10)  # fmt: skip
    yes = a.next("vote", {"guild": g, "motion": motion.id, "choice": "yes"},
                 created_at=charter.created_at + 20)  # fmt: skip
    for batch in ([charter, joined], [vouch, motion, yes]):
        results = await served.inbox([r.to_wire() for r in batch])
        assert [r["status"] for r in results] == ["accepted"] * len(batch)
    applied = node.apply_guild(g)
    assert node.guild(g).is_member(node.did) and node.governance(g).charter.name == "Makers Guild"

    exported = (await served.client.get("/api/credentials", headers=served.owner)).json()
    (membership,) = [
        c
        for c in exported["verifiableCredential"]
        if c["type"][1] == "GuildnodeMembershipCredential"
    ]
    assert [e["record"]["kind"] for e in membership["evidence"]] == [
        "guild", "motion", "vote", "apply", "vouch"
    ]  # fmt: skip
    assert [e["id"].rsplit(":", 1)[1] for e in membership["evidence"]] == [
        g, motion.id, yes.id, applied.id, vouch.id
    ]  # fmt: skip
    assert membership["credentialSubject"]["memberOf"] == {
        "id": f"urn:guildnode:guild:{g}", "name": "Makers Guild", "purpose": "Make."
    }  # fmt: skip
    assert membership["credentialSubject"]["vouchedInBy"] == [f.did]
    report = verify_file(json.dumps(exported).encode(), node.now())
    assert report.ok, report.as_dict()

    # Without the amendment the one vouch admits no one: no such claim can be made.
    records = [verify_record(e["record"]) for e in membership["evidence"]]
    with pytest.raises(CredentialError) as refused:
        claims(MEMBERSHIP, node.did, [records[0], *records[3:]])
    assert refused.value.code == "evidence_mismatch"


async def test_a_membership_names_no_voucher_removed_by_vote(make_node, author) -> None:
    """SPEC §12.5, §18.4: P vouched the owner in, then was removed by vote; F's vouch keeps
    the owner a member, and the credential names F alone (P's vouch is set aside)."""
    served = await make_node()
    node = served.node
    f, a, p = author(61), author(62), author(63)
    t = 1_790_000_000
    charter = f.next("guild", {
        "name": "Makers", "purpose": "Make.", "founders": [f.did, a.did],
        "admission": {"vouches_required": 1, "cooling_days": 0},
    }, created_at=t)  # fmt: skip
    g = charter.id
    records = [
        charter,
        a.next("apply", {"guild": g}, created_at=t + 1),
        p.next("apply", {"guild": g}, created_at=t + 1),
        f.next("vouch", {"subject": p.did, "level": 2, "context": f"guild:{g}"}, created_at=t + 2),
        p.next("vouch", {"subject": node.did, "level": 2, "context": f"guild:{g}"},
               created_at=t + 3),
        f.next("vouch", {"subject": node.did, "level": 2, "context": f"guild:{g}"},
               created_at=t + 4),
    ]  # fmt: skip
    removal = f.next("motion", {"guild": g, "action": "remove", "member": p.did},
                     created_at=t + 10)  # fmt: skip
    records += [removal, a.next("vote", {"guild": g, "motion": removal.id, "choice": "yes"},
                                created_at=t + 20)]  # fmt: skip
    results = await served.inbox([r.to_wire() for r in records])
    assert [r["status"] for r in results] == ["accepted"] * len(records)
    node.apply_guild(g)
    assert node.governance(g).removed == {p.did: t + 20}
    assert node.guild(g).is_member(node.did)

    exported = (await served.client.get("/api/credentials", headers=served.owner)).json()
    (membership,) = [
        c for c in exported["verifiableCredential"] if c["type"][1] == MEMBERSHIP
    ]  # fmt: skip
    assert membership["credentialSubject"]["vouchedInBy"] == [f.did]
    assert verify_file(json.dumps(exported).encode(), node.now()).ok
