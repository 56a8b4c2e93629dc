"""`guildnode check`: re-verify what a node's store holds, from its bytes alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .protocol import ChainHead, ProtocolError, VerifiedRecord, parse_json, place, verify_record
from .store import Store


@dataclass
class CheckReport:
    """What `check_store` found: how much it re-verified, and each problem as a line."""

    records: int = 0
    authors: int = 0
    forks: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "authors": self.authors,
            "forks": self.forks,
            "problems": self.problems,
        }


def check_store(store: Store) -> CheckReport:
    """Re-verify every stored record, every chain link, every head and every fork proof."""
    report = CheckReport()
    last: dict[str, VerifiedRecord] = {}
    for rid, canonical in store.records():
        report.records += 1
        try:
            record = verify_record(parse_json(canonical), expected_id=rid)
        except ProtocolError as exc:
            report.problems.append(f"record {rid}: {exc.code}: {exc.detail}")
            continue
        if record.canonical != canonical:
            report.problems.append(f"record {rid}: stored bytes are not canonical")
        previous = last.get(record.author)
        head = ChainHead(previous.seq, previous.id, previous.created_at) if previous else None
        try:
            place(record, head, None, now=record.created_at)
        except ProtocolError as exc:
            report.problems.append(f"record {rid}: {exc.code}: {exc.detail}")
        last[record.author] = record
    report.authors = len(last)
    heads = {author: (seq, rid) for author, seq, rid, _ in store.heads_rows()}
    for author, record in last.items():
        if heads.get(author) != (record.seq, record.id):
            report.problems.append(f"head of {author} does not match its last record")
    for author in set(heads) - set(last):
        report.problems.append(f"head of {author} names no stored record")
    for proof in store.forks():
        report.forks += 1
        try:
            first = verify_record(parse_json(proof.first))
            second = verify_record(parse_json(proof.second))
        except ProtocolError as exc:
            report.problems.append(f"fork proof of {proof.author}: {exc.code}: {exc.detail}")
            continue
        if not (
            first.author == second.author == proof.author
            and first.seq == second.seq == proof.seq
            and first.id != second.id
        ):
            report.problems.append(f"fork proof of {proof.author} proves nothing")
    return report
