"""The owner's conversations (SPEC §16): ask about a brief or write on a contract, reply,
publish an answer to all, and keep track of what the owner has read.

The use cases behind `guildnode thread …`, `POST /api/thread/{action}` and the UI. Each
publishes only what would count for both parties (SPEC §16.2) and refuses the rest with a
stable code (SPEC §16.6); nothing is stored when it refuses. Threads are derived afresh by
`threads.threads` from what the owner can open; read state is the node's own (SPEC §16.5).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, validate_call

from . import actions, derive
from .errors import NodeError
from .node import Node
from .protocol import ProtocolError, VerifiedRecord, format_timestamp, parse_json
from .protocol.kinds import validate_inner
from .protocol.schemas import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_MESSAGE_CHARS
from .protocol.sealed import recipients, seal
from .threads import Answer, Attachment, Thread, answers, threads
from .views import display_name, published


class AttachmentIn(BaseModel):
    """A file as the owner hands it over: its bytes in base64url (padding optional)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    media_type: str = "application/octet-stream"
    data: str


@dataclass(frozen=True, slots=True)
class Held:
    """What the owner's node derives of conversations right now."""

    threads: dict[str, Thread]
    answers: list[Answer]
    brief_authors: dict[str, str]


def held(node: Node) -> Held:
    """The owner's threads and every public answer that counts (SPEC §16.2, §16.3)."""
    brief_authors = {b.id: node.member(b.author) for b in node.briefs()}
    contract_parties = {c.id: c.parties for c in node.market.contracts()}
    public = answers(
        (
            (rid, node.member(record["author"]), created, record["body"])
            for rid, record, created in derive.served(node.store, "answer")
        ),
        brief_authors,
    )
    found = threads(
        node.market.events(("message",)),
        brief_authors=brief_authors,
        contract_parties=contract_parties,
        public=public,
    )
    return Held(found, public, brief_authors)


# -- publishing ------------------------------------------------------------------------


def _text(text: str) -> str:
    if not text.strip():
        raise NodeError("invalid_argument", "text: a message needs some text.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise NodeError(
            "message_too_large",
            f"The message is {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}.",
        )
    return text


