"""SPEC §15: which of a staff key's records count as an organisation's, whatever the order of
arrival. Pure cases for the rows of §15.3's table, through a real SQLite store and
`derive.briefs`; and a property test: every arrival order of a random history of grants,
revocations, rotations and delegated briefs derives the same briefs with the same authors."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guildnode import derive
from guildnode.delegation import MAX_DELEGATION
from guildnode.protocol import Identity, VerifiedRecord, sign_record
from guildnode.store import Store
from tests.trust.test_identities import _arrival

T0 = 1_790_000_000
DAY = 86_400
ORG, ORG_NEW, STAFF, STAFF_NEW, OTHER = (Identity(bytes([60 + n]) * 32) for n in range(5))
GUILD = "a" * 64


class Chains:
    """Signed chains of several keys, written in the order the test says."""

    def __init__(self) -> None:
        self.records: dict[str, list[VerifiedRecord]] = {}
        self.clock = T0

    def add(
        self,
        key: Identity,
        kind: str,
        body: dict[str, Any],
        *,
        at: int | None = None,
        expires_in: int | None = None,
    ) -> VerifiedRecord:
        chain = self.records.setdefault(key.did, [])
        self.clock = max(self.clock + 1, at or 0)
        created = max(at if at is not None else self.clock, chain[-1].created_at if chain else 0)
        record = sign_record(
            key,
            kind=kind,
            body=body,
            seq=len(chain) + 1,
            prev=chain[-1].id if chain else None,
            created_at=created,
            expires_at=None if expires_in is None else created + expires_in,
        )
        chain.append(record)
        return record

    def grant(
        self, org: Identity, delegate: Identity, scope: list[str], days: int = 30, **kw: Any
    ) -> VerifiedRecord:
        body = {"delegate": delegate.did, "scope": scope}
        return self.add(org, "delegate", body, expires_in=days * DAY, **kw)

    def revoke(self, org: Identity, delegate: Identity, from_seq: int) -> VerifiedRecord:
        return self.add(org, "undelegate", {"delegate": delegate.did, "from_seq": from_seq})

    def brief(self, author: Identity, org: Identity | None, **kw: Any) -> VerifiedRecord:
        body: dict[str, Any] = {
            "guilds": [GUILD],
            "title": "Review",
            "description": "Review our drivers.",
            "acceptance_criteria": ["A review"],
            "budget": {"min": 1, "max": 2, "currency": "EUR"},
            "engagement": "fixed",
        }
        if org is not None:
            body["organisation"] = org.did
        return self.add(author, "brief", body, expires_in=7 * DAY, **kw)

    def rotate(self, old: Identity, new: Identity) -> None:
        via = self.add(old, "rotate", {"successor": new.did})
        self.add(new, "succeed", {"predecessor": old.did, "via": via.id})

    def all(self) -> list[VerifiedRecord]:
        return [r for chain in self.records.values() for r in chain]


def briefs_in_store(order: Sequence[VerifiedRecord], batch: int = 1000) -> dict[str, str]:
    """Brief id → its author as derived, after storing `order` in batches of `batch`."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "node.db")
        try:
            for start in range(0, len(order), batch):
                store.commit(order[start : start + batch])
            ids = derive.identities(store)
            return {b.id: b.author for b in derive.briefs(store, ids)}
        finally:
            store.close()


def test_a_delegates_brief_in_scope_and_period_is_the_organisations() -> None:
    chains = Chains()
    chains.grant(ORG, STAFF, ["briefs"])
    brief = chains.brief(STAFF, ORG)
    own = chains.brief(STAFF, None)
    assert briefs_in_store(chains.all()) == {brief.id: ORG.did, own.id: STAFF.did}


def test_a_brief_for_an_organisation_without_a_grant_has_no_effect() -> None:
    chains = Chains()
    chains.grant(ORG, STAFF, ["offers", "pay"])  # no `briefs`
    chains.brief(STAFF, ORG)
    chains.brief(OTHER, ORG)  # no grant at all
    assert briefs_in_store(chains.all()) == {}


def test_a_revocation_cuts_by_seq_even_when_the_delegate_backdates() -> None:
    chains = Chains()
    chains.grant(ORG, STAFF, ["briefs"])
    before = chains.brief(STAFF, ORG)  # seq 1
    chains.revoke(ORG, STAFF, from_seq=2)
    # seq 2 dated before the revocation (its chain allows it): still without effect.
    after = chains.brief(STAFF, ORG, at=before.created_at)
    derived = briefs_in_store(chains.all())
    assert derived == {before.id: ORG.did}
    assert after.id not in derived


