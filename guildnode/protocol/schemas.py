"""The body of each known record kind, as JSON Schema (SPEC §6).

These literals are the single source of truth: `protocol/schemas/` holds them as files
(written by `protocol/generate.py` from `schema_document`, checked by a test), and `kinds`
compiles them into its validators. The public bodies are in `BODY_SCHEMAS`; the bodies inside
a seal (SPEC §6.10), in `INNER_SCHEMAS`.

Rules that relate one field to another (a budget's min not above its max, vouches required
not above the number of founders) are not validity: they decide a record's effect when
state is derived, and are refused when the owner publishes (SPEC §6, "Validity is not effect").
"""

from __future__ import annotations

from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_SAFE_INTEGER = 2**53 - 1

DEFS: dict[str, dict[str, Any]] = {
    "did": {
        "type": "string",
        "pattern": "^did:key:z[1-9A-HJ-NP-Za-km-z]{46,48}$",
        "format": "guildnode-did-key",
    },
    "record_id": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "timestamp": {
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
        "format": "guildnode-timestamp",
    },
    "skill": {"type": "string", "pattern": "^[a-z0-9][a-z0-9+#._-]{0,39}$"},
    "context": {
        "type": "string",
        "pattern": "^([a-z0-9][a-z0-9+#._-]{0,39}|guild:[0-9a-f]{64})$",
    },
    "url": {"type": "string", "maxLength": 200, "pattern": "^https?://[!-~]+$"},
    "skills": {
        "type": "array",
        "items": {"$ref": "#/$defs/skill"},
        "maxItems": 50,
        "uniqueItems": True,
    },
    "b64": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
    "money": {
        "type": "object",
        "properties": {
            "amount": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        "required": ["amount", "currency"],
        "additionalProperties": False,
    },
}


def _text(max_length: int, min_length: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if min_length:
        schema["minLength"] = min_length
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": sorted(required),
        "additionalProperties": False,
    }


# SPEC §6.4: a listed guild's listing (also what a §6.20 amendment may set).
_LISTING = _object(
    {"description": _text(2000, 1)},
    {"skills": _ref("skills"), "apply": _text(1000, 1)},
)

BODY_SCHEMAS: dict[str, dict[str, Any]] = {
    "profile": _object(
        {"name": _text(100, 1), "kind": {"enum": ["person", "organisation"]}},
        {
            "skills": _ref("skills"),
            "bio": _text(2000),
            "endpoints": {
                "type": "array",
                "items": _ref("url"),
                "maxItems": 5,
                "uniqueItems": True,
            },
        },
    ),
    "vouch": _object(
        {"subject": _ref("did"), "level": {"type": "integer", "minimum": 1, "maximum": 3}},
        {"context": _ref("context"), "statement": _text(1000), "evidence": _ref("record_id")},
    ),
    "revoke": _object({"target": _ref("record_id")}, {"reason": _text(500)}),
    "guild": _object(
        {
            "name": _text(100, 1),
            "purpose": _text(2000, 1),
            "founders": {
                "type": "array",
                "items": _ref("did"),
                "minItems": 1,
                "maxItems": 20,
                "uniqueItems": True,
            },
            "admission": _object(
                {"vouches_required": {"type": "integer", "minimum": 1, "maximum": 20}},
                {
                    "skills": _ref("skills"),
                    "cooling_days": {"type": "integer", "minimum": 0, "maximum": 365},
                },
            ),
        },
        # SPEC §6.4, §13: a charter with a listing is listed by indexers; one without is not.
        {"listing": _LISTING},
    ),
    "apply": _object({"guild": _ref("record_id")}, {"note": _text(1000)}),
    "leave": _object({"guild": _ref("record_id")}, {"reason": _text(500)}),
    "brief": _object(
        {
            "guilds": {
                "type": "array",
                "items": _ref("record_id"),
                "minItems": 1,
                "maxItems": 10,
                "uniqueItems": True,
            },
            "title": _text(200, 1),
            "description": _text(5000, 1),
            "acceptance_criteria": {
                "type": "array",
                "items": _text(500, 1),
                "minItems": 1,
                "maxItems": 20,
            },
            "budget": _object(
                {
                    "min": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
                    "max": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                }
            ),
            "engagement": {"enum": ["fixed", "hourly"]},
        },
        # SPEC §6.7, §15: a brief posted by a delegate names the organisation it speaks for.
        {"skills": _ref("skills"), "deadline": _ref("timestamp"), "organisation": _ref("did")},
    ),
}

# SPEC §6.9: the public body of a sealed record. Who the parties are is public (the `to`
# of each key); what they agreed is not.
SEALED_BODY = _object(
    {
        "nonce": {"type": "string", "pattern": "^[A-Za-z0-9_-]{32}$"},
        "box": {
            "type": "string",
            "minLength": 24,
            "maxLength": 12_000,
            "pattern": "^[A-Za-z0-9_-]+$",
        },
        "keys": {
            "type": "array",
            "minItems": 2,
            "maxItems": 10,
            "items": _object(
                {"to": _ref("did"), "key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{107}$"}}
            ),
        },
    }
)
CONTRACT_KINDS = (
    "proposal",
    "offer",
    "accept",
    "decline",
    "milestone",
    "payment",
    "complete",
    "cancel",
    # SPEC §6.10, §17: a dispute's opening statement and a party's disclosure to mediators.
    "dispute",
    "disclosure",
)
# SPEC §6.10, §16: a `message` of a conversation is sealed to the thread's two parties.
SEALED_KINDS = (*CONTRACT_KINDS, "message")
for _kind in SEALED_KINDS:
    BODY_SCHEMAS[_kind] = SEALED_BODY

