"""The derivation of threads (SPEC §16.2, §16.3): pure over what a reader opened, the same
for every order of arrival, and each rule of effect on its own."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode.contracts import Event
from guildnode.threads import Answer, Attachment, answers, threads

ORG, FAY, SAM = "did:org", "did:fay", "did:sam"
BRIEF, CONTRACT = "b" * 64, "c" * 64
BRIEFS = {BRIEF: ORG}
CONTRACTS = {CONTRACT: frozenset({ORG, FAY})}


def message(rid: str, author: str, at: int, parties: tuple[str, ...], **body: Any) -> Event:
    inner = {"about": "brief", "on": BRIEF, "text": f"text of {rid}", **body}
    return Event(rid * 64, "message", author, at, None, inner, tuple(sorted(parties)))


def derive(events: list[Event], public: tuple[Answer, ...] = ()) -> dict[str, Any]:
    found = threads(events, brief_authors=BRIEFS, contract_parties=CONTRACTS, public=public)
    return {tid: [m.id for m in t.messages] for tid, t in found.items()}


QUESTION = message("1", FAY, 10, (FAY, ORG))
REPLY = message("2", ORG, 20, (FAY, ORG), thread="1" * 64)
FOLLOW_UP = message("3", FAY, 20, (FAY, ORG), thread="1" * 64)
ON_CONTRACT = message("4", ORG, 15, (FAY, ORG), about="contract", on=CONTRACT)
STORY = [QUESTION, REPLY, FOLLOW_UP, ON_CONTRACT]


def test_a_thread_is_its_opener_then_its_replies_by_time_and_id() -> None:
    assert derive(STORY) == {
        "1" * 64: ["1" * 64, "2" * 64, "3" * 64],
        "4" * 64: ["4" * 64],
    }


@settings(max_examples=50, deadline=None)
@given(st.permutations(STORY))
def test_threads_do_not_depend_on_the_order_of_arrival(events: list[Event]) -> None:
    assert derive(events) == derive(STORY)


def test_a_message_about_a_brief_not_held_does_not_count() -> None:
    assert derive([message("5", FAY, 1, (FAY, ORG), on="d" * 64)]) == {}


def test_a_brief_thread_must_be_between_the_organisation_and_one_other() -> None:
    assert derive([message("5", FAY, 1, (FAY, SAM))]) == {}  # the organisation left out
    assert derive([message("5", FAY, 1, (FAY, ORG, SAM))]) == {}  # a third party


def test_a_contract_thread_must_be_sealed_to_exactly_its_parties() -> None:
    wrong = message("5", SAM, 1, (SAM, ORG), about="contract", on=CONTRACT)
    unknown = message("6", ORG, 1, (FAY, ORG), about="contract", on="e" * 64)
    assert derive([wrong, unknown]) == {}


def test_a_reply_counts_only_in_a_held_thread_with_the_same_parties_and_subject() -> None:
    orphan = message("5", ORG, 30, (FAY, ORG), thread="9" * 64)
    other_parties = message("6", ORG, 30, (SAM, ORG), thread="1" * 64)
    other_subject = message("7", ORG, 30, (FAY, ORG), about="contract", on=CONTRACT,
                            thread="1" * 64)  # fmt: skip
    to_a_reply = message("8", ORG, 30, (FAY, ORG), thread="2" * 64)
    found = derive([QUESTION, REPLY, orphan, other_parties, other_subject, to_a_reply])
    assert found == {"1" * 64: ["1" * 64, "2" * 64]}


def test_only_the_briefs_organisation_answers_to_all() -> None:
    body = {"brief": BRIEF, "text": "Yes."}
    held = [("a" * 64, ORG, 5, body), ("9" * 64, FAY, 5, body), ("8" * 64, ORG, 5,
            {"brief": "d" * 64, "text": "?"})]  # fmt: skip
    assert [a.id for a in answers(held, BRIEFS)] == ["a" * 64]


def test_an_answer_naming_a_thread_shows_in_it_marked_public() -> None:
    [answer] = answers([("a" * 64, ORG, 30, {"brief": BRIEF, "text": "Yes.", "thread": "1" * 64})],
                       BRIEFS)  # fmt: skip
    found = threads([QUESTION, ON_CONTRACT], brief_authors=BRIEFS, contract_parties=CONTRACTS,
                    public=[answer])  # fmt: skip
    assert [(m.id, m.public) for m in found["1" * 64].messages] == [
        ("1" * 64, False),
        ("a" * 64, True),
    ]
    assert [m.id for m in found["4" * 64].messages] == ["4" * 64]


def attachment(raw: bytes, **changes: Any) -> Attachment:
    fields = {"name": "f", "media_type": "text/plain", "size": len(raw),
              "sha256": hashlib.sha256(raw).hexdigest(),
              "data": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}  # fmt: skip
    return Attachment.from_body(fields | changes)


def test_an_attachment_is_intact_only_when_its_bytes_match_size_and_hash() -> None:
    assert attachment(b"notes").content() == b"notes"
    assert not attachment(b"notes", size=4).intact
    assert not attachment(b"notes", sha256="0" * 64).intact
    assert not attachment(b"notes", data="bm90ZXM=").intact  # padded: not canonical
    assert not attachment(b"notes", data="bm90ZXN").intact  # stray trailing bits