def test_expiry_and_start_bound_the_period() -> None:
    chains = Chains()
    early = chains.brief(STAFF, ORG)
    grant = chains.grant(ORG, STAFF, ["briefs"], days=1)
    inside = chains.brief(STAFF, ORG, at=grant.created_at + DAY - 1)
    late = chains.brief(STAFF, ORG, at=grant.created_at + DAY)
    derived = briefs_in_store(chains.all())
    assert derived == {inside.id: ORG.did}
    assert early.id not in derived and late.id not in derived


def test_too_long_or_self_delegations_have_no_effect() -> None:
    chains = Chains()
    chains.grant(ORG, STAFF, ["briefs"], days=91)
    chains.brief(STAFF, ORG)
    chains.add(ORG, "delegate", {"delegate": STAFF.did, "scope": ["briefs"]})  # no expires
    chains.brief(STAFF, ORG)
    assert briefs_in_store(chains.all()) == {}


def test_a_grant_after_a_revocation_restores_the_delegate_for_its_period() -> None:
    chains = Chains()
    chains.grant(ORG, STAFF, ["briefs"])
    chains.revoke(ORG, STAFF, from_seq=1)
    lost = chains.brief(STAFF, ORG)
    chains.grant(ORG, STAFF, ["briefs"])
    again = chains.brief(STAFF, ORG)
    assert briefs_in_store(chains.all()) == {again.id: ORG.did}
    assert lost.id != again.id


def test_a_grant_survives_the_organisations_rotation_and_a_later_key_revokes_it() -> None:
    chains = Chains()
    chains.grant(ORG, STAFF, ["briefs"])
    chains.rotate(ORG, ORG_NEW)
    kept = chains.brief(STAFF, ORG)  # naming the old key: read as the member
    named_new = chains.brief(STAFF, ORG_NEW)
    chains.revoke(ORG_NEW, STAFF, from_seq=3)
    chains.brief(STAFF, ORG_NEW)
    assert briefs_in_store(chains.all()) == {kept.id: ORG_NEW.did, named_new.id: ORG_NEW.did}


def test_a_grant_by_an_old_key_after_its_rotation_has_no_effect() -> None:
    chains = Chains()
    chains.rotate(ORG, ORG_NEW)
    chains.grant(ORG, STAFF, ["briefs"])  # the old key's seq 2, after its cut at seq 1
    chains.brief(STAFF, ORG_NEW)
    assert briefs_in_store(chains.all()) == {}


def test_a_delegate_that_rotates_must_be_granted_again() -> None:
    chains = Chains()
    chains.grant(ORG, STAFF, ["briefs"])
    chains.rotate(STAFF, STAFF_NEW)
    chains.brief(STAFF_NEW, ORG)
    chains.brief(STAFF, ORG)  # after the old staff key's cut: no effect at all
    assert briefs_in_store(chains.all()) == {}


@st.composite
def histories(draw: st.DrawFn) -> list[VerifiedRecord]:
    """Up to 14 steps: grants (any scope, 1–100 days), revocations from any seq, an
    organisation's rotation, briefs by staff keys for either organisation key, and time jumps
    that run grants out."""
    chains = Chains()
    staff = [STAFF, OTHER]
    orgs = [ORG]
    for _ in range(draw(st.integers(1, 14))):
        chains.clock += draw(st.integers(0, 20 * DAY))
        step = draw(st.sampled_from(["grant", "revoke", "brief", "brief", "rotate"]))
        who = draw(st.sampled_from(staff))
        org = draw(st.sampled_from(orgs))
        if step == "grant":
            scope = draw(st.lists(st.sampled_from(["briefs", "offers", "pay"]), min_size=1,
                                  max_size=2, unique=True))  # fmt: skip
            chains.grant(org, who, scope, days=draw(st.integers(1, 100)))
        elif step == "revoke":
            chains.revoke(org, who, from_seq=draw(st.integers(1, 5)))
        elif step == "brief":
            chains.brief(who, draw(st.sampled_from([ORG, ORG_NEW, None])))
        elif ORG_NEW not in orgs:
            chains.rotate(ORG, ORG_NEW)
            orgs.append(ORG_NEW)  # the old key goes on writing too: after its cut
    return chains.all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories(),
    st.lists(st.integers(0, 5), max_size=30),
    st.lists(st.integers(0, 5), max_size=30),
    st.integers(1, 4),
)
def test_delegation_effect_is_the_same_in_every_arrival_order(
    records: list[VerifiedRecord], picks1: list[int], picks2: list[int], batch: int
) -> None:
    one = briefs_in_store(_arrival(records, picks1), 1)
    two = briefs_in_store(_arrival(records, picks2), batch)
    assert one == two
    assert one == briefs_in_store(records)


def test_the_spec_states_the_longest_grant_the_code_uses() -> None:
    spec = (Path(__file__).parents[2] / "protocol" / "SPEC.md").read_text()
    [value] = re.findall(r"^\| `MAX_DELEGATION` \| (\d+) \|", spec, re.MULTILINE)
    assert int(value) == MAX_DELEGATION == 90 * DAY