def _attachments(items: list[AttachmentIn] | None) -> list[dict[str, Any]]:
    """The attachments of a message as records carry them (SPEC §6.23)."""
    if not items:
        return []
    if len(items) > MAX_ATTACHMENTS:
        raise NodeError(
            "too_many_attachments",
            f"{len(items)} attachments; a message carries at most {MAX_ATTACHMENTS}.",
        )
    found = []
    for item in items:
        try:
            raw = base64.b64decode(item.data + "=" * (-len(item.data) % 4), b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise NodeError(
                "invalid_attachment", f"{item.name!r}: the data is not base64url."
            ) from None
        if len(raw) > MAX_ATTACHMENT_BYTES:
            raise NodeError(
                "attachment_too_large",
                f"{item.name!r} is {len(raw)} bytes; an attachment may have at most "
                f"{MAX_ATTACHMENT_BYTES}.",
            )
        found.append(
            {
                "name": item.name,
                "media_type": item.media_type,
                "size": len(raw),
                "sha256": hashlib.sha256(raw).hexdigest(),
                "data": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
            }
        )
    try:
        validate_inner("message", {"about": "brief", "on": "0" * 64, "text": "x",
                                   "attachments": found})  # fmt: skip
    except ProtocolError as exc:
        raise NodeError("invalid_attachment", exc.detail.replace("sealed body.", "")) from None
    return found


def _body(fields: dict[str, Any], attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {**fields, "attachments": attachments} if attachments else fields


def _sign(node: Node, kind: str, body: dict[str, Any], to: list[str]) -> VerifiedRecord:
    """Seal (for a `message`) and publish; a record that would not fit is `message_too_large`."""
    try:
        if kind == "message":
            body = seal(node.identity, kind, body, to)
        return node.publish(kind, body)
    except ProtocolError as exc:
        if exc.code == "record_too_large" or "box would be" in exc.detail:
            raise NodeError(
                "message_too_large",
                "The message and its attachments do not fit in one record: "
                "shorten the text or attach less.",
            ) from None
        raise NodeError(exc.code, exc.detail) from None


def ask(
    node: Node, on: str, text: str, attachments: list[AttachmentIn] | None = None
) -> VerifiedRecord:
    """Open a thread about a brief (sealed to its organisation) or a contract (sealed to the
    other party), SPEC §16.1."""
    text, files = _text(text), _attachments(attachments)
    now = held(node)
    if on in now.brief_authors:
        organisation = now.brief_authors[on]
        if organisation == node.did:
            raise NodeError("own_brief", "This is your own brief: answer the askers' threads.")
        inner = _body({"about": "brief", "on": on, "text": text}, files)
        return _sign(node, "message", inner, [organisation])
    contract = node.market.find(on)
    if contract is None:
        canonical = node.store.get(on)
        if canonical is not None and node.did not in recipients(_body_of(canonical)):
            raise NodeError(
                "not_a_party", "That contract is between others: you are not party to it.", 403
            )
        raise NodeError("not_found", f"No brief or contract {on} is held here.", 404)
    other = sorted(contract.parties - {node.did})
    inner = _body({"about": "contract", "on": on, "text": text}, files)
    return _sign(node, "message", inner, other)


def _body_of(canonical: bytes) -> dict[str, Any]:
    """The public body of a held offer (no offer: a body sealed to no one)."""
    record = parse_json(canonical)
    body = record.get("body")
    return body if record.get("kind") == "offer" and isinstance(body, dict) else {"keys": []}


def _thread(now: Held, node: Node, thread_id: str) -> Thread:
    found = now.threads.get(thread_id)
    if found is None or node.did not in found.parties:
        raise NodeError("unknown_thread", f"No thread {thread_id} of yours is held here.", 404)
    return found


def _answer(
    node: Node,
    now: Held,
    thread: Thread,
    text: str,
    question: str | None,
    files: list[dict[str, Any]],
) -> VerifiedRecord:
    if thread.about != "brief" or now.brief_authors.get(thread.on) != node.did:
        raise NodeError("not_your_brief", "Only the brief's organisation answers to all.", 403)
    if question is not None and not 1 <= len(question) <= 1000:
        raise NodeError("invalid_argument", "question: 1 to 1000 characters.")
    body = {"brief": thread.on, "text": text, "thread": thread.id}
    if question:
        body["question"] = question
    return _sign(node, "answer", _body(body, files), [])


def reply(
    node: Node,
    thread: str,
    text: str,
    attachments: list[AttachmentIn] | None = None,
    public: bool = False,
    question: str | None = None,
) -> VerifiedRecord:
    """A message in one of the owner's threads; with `public`, an `answer` to all instead
    (SPEC §16.3)."""
    text, files = _text(text), _attachments(attachments)
    now = held(node)
    found = _thread(now, node, thread)
    if public:
        return _answer(node, now, found, text, question, files)
    inner = _body({"about": found.about, "on": found.on, "thread": found.id, "text": text}, files)
    return _sign(node, "message", inner, [found.other(node.did)])


def publish(node: Node, message: str, question: str | None = None) -> VerifiedRecord:
    """Publish to all, as an `answer`, a message the owner wrote in a thread about its own
    brief: the same text and attachments (SPEC §16.3)."""
    now = held(node)
    for thread in now.threads.values():
        for item in thread.messages:
            if item.id == message and not item.public:
                if item.author != node.did:
                    raise NodeError("not_your_message", "You can publish only what you wrote.", 403)
                files = [_attachment_body(a) for a in item.attachments]
                return _answer(node, now, thread, item.text, question, files)
    raise NodeError("not_found", f"No message {message} is in a thread of yours.", 404)


def _attachment_body(a: Attachment) -> dict[str, Any]:
    return {"name": a.name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256,
            "data": a.data}  # fmt: skip


def read(node: Node, thread: str) -> dict[str, Any]:
    """Mark a thread's messages read (SPEC §16.5)."""
    found = _thread(held(node), node, thread)
    node.mark_read([m.id for m in found.messages])
    return {"thread": found.id, "unread": 0}


def attachment(node: Node, thread_id: str, sha256: str) -> tuple[str, bytes]:
    """The name and bytes of an intact attachment in one of the owner's threads."""
    found = _thread(held(node), node, thread_id)
    for item in found.messages:
        for a in item.attachments:
            content = a.content() if a.sha256 == sha256 else None
            if content is not None:
                return a.name, content
    raise NodeError("not_found", f"No intact attachment {sha256} is in that thread.", 404)


def unread(node: Node) -> int:
    """How many messages of the owner's threads the owner has not read (SPEC §16.5)."""
    seen = node.store.read_messages()
    return sum(
        len(unread_ids(node, t, seen)) for t in held(node).threads.values() if node.did in t.parties
    )


# -- views ------------------------------------------------------------------------------


def _attachment_view(a: Attachment, with_data: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"name": a.name, "media_type": a.media_type, "size": a.size,
                            "sha256": a.sha256, "intact": a.intact}  # fmt: skip
    if with_data:
        view["data"] = a.data
    return view


def unread_ids(node: Node, thread: Thread, seen: set[str]) -> list[str]:
    return [m.id for m in thread.messages if m.author != node.did and m.id not in seen]


def _title(node: Node, now: Held, thread: Thread) -> str:
    if thread.about == "brief":
        try:
            return str(node.brief(thread.on).body["title"])
        except NodeError:  # not held here
            return thread.on[:12]
    contract = node.market.find(thread.on)
    return str(contract.terms.get("scope", "a contract"))[:80] if contract else thread.on[:12]


def summary(node: Node, now: Held, thread: Thread, seen: set[str]) -> dict[str, Any]:
    last = thread.messages[-1]
    return {
        "id": thread.id,
        "about": thread.about,
        "on": thread.on,
        "title": _title(node, now, thread),
        "with": display_name(node, thread.other(node.did)),
        "parties": list(thread.parties),
        "messages": len(thread.messages),
        "unread": len(unread_ids(node, thread, seen)),
        "last": {
            "from": display_name(node, last.author),
            "text": last.text[:120],
            "created": format_timestamp(last.created_at),
        },
    }


def answer_view(node: Node, answer: Answer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "from": display_name(node, answer.author),
        "brief": answer.brief,
        "question": answer.question,
        "text": answer.text,
        "created": format_timestamp(answer.created_at),
        "attachments": [_attachment_view(a, True) for a in answer.attachments],
    }


def list_threads(node: Node, on: str | None = None) -> dict[str, Any]:
    """The owner's threads, newest activity first, with unread counts; for a brief, also its
    public answers."""
    now, seen = held(node), node.store.read_messages()
    mine = [t for t in now.threads.values() if node.did in t.parties]
    total = sum(len(unread_ids(node, t, seen)) for t in mine)
    if on is not None:
        mine = [t for t in mine if t.on == on]
    mine.sort(key=lambda t: (-t.last_at, t.id))
    result: dict[str, Any] = {
        "threads": [summary(node, now, t, seen) for t in mine],
        "unread": total,
    }
    if on is not None and on in now.brief_authors:
        result["answers"] = [answer_view(node, a) for a in now.answers if a.brief == on]
    return result


def show_thread(node: Node, thread_id: str) -> dict[str, Any]:
    """One of the owner's threads with every message; `404 not_found` if not the owner's."""
    now, seen = held(node), node.store.read_messages()
    found = now.threads.get(thread_id)
    if found is None or node.did not in found.parties:
        raise NodeError("not_found", f"No thread {thread_id} of yours is held here.", 404)
    unread = set(unread_ids(node, found, seen))
    return {
        **summary(node, now, found, seen),
        "messages": [
            {
                "id": m.id,
                "author": m.author,
                "from": display_name(node, m.author),
                "created": format_timestamp(m.created_at),
                "text": m.text,
                "public": m.public,
                "question": m.question,
                "unread": m.id in unread,
                "attachments": [_attachment_view(a, True) for a in m.attachments],
            }
            for m in found.messages
        ],
    }


_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)

# SPEC §16.6: POST /api/thread/{action}, `guildnode thread …`.
ACTIONS: dict[str, Callable[..., Any]] = {
    name: validate_call(config=_STRICT)(fn)
    for name, fn in (("ask", ask), ("reply", reply), ("publish", publish), ("read", read))
}


def run(node: Node, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Run the thread action `name`; a publishing action answers with the record."""
    result = actions.invoke(ACTIONS, node, name, fields)
    return published(result) if isinstance(result, VerifiedRecord) else result
