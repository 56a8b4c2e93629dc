"""`POST /sync/batch`: many feeds in one answer (SPEC §9.13).

The request names feeds and, for each, the last seq the asker holds; the answer holds their
records, feed after feed in DID order, up to a record and a byte budget, and names the first
feed it did not serve to its end (`next`), from which the asker goes on. So catching up N
feeds costs about one round trip per 8 MiB, not one per feed.
"""

from __future__ import annotations

import json
from typing import Any

from ..protocol import ProtocolError, parse_json, public_key_from_did
from ..store import Store
from .errors import ApiError

MAX_FEEDS = 1000  # feeds named in one request
MAX_RECORDS = 10_000  # records in one answer: the default and the most a request may ask
MAX_ANSWER_BYTES = 8 * 1_048_576  # the whole answer body; as the heads answer (SPEC §9.9)
MIN_ANSWER_BYTES = 1024
MAX_SEQ = 2**53 - 1


def parse_request(body: bytes) -> tuple[dict[str, int], int, int]:
    """The feeds (DID → after), the record budget and the byte budget of a request body, or
    an `ApiError` with the first defect found, in the order SPEC §9.13 lists them."""
    try:
        payload = parse_json(body)
    except ProtocolError as exc:
        raise ApiError("malformed_request", exc.detail) from None
    if (
        type(payload) is not dict
        or "feeds" not in payload
        or not set(payload) <= {"feeds", "limit", "max_bytes"}
        or type(payload["feeds"]) is not dict
    ):
        raise ApiError(
            "malformed_request",
            'The body must be a JSON object {"feeds": {did: after, ...}} with optional'
            ' "limit" and "max_bytes" and no other keys.',
        )
    feeds: dict[str, Any] = payload["feeds"]
    if len(feeds) > MAX_FEEDS:
        raise ApiError(
            "too_many_feeds", f"A batch names at most {MAX_FEEDS} feeds, not {len(feeds)}."
        )
    for did in feeds:
        public_key_from_did(did)  # raises invalid_did → 400
    for did, after in feeds.items():
        if type(after) is not int or not 0 <= after <= MAX_SEQ:
            raise ApiError(
                "invalid_after",
                f"The seq after which to serve {did[:64]} must be an integer in 0 … 2^53−1.",
            )
    limit = _budget(payload, "limit", 1, MAX_RECORDS)
    max_bytes = _budget(payload, "max_bytes", MIN_ANSWER_BYTES, MAX_ANSWER_BYTES)
    return feeds, limit, max_bytes


def _budget(payload: dict[str, Any], name: str, least: int, most: int) -> int:
    value = payload.get(name, most)
    if type(value) is not int or not least <= value <= most:
        raise ApiError(
            "invalid_budget", f"`{name}` must be an integer in {least} … {most}, if given."
        )
    return value


def serve(store: Store, feeds: dict[str, int], limit: int, max_bytes: int) -> bytes:
    """The answer body `{"records": [...], "next": did | null}` for a parsed request."""
    room = max_bytes - 40 - 120  # the frame around the records, and `next` with a DID
    records: list[bytes] = []
    unfinished: str | None = None
    for did in sorted(feeds):
        after = feeds[did]
        if limit - len(records) <= 0 or room <= 0:
            unfinished = did
            break
        page = store.feed(did, after, limit - len(records), room)
        size = sum(len(record) + 1 for record in page)
        if size > room and records:  # one record larger than what is left: the next answer
            unfinished = did
            break
        records.extend(page)
        room -= size
        if page and store.feed(did, after + len(page), 1, MAX_ANSWER_BYTES):
            unfinished = did  # cut by a budget: the asker goes on from here
            break
    tail = b'],"next":' + json.dumps(unfinished).encode() + b"}"
    return b'{"records":[' + b",".join(records) + tail
