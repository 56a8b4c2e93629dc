"""Search through indexers (issue 12): ask every indexer the owner named, trust none of them.

An indexer answers `{"indexer": {"did", "url"}, "as_of", "results": [{"record": …}]}` with
signed records. Each result is verified here exactly as ingest verifies a record
(`verify_record`: envelope, body schema, signature, id), then checked against the query's
own filters (its kind, skill, currency, budget, guild; open briefs, listed guilds), so an
indexer can omit results but not forge, alter or slip in ones that do not match: those are
dropped and reported with the indexer that sent them. The words of `q` are not re-checked:
ranking and stemming are the indexer's, and a result that does not contain them misleads
no one about who signed what. Results of all indexers are merged (by rank, one record
once, with every indexer that returned it) and each indexer's answer says how fresh it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from .briefs import Brief
from .peers import PeerClient, PeerError, normalise_url
from .protocol import ProtocolError, VerifiedRecord, public_key_from_did, verify_record
from .protocol.kinds import MAX_SAFE_INTEGER
from .protocol.search import (
    BRIEF_ONLY,
    CURRENCY,
    DEFAULT_LIMIT,
    KINDS,
    MAX_LIMIT,
    MAX_WORDS,
    RECORD_ID,
    SKILL,
    Query,
)

# 100 records of at most 16 KiB each, escaped at worst, and the envelope around them.
ANSWER_BYTES = 4 * 1_048_576


class SearchError(Exception):
    """A search that cannot be asked: a bad query (`invalid_query`), no indexer named
    (`no_indexers`), an indexer that cannot be added. Carries a stable code."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status


def make_query(what: str, fields: Mapping[str, Any] | None = None, /, **named: Any) -> Query:
    """A `Query` from untrusted input; raises `SearchError("invalid_query", …)` naming the
    first field at fault. Empty strings count as absent."""

    def bad(detail: str) -> SearchError:
        return SearchError("invalid_query", detail)

    if what not in KINDS:
        raise bad(f"One searches briefs, people or guilds, not {what[:40]!r}.")
    given = {k: v for k, v in {**(fields or {}), **named}.items() if v not in (None, "")}
    unknown = set(given) - {"q", "skill", "limit", *BRIEF_ONLY}
    if unknown:
        raise bad(f"Unknown search fields: {', '.join(sorted(unknown))}.")
    if what != "briefs" and set(given) & set(BRIEF_ONLY):
        raise bad("Currency, budget and guild filters apply to briefs only.")
    q = str(given.get("q", "")).strip()
    if len(q) > MAX_WORDS:
        raise bad(f"The search words are longer than {MAX_WORDS} characters.")
    skill = given.get("skill")
    if skill is not None and not (isinstance(skill, str) and SKILL.fullmatch(skill)):
        raise bad("A skill is lower-case letters, digits and +#._- (at most 40).")
    currency = given.get("currency")
    if currency is not None and not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
        raise bad("A currency is three capital letters (ISO 4217), such as EUR.")
    guild = given.get("guild")
    if guild is not None and not (isinstance(guild, str) and RECORD_ID.fullmatch(guild)):
        raise bad("A guild is the 64-hex-digit id of its charter.")
    budgets = [_whole(given.get(name), name, 0, MAX_SAFE_INTEGER) for name in BRIEF_ONLY[1:3]]
    if None not in budgets and budgets[0] > budgets[1]:  # type: ignore[operator]
        raise bad("min_budget is above max_budget.")
    limit = _whole(given.get("limit"), "limit", 1, MAX_LIMIT)
    return Query(
        what, q, skill, currency, budgets[0], budgets[1], guild,
        DEFAULT_LIMIT if limit is None else limit,
    )  # fmt: skip


