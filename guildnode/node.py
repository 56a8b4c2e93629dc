"""The node: its owner's identity and store, and the use cases on top of them.

Everything the HTTP API and the CLI do goes through here: publish (sign with the owner's
key and append to the owner's chain), ingest (handed to `ingest.Ingest`: verify fully, place
in the chain, then store a batch at once), and queries. One write lock serialises every
change to the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from . import derive
from .assembly import Assembly
from .briefs import Brief
from .check import CheckReport, check_store
from .datadir import DataDir
from .delegation import Delegations
from .errors import NodeError
from .evidence import Held
from .governance import Governance
from .guilds import Charter, Membership
from .identities import Identities
from .ingest import Ingest, IngestResult, Verifying
from .keyring import Keyring
from .market import Market
from .money import ISO_4217
from .protocol import (
    Identity,
    ProtocolError,
    VerifiedRecord,
    format_timestamp,
    parse_json,
    public_key_from_did,
    sign_record,
)
from .protocol.kinds import references
from .scope import Scope, compute_scope
from .store import ForkProof, Store
from .trust import TrustView, VouchTable, trust

Clock = Callable[[], float]
MAX_VOUCH_DAYS = 365


class Node:
    """One member's node: `Node(datadir)`, and `close()` when done."""

    def __init__(self, datadir: DataDir, *, public_url: str = "", clock: Clock = time.time):
        self.datadir = datadir
        self.identity: Identity = datadir.load_identity()
        self.store = Store(datadir.db_path)
        self.public_url = public_url
        self._clock = clock
        self._write_lock = threading.Lock()
        self._ingest = Ingest(self, write_lock=self._write_lock, advance_scope=self._advance_scope)
        self._scope: tuple[tuple[int, int], Scope] | None = None
        self._held_cache: tuple[int, Held] | None = None
        self._table_cache: tuple[int, VouchTable] | None = None
        self._trust_cache: dict[tuple[int, str | None, int], TrustView] = {}
        self.on_publish: list[Callable[[VerifiedRecord], None]] = []
        # Called (from the storing thread) after records from others are stored.
        self.on_ingest: list[Callable[[Sequence[VerifiedRecord]], None]] = []
        # Called after the owner's own read state changes (SPEC §16.5): nothing is published
        # or ingested, yet what waits on the owner has moved (SPEC §9.11).
        self.on_read: list[Callable[[Sequence[str]], None]] = []
        self.keyring = Keyring(self)
        self.market = Market(self)
        self.market.evidence.held = self._held  # one derivation of the store's values
        self.assembly = Assembly(self)
        self.keyring.finish_rotation()

    @property
    def did(self) -> str:
        return self.identity.did

    def __repr__(self) -> str:
        return f"Node({self.did!r})"

    def now(self) -> int:
        return int(self._clock())

    def close(self) -> None:
        self._ingest.close()
        self.store.close()

    # -- writing ----------------------------------------------------------------------

    def publish(
        self,
        kind: str,
        body: dict[str, Any],
        expires_at: int | None = None,
        *,
        signer: Identity | None = None,
    ) -> VerifiedRecord:
        """Sign a record with the owner's key (or `signer`, another key the owner holds) and
        append it to that key's chain.

        `created` is the clock, or the previous record's `created` if the clock went back
        (SPEC §7.3). Raises `ProtocolError` if the record would be invalid.
        """
        identity = signer or self.identity
        with self._write_lock:
            head = self.store.head(identity.did)
            now = self.now()
            record = sign_record(
                identity,
                kind=kind,
                body=body,
                seq=head.seq + 1 if head else 1,
                prev=head.id if head else None,
                created_at=max(now, head.created_at) if head else now,
                expires_at=expires_at,
            )
            self.store.commit([record])
            if signer is None:
                self._advance_scope([record], [])
            else:
                self._scope = None
        for listener in self.on_publish:
            listener(record)
        return record

    def mark_read(self, message_ids: Sequence[str]) -> None:
        """Record that the owner has read `message_ids` (SPEC §16.5), and tell the listeners."""
        self.store.mark_read(list(message_ids), self.now())
        for listener in self.on_read:
            listener(message_ids)

    def forget_derived(self) -> None:
        """Drop the cached scope and trust (the owner's key changed, SPEC §14.9)."""
        self._scope = None
        self._trust_cache.clear()

    def scope(self) -> Scope:
        """The owner's replication scope, recomputed when records arrive (and each minute,
        as vouches expire)."""
        key = (self.store.refs_version, self.now() // 60)
        if self._scope is None or self._scope[0] != key:
            self._scope = (key, compute_scope(self.store, self.did, self.now()))
        return self._scope[1]

    def _advance_scope(self, appends: Sequence[VerifiedRecord], forks: Sequence[ForkProof]) -> None:
        """Keep the cached scope current after a commit of vouches alone, instead of
        computing it again from every vouch held (a catch-up commits many such batches).
        Anything else — revokes, guild records, fork proofs — leaves the cache stale, and
        the next `scope()` computes it afresh."""
        cached = self._scope
        if cached is None or forks:
            return
        (_, minute), scope = cached
        now = self.now()
        if minute != now // 60:
            return
        relevant = [r for r in appends if references(r.kind, r.body)]
        if any(r.kind != "vouch" for r in relevant):
            return
        self._scope = (
            (self.store.refs_version, minute),
            scope.after_vouches(relevant, self.store, now),
        )

    def ingest(
        self, unverified: Sequence[Any], *, scoped: bool = False, scope: Scope | None = None
    ) -> list[IngestResult]:
        """Judge each record on its own, store the good ones in one transaction, and answer
        record by record, in order (SPEC §9.5). Accepted records are durable on return. With
        `scoped`, records of authors outside the replication scope (or `scope`, if given) are
        refused (SPEC §9.7). See `Ingest.batch`."""
        return self._ingest.batch(unverified, scoped=scoped, scope=scope)

    def ingest_stream(
        self,
        batches: Iterable[Sequence[Any]],
        *,
        scoped: bool = False,
        scope: Scope | None = None,
    ) -> Iterator[list[IngestResult]]:
        """`ingest` of each batch in turn, each batch's results yielded once durable, with
        the next batch verified while this one commits. See `Ingest.stream`."""
        return self._ingest.stream(batches, scoped=scoped, scope=scope)

    def start_verifying(self, *, wait: bool = False) -> bool:
        """Start the processes that verify large batches' signatures now, rather than at
        the first such batch: a serving node does so at start-up. See `Verifier.start`."""
        return self._ingest.start_verifying(wait=wait)

    def ingest_begin(self, unverified: Sequence[Any]) -> Verifying:
        """Start verifying a batch, to be stored by `ingest_finish` (which may run while a
        later batch is begun). See `Ingest.begin`."""
        return self._ingest.begin(unverified)

    def ingest_finish(
        self, verifying: Verifying, *, scoped: bool = False, scope: Scope | None = None
    ) -> list[IngestResult]:
        """`ingest` of a batch `ingest_begin` started. See `Ingest.finish`."""
        return self._ingest.finish(verifying, scoped=scoped, scope=scope)

    def keep_fork_proof(self, first: VerifiedRecord, second: VerifiedRecord) -> bool:
        """Keep a fork proof learnt from a peer (SPEC §7.5); see `Ingest.keep_fork_proof`."""
        return self._ingest.keep_fork_proof(first, second)

    # -- the owner's use cases ------------------------------------------------------

    def profile(self, did: str | None = None) -> dict[str, Any] | None:
        """The body of the latest `profile` record of `did` (default: the owner)."""
        latest = self.store.latest(did or self.did, "profile")
        if latest is None:
            return None
        body: dict[str, Any] = parse_json(latest)["body"]
        return body

    @property
    def name(self) -> str:
        profile = self.profile()
        return str(profile["name"]) if profile else ""

    def set_profile(
        self,
        *,
        name: str | None = None,
        organisation: bool | None = None,
        skills: Sequence[str] | None = None,
        bio: str | None = None,
        endpoints: Sequence[str] | None = None,
    ) -> VerifiedRecord:
        """Publish a new profile: the fields given replace those of the current one."""
        body = dict(self.profile() or {})
        if name is not None:
            body["name"] = name
        if organisation is not None:
            body["kind"] = "organisation" if organisation else "person"
        body.setdefault("kind", "person")
        for key, value in (("skills", skills), ("endpoints", endpoints)):
            if value is not None:
                body[key] = list(dict.fromkeys(value))
        if bio is not None:
            body["bio"] = bio
        if "name" not in body:
            raise NodeError("missing_name", "A profile needs a name: pass --name.")
        return self.publish("profile", body)

    def vouch(
        self,
        subject: str,
        *,
        level: int,
        context: str | None = None,
        statement: str | None = None,
        expires_days: int | None = None,
        evidence: str | None = None,
    ) -> VerifiedRecord:
        """Vouch for `subject`, optionally in a context, for at most 365 days."""
        try:
            public_key_from_did(subject)
        except ProtocolError as exc:
            raise NodeError(exc.code, exc.detail) from None
        if subject == self.did:
            raise NodeError("self_vouch", "You cannot vouch for yourself.")
        body: dict[str, Any] = {"subject": subject, "level": level}
        if context:
            body["context"] = context
        if statement:
            body["statement"] = statement
        if evidence:
            body["evidence"] = evidence
        expires_at = None
        if expires_days is not None:
            if not 1 <= expires_days <= MAX_VOUCH_DAYS:
                raise NodeError(
                    "invalid_argument", f"--expires-days must be between 1 and {MAX_VOUCH_DAYS}."
                )
            expires_at = self.now() + expires_days * 86_400
        return self.publish("vouch", body, expires_at)

    def revoke(self, target: str, *, reason: str | None = None) -> VerifiedRecord:
        """Revoke one of the owner's own records, by id."""
        canonical = self.store.get(target)
        if canonical is None:
            raise NodeError("not_found", f"No record {target} is held here.", 404)
        if parse_json(canonical)["author"] != self.did:
            raise NodeError("not_own_record", "You can revoke only your own records.")
        body: dict[str, Any] = {"target": target}
        if reason:
            body["reason"] = reason
        return self.publish("revoke", body)

    # -- trust and guilds -------------------------------------------------------------

    def _held(self) -> Held:
        """Identities, vouches, revocations, charters and delegations as values, rebuilt
        when records arrive; `market.evidence` reads these same ones."""
        version = self.store.refs_version
        if self._held_cache is None or self._held_cache[0] != version:
            self._held_cache = (version, Held.of(self.store))
        return self._held_cache[1]

    def _table(self) -> VouchTable:
        """Every vouch trust reads — those held and those feedback makes (SPEC §12.4) — with
        the contracts both parties call completed, rebuilt when records arrive."""
        version = self.store.refs_version
        if self._table_cache is None or self._table_cache[0] != version:
            held = self._held()
            ids = held.identities
            evidence = self.market.evidence
            earned = [
                replace(v, author=ids.member(v.author), subject=ids.member(v.subject))
                for v in evidence.feedback_vouches()
            ]
            completed = {
                cid: frozenset(ids.member(p) for p in parties)
                for cid, parties in evidence.completed().items()
            }
            self._table_cache = (
                version,
                VouchTable.build(held.vouches + earned, revoked=held.revoked, completed=completed),
            )
        return self._table_cache[1]

    def trust_view(self, context: str | None = None) -> TrustView:
        """The owner's view of everyone's trust in `context`, cached until records arrive
        (or the block list changes, or an hour passes, as vouches fade)."""
        key = (self.store.refs_version, context, self.now() // 3600)
        cached = self._trust_cache.get(key)
        if cached is None:
            if len(self._trust_cache) > 32:
                self._trust_cache.clear()
            cached = trust(
                self._table(),
                self._held().identities.member(self.did),
                now=self.now(),
                context=context or None,
                blocked=self.store.blocked(),
            )
            self._trust_cache[key] = cached
        return cached

    def block(self, did: str) -> None:
        """Zero `did`'s trust for the owner alone; nothing is published."""
        self.check_did(did)
        if did == self.did:
            raise NodeError("self_block", "You cannot block yourself.")
        self.store.block(did, self.now())

    def unblock(self, did: str) -> None:
        if not self.store.unblock(did):
            raise NodeError("not_found", f"{did} is not blocked.", 404)

    @staticmethod
    def check_did(did: str) -> None:
        """Raise `NodeError` (`invalid_did`) unless `did` is a valid did:key."""
        try:
            public_key_from_did(did)
        except ProtocolError as exc:
            raise NodeError(exc.code, exc.detail) from None

    def identities(self) -> Identities:
        """Which keys form one member, and where each key's effect ends (SPEC §14)."""
        return self._held().identities

    def delegations(self) -> Delegations:
        """Who may act for which organisation, within what scope (SPEC §15)."""
        return self._held().delegations

    def check_acting_for(self, organisation: str, scope: str) -> str | None:
        """Refuse (`not_delegated`, `outside_scope`, SPEC §15.6) unless the owner's next record
        needing `scope` would count as `organisation`'s; answer the organisation's member, or
        None when `organisation` is the owner's own member (then there is nothing to check)."""
        self.check_did(organisation)
        held = self._held()
        member = held.identities.member(organisation)
        if member == held.identities.member(self.did):
            return None
        head = self.store.head(self.did)
        refusal = held.delegations.refusal(
            self.did, (head.seq if head else 0) + 1, self.now(), scope, member
        )
        if refusal is not None:
            raise NodeError(*refusal)
        return member

    def member(self, did: str) -> str:
        """The current key of `did`'s member (SPEC §14.1): what trust and guilds call it."""
        return self._held().identities.member(did)

    def charters(self) -> dict[str, Charter]:
        """Every guild charter held, by id."""
        return self._held().charters

    def charter(self, guild_id: str) -> Charter:
        charter = self._held().charters.get(guild_id)
        if charter is None:
            raise NodeError("not_found", f"No guild charter {guild_id} is held here.", 404)
        return charter

    def guild(self, guild_id: str) -> Membership:
        """The guild's members and applicants, derived from the records held, under its
        charter as amended by vote (SPEC §12.5)."""
        return self.governance(guild_id).membership

    def governance(self, guild_id: str) -> Governance:
        """The guild's motions, its amended charter and its removals (SPEC §12.5)."""
        return self._held().governance(self.charter(guild_id), self.now())

    def guilds(self) -> list[Membership]:
        return [self.guild(gid) for gid in sorted(self.charters())]

    def found_guild(
        self,
        name: str,
        purpose: str,
        *,
        vouches_required: int = 2,
        cofounders: Sequence[str] = (),
        skills: Sequence[str] = (),
        cooling_days: int = 7,
        listing: dict[str, Any] | None = None,
    ) -> VerifiedRecord:
        """Publish a charter with the owner and `cofounders` as founders. Cofounders count
        once they apply to it. With `listing` ({description, skills, apply}) the guild is
        listed: indexers return it to searches."""
        for did in cofounders:
            self.check_did(did)
        founders = list(dict.fromkeys([self.did, *cofounders]))
        if vouches_required > len(founders):
            raise NodeError(
                "invalid_argument",
                f"--vouches-required {vouches_required} is more than the {len(founders)} "
                "founders could ever give.",
            )
        admission: dict[str, Any] = {
            "vouches_required": vouches_required,
            "cooling_days": cooling_days,
        }
        if skills:
            admission["skills"] = list(dict.fromkeys(skills))
        body = {"name": name, "purpose": purpose, "founders": founders, "admission": admission}
        if listing:
            body["listing"] = {k: v for k, v in listing.items() if v}
        return self.publish("guild", body)

    def apply_guild(self, guild_id: str, note: str | None = None) -> VerifiedRecord:
        self.charter(guild_id)
        body: dict[str, Any] = {"guild": guild_id}
        if note:
            body["note"] = note
        return self.publish("apply", body)

    def leave_guild(self, guild_id: str, reason: str | None = None) -> VerifiedRecord:
        self.charter(guild_id)
        body: dict[str, Any] = {"guild": guild_id}
        if reason:
            body["reason"] = reason
        return self.publish("leave", body)

    # -- briefs -----------------------------------------------------------------------

    def briefs(self) -> list[Brief]:
        """Every brief held in a served chain."""
        held = self._held()
        return derive.briefs(self.store, held.identities, held.delegations)

    def brief(self, brief_id: str) -> Brief:
        """The brief `brief_id` as `briefs` lists it, read by its id alone."""
        held = self._held()
        brief = derive.brief(self.store, brief_id, held.identities, held.delegations)
        if brief is None:
            raise NodeError("not_found", f"No brief {brief_id} is held here.", 404)
        return brief

    def post_brief(
        self,
        *,
        guilds: Sequence[str],
        title: str,
        description: str,
        acceptance_criteria: Sequence[str],
        budget_min: int,
        budget_max: int,
        currency: str,
        engagement: str = "fixed",
        skills: Sequence[str] = (),
        deadline_days: int | None = None,
        expires_days: int = 30,
        organisation: str | None = None,
    ) -> VerifiedRecord:
        """Publish a brief to guilds, the owner's own or, as a delegate, `organisation`'s
        (SPEC §15). Refuses what would have no effect (SPEC §6.8, §15.6)."""
        if organisation is not None and self.check_acting_for(organisation, "briefs") is None:
            organisation = None  # one's own member: an own brief
        if not 1 <= expires_days <= 30:
            raise NodeError("invalid_argument", "A brief expires 1 to 30 days after it is posted.")
        if budget_min > budget_max:
            raise NodeError("invalid_budget", "The budget's minimum is above its maximum.")
        if currency not in ISO_4217:
            raise NodeError("invalid_currency", f"{currency!r} is not an ISO 4217 currency code.")
        now = self.now()
        body: dict[str, Any] = {
            "guilds": list(dict.fromkeys(guilds)),
            "title": title,
            "description": description,
            "acceptance_criteria": list(acceptance_criteria),
            "budget": {"min": budget_min, "max": budget_max, "currency": currency},
            "engagement": engagement,
        }
        if skills:
            body["skills"] = list(dict.fromkeys(skills))
        if deadline_days is not None:
            body["deadline"] = format_timestamp(now + deadline_days * 86_400)
        if organisation is not None:
            body["organisation"] = organisation
        return self.publish("brief", body, now + expires_days * 86_400)

    # -- reading ------------------------------------------------------------------------

    def records(self, author: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Held records as wire objects, each with its id, by author then seq."""
        return [
            {"id": rid, "record": parse_json(canonical)}
            for rid, canonical in self.store.records(author=author, kind=kind)
        ]

    def check(self) -> CheckReport:
        """Re-verify every stored record, every chain link, every head and every fork proof."""
        return check_store(self.store)