_SCORE = {"type": "integer", "minimum": 1, "maximum": 3}
_INDEX = {"type": "integer", "minimum": 0, "maximum": 19}

BODY_SCHEMAS |= {
    "commit": _object(
        {
            "contract": _ref("record_id"),
            "subject": _ref("did"),
            "commitment": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        }
    ),
    "feedback": _object(
        {
            "contract": _ref("record_id"),
            "subject": _ref("did"),
            "rating": _SCORE,
            "salt": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"},
        },
        {
            "dimensions": {
                "type": "object",
                "properties": {
                    name: _SCORE
                    for name in (
                        "quality",
                        "communication",
                        "timeliness",
                        "scope_clarity",
                        "payment_promptness",
                    )
                },
                "additionalProperties": False,
            },
            "statement": _text(1000),
            "skills": {**DEFS["skills"], "maxItems": 10},
        },
    ),
    "receipt": _object(
        {
            "contract": _ref("record_id"),
            "organisation": _ref("did"),
            "freelancer": _ref("did"),
            "outcome": {"enum": ["completed", "cancelled"]},
            "payment": {"enum": ["on_time", "late", "unpaid", "none_due"]},
        },
        {"decision": _ref("record_id")},  # SPEC §17.5: the outcome the receipt cites
    ),
}

# SPEC §6.14–§6.17, §14: identity over time. Who may rotate, recover or mark a key, and which
# record wins, are rules of effect (§14), never of validity.
BODY_SCHEMAS |= {
    "rotate": _object({"successor": _ref("did")}, {"reason": _text(500)}),
    "succeed": _object({"predecessor": _ref("did"), "via": _ref("record_id")}),
    "recovery": _object(
        {
            "keys": {
                "type": "array",
                "items": _ref("did"),
                "minItems": 1,
                "maxItems": 10,
                "uniqueItems": True,
            },
            "threshold": {"type": "integer", "minimum": 1, "maximum": 10},
        }
    ),
    "compromise": _object(
        {
            "key": _ref("did"),
            "from_seq": {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER},
        },
        {"successor": _ref("did"), "reason": _text(500)},
    ),
}

# SPEC §6.18, §6.19, §15: organisation delegates. Whether a delegate's record counts as the
# organisation's (scope, expiry, revocation) is a rule of effect (§15), never of validity.
DELEGATION_SCOPES = ("briefs", "offers", "approve", "pay")
BODY_SCHEMAS |= {
    "delegate": _object(
        {
            "delegate": _ref("did"),
            "scope": {
                "type": "array",
                "items": {"enum": list(DELEGATION_SCOPES)},
                "minItems": 1,
                "maxItems": len(DELEGATION_SCOPES),
                "uniqueItems": True,
            },
        },
        {"note": _text(500)},
    ),
    "undelegate": _object(
        {
            "delegate": _ref("did"),
            "from_seq": {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER},
        },
        {"reason": _text(500)},
    ),
}

# SPEC §6.24, §17: a mediator's public outcome of a dispute. Who may decide, and what it
# changes, are rules of effect (§17.4), never of validity.
BODY_SCHEMAS["outcome"] = _object(
    {
        "dispute": _ref("record_id"),
        "contract": _ref("record_id"),
        "guild": _ref("record_id"),
        "finding": _text(5000, 1),
    },
    {
        "payment": {"enum": ["on_time", "late", "unpaid", "none_due"]},
        "void_feedback": {
            "type": "array",
            "items": _ref("did"),
            "minItems": 1,
            "maxItems": 2,
            "uniqueItems": True,
        },
    },
)
# SPEC §6.20, §6.21, §12.5: guild governance. Who may propose or vote, the majority and the
# voting window are rules of effect (§12.5), never of validity.
BODY_SCHEMAS |= {
    "motion": _object(
        {"guild": _ref("record_id"), "action": {"enum": ["amend", "remove"]}},
        {
            "changes": _object(
                {},
                {
                    "name": _text(100, 1),
                    "purpose": _text(2000, 1),
                    "vouches_required": {"type": "integer", "minimum": 1, "maximum": 20},
                    "listing": _LISTING,
                    "unlist": {"enum": ["yes"]},
                },
            ),
            "member": _ref("did"),
            "reason": _text(1000),
        },
    ),
    "vote": _object(
        {
            "guild": _ref("record_id"),
            "motion": _ref("record_id"),
            "choice": {"enum": ["yes", "no"]},
        }
    ),
}