def _whole(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16 or not low <= int(text) <= high:
        raise SearchError("invalid_query", f"{name} must be a whole number from {low} to {high}.")
    return int(text)


def mismatch(query: Query, record: VerifiedRecord, now: int) -> str | None:
    """Why a verified record is not an answer to `query`, or None if it is one."""
    body = record.body
    if record.kind != query.kind:
        return f"it is a {record.kind} record, not a {query.kind}"
    if query.what == "briefs":
        brief = Brief(record.id, record.author, record.created_at, record.expires_at, body)
        budget = body["budget"]
        if not brief.is_open(now):
            return "the brief is not open (expired, or without effect)"
        if query.skill and query.skill not in brief.skills:
            return f"the brief does not ask for {query.skill}"
        if query.currency and budget["currency"] != query.currency:
            return f"the budget is in {budget['currency']}, not {query.currency}"
        if query.min_budget is not None and budget["max"] < query.min_budget:
            return f"the budget tops out below {query.min_budget}"
        if query.max_budget is not None and budget["min"] > query.max_budget:
            return f"the budget starts above {query.max_budget}"
        if query.guild and query.guild not in brief.guilds:
            return "the brief is not posted to that guild"
    elif query.what == "people":
        if query.skill and query.skill not in body.get("skills", []):
            return f"the profile does not name {query.skill}"
    else:
        listing = body.get("listing")
        if not isinstance(listing, dict):
            return "the guild is not listed"
        skills = [*listing.get("skills", []), *body["admission"].get("skills", [])]
        if query.skill and query.skill not in skills:
            return f"the guild does not name {query.skill}"
    return None


@dataclass
class Found:
    """A verified result and every indexer that returned it."""

    record: VerifiedRecord
    indexers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.record.id,
            "kind": self.record.kind,
            "author": self.record.author,
            "verified": True,
            "indexers": list(self.indexers),
            "record": self.record.to_wire(),
        }


@dataclass
class IndexerAnswer:
    """How one indexer answered: its identity and freshness, or why it did not."""

    url: str
    did: str
    as_of: str | None = None
    as_of_at: int | None = None
    returned: int = 0
    kept: list[VerifiedRecord] = field(default_factory=list)
    error: tuple[str, str] | None = None

    def as_dict(self, now: int) -> dict[str, Any]:
        return {
            "url": self.url,
            "did": self.did,
            "as_of": self.as_of,
            "age_seconds": None if self.as_of_at is None else max(0, now - self.as_of_at),
            "returned": self.returned,
            "kept": len(self.kept),
            "error": None
            if self.error is None
            else {"code": self.error[0], "detail": self.error[1]},
        }


@dataclass(frozen=True, slots=True)
class Dropped:
    """A result an indexer sent that was refused: it failed verification, or the query."""

    indexer: str
    id: str | None
    code: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"indexer": self.indexer, "id": self.id, "code": self.code, "detail": self.detail}


@dataclass
class SearchResult:
    query: Query
    now: int
    found: list[Found]
    answers: list[IndexerAnswer]
    dropped: list[Dropped]

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.query.what,
            "query": self.query.params(),
            "results": [f.as_dict() for f in self.found],
            "indexers": [a.as_dict(self.now) for a in self.answers],
            "dropped": [d.as_dict() for d in self.dropped],
        }


def parse_as_of(value: Any) -> int:
    """An RFC 3339 moment as Unix seconds; raises ValueError for anything else."""
    if not isinstance(value, str) or len(value) > 40 or "T" not in value.upper():
        raise ValueError("not an RFC 3339 timestamp")
    moment = datetime.fromisoformat(value.replace("z", "Z"))
    if moment.tzinfo is None:
        raise ValueError("an RFC 3339 timestamp carries its offset")
    return int(moment.timestamp())


def judge_answer(
    data: Any, indexer: dict[str, Any], query: Query, now: int
) -> tuple[IndexerAnswer, list[Dropped]]:
    """Check one indexer's answer and each of its results (see the module's docstring).

    A malformed answer or one naming another identity is an error of the whole answer
    (`bad_response`, `identity_mismatch`); a bad result is dropped, the others are kept."""
    answer = IndexerAnswer(indexer["url"], indexer["did"])
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        answer.error = ("bad_response", 'The answer is not {"indexer", "as_of", "results"}.')
        return answer, []
    named = data.get("indexer")
    if not isinstance(named, dict) or named.get("did") != indexer["did"]:
        claimed = named.get("did") if isinstance(named, dict) else None
        answer.error = (
            "identity_mismatch",
            f"The answer names the indexer {str(claimed)[:80]}, not {indexer['did']}.",
        )
        return answer, []
    if "as_of" not in data:
        answer.error = ("bad_response", "The answer does not say how fresh it is (as_of).")
        return answer, []
    try:  # SPEC §13.3: null until the indexer finished its first follow round
        answer.as_of_at = None if data["as_of"] is None else parse_as_of(data["as_of"])
        answer.as_of = data["as_of"]
    except (ValueError, OverflowError):
        answer.error = ("bad_response", "The answer's as_of is not an RFC 3339 timestamp.")
        return answer, []
    results = data["results"]
    answer.returned = len(results)
    if len(results) > query.limit:
        answer.error = (
            "bad_response",
            f"{len(results)} results, more than the {query.limit} asked.",
        )
        return answer, []
    dropped: list[Dropped] = []
    for item in results:
        raw = item.get("record") if isinstance(item, dict) else None
        try:
            record = verify_record(raw)
        except ProtocolError as exc:
            claimed_id = raw.get("id") if isinstance(raw, dict) else None
            dropped.append(Dropped(indexer["url"], _short(claimed_id), exc.code, exc.detail))
            continue
        reason = mismatch(query, record, now)
        if reason is not None:
            detail = f"Not an answer to the query: {reason}."
            dropped.append(Dropped(indexer["url"], record.id, "not_matching", detail))
            continue
        answer.kept.append(record)
    return answer, dropped


