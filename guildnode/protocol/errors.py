"""Protocol errors: one family, each with a stable code that travels on the wire.

SPEC §10.1 lists every code. A code never changes meaning; the detail is a human sentence
that may change between versions. No HTTP status lives here: the node maps codes to
statuses in one place.
"""

from __future__ import annotations

# SPEC §9: every code the protocol layer can produce, with the sentence SPEC.md gives it.
CODES: dict[str, str] = {
    "malformed_json": "The bytes are not one JSON value, or a record is not a JSON object.",
    "duplicate_key": "A JSON object names the same key twice.",
    "float_not_allowed": "A number has a fraction or exponent; only integers are allowed.",
    "integer_out_of_range": "An integer is outside ±(2^53−1).",
    "non_ascii_key": "An object key contains a character outside ASCII.",
    "invalid_string": "A string holds a lone surrogate and has no UTF-8 form.",
    "unsupported_version": "The record's `v` is not 1.",
    "missing_field": "A required envelope field is absent.",
    "unexpected_field": "The envelope has a field the protocol does not define.",
    "invalid_field": "An envelope field has the wrong type or form.",
    "invalid_did": "A DID is not a canonical Ed25519 did:key.",
    "invalid_timestamp": "A timestamp is not exactly YYYY-MM-DDTHH:MM:SSZ, or not a real time.",
    "malformed_signature": "`sig` is not the unpadded base64url form of 64 bytes.",
    "bad_signature": "The signature does not verify with the author's key.",
    "id_mismatch": "A record's id is not the one it was fetched or cited by.",
    "record_too_large": "The record's canonical bytes exceed 16,384.",
    "invalid_body": "The body does not match the schema of its kind.",
    "seq_gap": "The record's seq is not one more than the author's latest stored seq.",
    "wrong_prev": "`prev` is not the id of the author's previous record.",
    "created_before_prev": "`created` is earlier than the previous record's.",
    "created_in_future": "`created` is more than 300 seconds ahead of the receiver's clock.",
    "fork": "A second, different record for an (author, seq) already held.",
    "chain_frozen": "The author's chain is frozen by a proven fork.",
    "out_of_scope": "The author is outside this node's replication scope.",
    "quota_exceeded": "The record names the owner, but its author's quota is used up.",
    # Never a rejection: a sealed record that does not open is still valid (SPEC §6.9).
    "unreadable": "A sealed body does not open for this reader, or fails its checks.",
}


class ProtocolError(Exception):
    """A record or value broke a protocol rule.

    `code` is one of `CODES`; `detail` is a sentence naming the problem. Neither ever
    contains secret material.
    """

    code: str
    detail: str

    def __init__(self, code: str, detail: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown protocol error code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def as_dict(self) -> dict[str, str]:
        """The wire form of the error (SPEC §9.1)."""
        return {"code": self.code, "detail": self.detail}