# SPEC §6.23: a file carried inside a message or an answer, named by its SHA-256. The bytes
# travel inline (base64url), so they are sealed with a message and bounded by the record.
MAX_ATTACHMENT_BYTES = 4096
MAX_ATTACHMENTS = 4
MAX_MESSAGE_CHARS = 4000
ATTACHMENTS = {
    "type": "array",
    "maxItems": MAX_ATTACHMENTS,
    "items": _object(
        {
            "name": _text(100, 1),
            "media_type": {
                "type": "string",
                "maxLength": 100,
                "pattern": "^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$",
            },
            "size": {"type": "integer", "minimum": 0, "maximum": MAX_ATTACHMENT_BYTES},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "data": {
                "type": "string",
                "maxLength": -(-MAX_ATTACHMENT_BYTES * 4 // 3),
                "pattern": "^[A-Za-z0-9_-]*$",
            },
        }
    ),
}

# SPEC §6.22, §16: the organisation's answer to a question on its brief, published to all.
BODY_SCHEMAS["answer"] = _object(
    {"brief": _ref("record_id"), "text": _text(MAX_MESSAGE_CHARS, 1)},
    {"question": _text(1000, 1), "thread": _ref("record_id"), "attachments": ATTACHMENTS},
)

# SPEC §6.10: the bodies inside the seal, checked when a party opens one.
INNER_SCHEMAS: dict[str, dict[str, Any]] = {
    "proposal": _object(
        {
            "brief": _ref("record_id"),
            "pitch": _text(5000, 1),
            "price": _ref("money"),
            "duration_days": {"type": "integer", "minimum": 1, "maximum": 365},
            "available_from": _ref("timestamp"),
        }
    ),
    "offer": _object(
        {
            "brief": _ref("record_id"),
            "organisation": _ref("did"),
            "freelancer": _ref("did"),
            "scope": _text(5000, 1),
            "acceptance_criteria": {
                "type": "array",
                "items": _text(500, 1),
                "minItems": 1,
                "maxItems": 20,
            },
            "price": _ref("money"),
            "milestones": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": _object(
                    {
                        "title": _text(200, 1),
                        "amount": {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER},
                        "due": _ref("timestamp"),
                    }
                ),
            },
            "starts": _ref("timestamp"),
            "ends": _ref("timestamp"),
        },
        {"proposal": _ref("record_id"), "answers": _ref("record_id")},
    ),
    "accept": _object({"offer": _ref("record_id")}),
    "decline": _object({"offer": _ref("record_id")}, {"reason": _text(500)}),
    "milestone": _object(
        {
            "contract": _ref("record_id"),
            "index": _INDEX,
            "action": {"enum": ["submitted", "approved"]},
        },
        {"note": _text(1000)},
    ),
    "payment": _object(
        {
            "contract": _ref("record_id"),
            "index": _INDEX,
            "amount": _ref("money"),
            "action": {"enum": ["paid", "received"]},
        }
    ),
    "complete": _object({"contract": _ref("record_id")}, {"note": _text(1000)}),
    "cancel": _object({"contract": _ref("record_id"), "reason": _text(1000, 1)}),
    "dispute": _object(
        {
            "contract": _ref("record_id"),
            "guild": _ref("record_id"),
            "mediators": {
                "type": "array",
                "items": _ref("did"),
                "minItems": 1,
                "maxItems": 5,
                "uniqueItems": True,
            },
            "statement": _text(5000, 1),
        }
    ),
    "disclosure": _object(
        {
            "dispute": _ref("record_id"),
            "records": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": _object(
                    {
                        "record": _ref("record_id"),
                        "key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
                    }
                ),
            },
        },
        {"note": _text(1000)},
    ),
    "message": _object(
        {
            "about": {"enum": ["brief", "contract"]},
            "on": _ref("record_id"),
            "text": _text(MAX_MESSAGE_CHARS, 1),
        },
        {"thread": _ref("record_id"), "attachments": ATTACHMENTS},
    ),
}

KNOWN_KINDS = frozenset(BODY_SCHEMAS)


def schema_document(kind: str, *, inner: bool = False) -> dict[str, Any]:
    """The standalone JSON Schema of one kind's body (or, with `inner`, of the body inside
    its seal), as written to `protocol/schemas/`."""
    if inner:
        return {
            "$schema": SCHEMA_DIALECT,
            "$id": f"https://guildnode.dev/protocol/schemas/sealed/{kind}.json",
            "title": f"the sealed body of a `{kind}` record, once opened",
            **INNER_SCHEMAS[kind],
            "$defs": DEFS,
        }
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://guildnode.dev/protocol/schemas/{kind}.json",
        "title": f"body of a `{kind}` record",
        **BODY_SCHEMAS[kind],
        "$defs": DEFS,
    }