def _short(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) else None


def merge(answers: list[IndexerAnswer]) -> list[Found]:
    """One list from every answer: by rank (each indexer's first, then their seconds…),
    each record once with every indexer that returned it, and one profile per person (the
    latest in their chain, with the indexers that returned that one)."""
    found: dict[str, Found] = {}
    person: dict[str, str] = {}  # author → id of the profile kept
    deepest = max((len(a.kept) for a in answers), default=0)
    for rank in range(deepest):
        for answer in answers:
            if rank >= len(answer.kept):
                continue
            record = answer.kept[rank]
            if record.kind == "profile":
                held = person.get(record.author)
                if held is not None and held != record.id:
                    if found[held].record.seq >= record.seq:
                        continue  # older than the profile kept
                    del found[held]  # newer: only this one's indexers count
                person[record.author] = record.id
            entry = found.setdefault(record.id, Found(record))
            if answer.url not in entry.indexers:
                entry.indexers.append(answer.url)
    return list(found.values())


async def ask(
    client: PeerClient, indexers: list[dict[str, Any]], query: Query, now: int
) -> SearchResult:
    """Ask every indexer at once, judge each answer, merge. Raises `no_indexers` if the
    owner named none; an indexer that fails is reported in its answer, not raised."""
    if not indexers:
        raise SearchError(
            "no_indexers", "No indexer is named: add one with `guildnode indexer add URL`."
        )
    path = f"/search/{query.what}?{urlencode(query.params())}"

    async def one(indexer: dict[str, Any]) -> tuple[IndexerAnswer, list[Dropped]]:
        if indexer["allow_private"]:
            client.allow_private_origin(indexer["url"])
        try:
            reply = await client.request("GET", indexer["url"] + path, limit=ANSWER_BYTES)
            if reply.status != 200:
                raise PeerError("peer_refused", refusal_text(indexer["url"], reply.status, reply))
            data = reply.json()
        except PeerError as exc:
            return IndexerAnswer(indexer["url"], indexer["did"], error=(exc.code, exc.detail)), []
        return judge_answer(data, indexer, query, now)

    judged = await asyncio.gather(*(one(indexer) for indexer in indexers))
    answers = [answer for answer, _ in judged]
    dropped = [d for _, found in judged for d in found]
    return SearchResult(query, now, merge(answers), answers, dropped)


def refusal_text(url: str, status: int, reply: Any) -> str:
    """An error answer in the project's error shape, as one sentence (else the status)."""
    try:
        error = reply.json().get("error", {})
        return f"{url} answered {status}: {error['code']}: {str(error['detail'])[:300]}"
    except (PeerError, AttributeError, KeyError, TypeError):
        return f"{url} answered {status}."


async def probe(client: PeerClient, url: str, allow_private: bool) -> dict[str, Any]:
    """Check that `url` is an indexer (it answers a search in the indexer's shape) and
    learn its identity: the row to store. Raises `PeerError` (`invalid_url`,
    `private_address`, `peer_unreachable`, `bad_response`…)."""
    url = normalise_url(url)
    if allow_private:
        client.allow_private_origin(url)
    reply = await client.request("GET", f"{url}/search/guilds?limit=1", limit=ANSWER_BYTES)
    if reply.status != 200:
        raise PeerError("peer_refused", refusal_text(url, reply.status, reply))
    data = reply.json()
    named = data.get("indexer") if isinstance(data, dict) else None
    did = named.get("did") if isinstance(named, dict) else None
    try:
        public_key_from_did(did if isinstance(did, str) else "")
    except ProtocolError:
        raise PeerError(
            "bad_response", f"{url} does not answer as an indexer (no valid indexer.did)."
        ) from None
    return {"url": url, "did": did, "allow_private": allow_private}
