"""Conversations derived from records (SPEC §16): threads of sealed messages, and public
answers on briefs.

Pure over what a reader opened: `threads` takes the reader's opened `message` events, the
briefs it holds (id → author) and the contracts it derives (id → parties), and gives every
thread that counts (SPEC §16.2), whatever order the records arrived in. `answers` gives the
public answers that count (SPEC §16.3).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .contracts import Event


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried inline (SPEC §6.23)."""

    name: str
    media_type: str
    size: int
    sha256: str
    data: str  # unpadded base64url, as on the wire

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Attachment:
        return cls(body["name"], body["media_type"], body["size"], body["sha256"], body["data"])

    def content(self) -> bytes | None:
        """The file's bytes, or None when the attachment is broken (SPEC §6.23): `data` not
        canonical base64url, or not `size` bytes whose SHA-256 is `sha256`."""
        try:
            raw = base64.urlsafe_b64decode(self.data + "=" * (-len(self.data) % 4))
        except (binascii.Error, ValueError):
            return None
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != self.data:
            return None
        if len(raw) != self.size or hashlib.sha256(raw).hexdigest() != self.sha256:
            return None
        return raw

    @property
    def intact(self) -> bool:
        return self.content() is not None


def attachments_of(body: dict[str, Any]) -> tuple[Attachment, ...]:
    return tuple(Attachment.from_body(a) for a in body.get("attachments", ()))


@dataclass(frozen=True, slots=True)
class Answer:
    """A public answer that counts (SPEC §16.3)."""

    id: str
    author: str
    created_at: int
    brief: str
    text: str
    question: str | None
    thread: str | None
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a thread: a sealed `message`, or a public `answer` shown in it."""

    id: str
    author: str
    created_at: int
    text: str
    attachments: tuple[Attachment, ...]
    public: bool = False
    question: str | None = None  # an answer's restatement of the question


@dataclass(frozen=True, slots=True)
class Thread:
    id: str  # the id of the message that opened it (SPEC §16.1)
    about: str  # "brief" or "contract"
    on: str
    parties: tuple[str, ...]  # sorted
    messages: tuple[Message, ...]  # the opener, then by created and id

    @property
    def last_at(self) -> int:
        return self.messages[-1].created_at

    def other(self, did: str) -> str:
        return next((p for p in self.parties if p != did), did)


def answers(
    records: Iterable[tuple[str, str, int, dict[str, Any]]], brief_authors: Mapping[str, str]
) -> list[Answer]:
    """The `answer` records (id, author, created, body) that count: by the author of a held
    brief (SPEC §16.3). Ordered by created, then id."""
    found = [
        Answer(
            id=rid,
            author=author,
            created_at=created,
            brief=body["brief"],
            text=body["text"],
            question=body.get("question"),
            thread=body.get("thread"),
            attachments=attachments_of(body),
        )
        for rid, author, created, body in records
        if brief_authors.get(body["brief"]) == author
    ]
    return sorted(found, key=lambda a: (a.created_at, a.id))


def _parties_ok(
    event: Event, brief_authors: Mapping[str, str], contract_parties: Mapping[str, frozenset[str]]
) -> bool:
    """SPEC §16.2 rule 1."""
    body, parties = event.body, set(event.parties)
    if body["about"] == "brief":
        author = brief_authors.get(body["on"])
        return author is not None and len(parties) == 2 and author in parties
    expected = contract_parties.get(body["on"])
    return expected is not None and parties == expected


def _message(event: Event) -> Message:
    body = event.body
    return Message(event.id, event.author, event.created_at, body["text"], attachments_of(body))


def threads(
    events: Iterable[Event],
    *,
    brief_authors: Mapping[str, str],
    contract_parties: Mapping[str, frozenset[str]],
    public: Iterable[Answer] = (),
) -> dict[str, Thread]:
    """Every thread that counts for the reader (SPEC §16.2), by thread id, with the public
    answers that name it (SPEC §16.3). `events` are the reader's opened `message`s."""
    counting = [
        e for e in events if e.kind == "message" and _parties_ok(e, brief_authors, contract_parties)
    ]
    openers = {e.id: e for e in counting if "thread" not in e.body}
    members: dict[str, list[Message]] = {tid: [_message(e)] for tid, e in openers.items()}
    for event in counting:
        opener = openers.get(event.body.get("thread", ""))  # an opener finds none
        if opener is None:
            continue
        same = (opener.body["about"], opener.body["on"], opener.parties)
        if (event.body["about"], event.body["on"], event.parties) == same:
            members[opener.id].append(_message(event))
    for answer in public:
        opener = openers.get(answer.thread or "")
        if opener is not None and (opener.body["about"], opener.body["on"]) == (
            "brief",
            answer.brief,
        ):
            members[opener.id].append(
                Message(
                    answer.id,
                    answer.author,
                    answer.created_at,
                    answer.text,
                    answer.attachments,
                    public=True,
                    question=answer.question,
                )
            )
    return {
        tid: Thread(
            id=tid,
            about=opener.body["about"],
            on=opener.body["on"],
            parties=opener.parties,
            # SPEC §16.1: the opener first (every other message names it), then by time.
            messages=(
                members[tid][0],
                *sorted(members[tid][1:], key=lambda m: (m.created_at, m.id)),
            ),
        )
        for tid, opener in openers.items()
    }
