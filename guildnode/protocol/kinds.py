"""The body of each known record kind, as JSON Schema, and a fast validator for it (SPEC §6).

The schemas below are the single source of truth: `protocol/schemas/` holds them as files
(written by `protocol/generate.py`, checked by a test), and `validate_body` compiles them
once into plain closures. Only the subset of JSON Schema used here is understood; anything
else makes compilation fail, so a schema can never say more than the code enforces.

Rules that relate one field to another (a budget's min not above its max, vouches required
not above the number of founders) are not validity: they decide a record's effect when
state is derived, and are refused when the owner publishes (SPEC §6, "Validity is not effect").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ProtocolError
from .keys import public_key_from_did
from .timestamps import parse_timestamp

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
        }
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
        {"skills": _ref("skills"), "deadline": _ref("timestamp")},
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
SEALED_KINDS = (
    "proposal",
    "offer",
    "accept",
    "decline",
    "milestone",
    "payment",
    "complete",
    "cancel",
)
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
        }
    ),
}

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


Check = Callable[[Any, str], None]


def _fail(path: str, sentence: str) -> ProtocolError:
    return ProtocolError("invalid_body", f"{path} {sentence}")


def _python_pattern(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262 and unanchored; ours are all anchored ^…$. Python's
    # `$` also matches before a final newline, so the end anchor becomes \Z.
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"schema pattern {pattern!r} must be anchored")
    return re.compile(pattern[:-1] + r"\Z")


_FORMATS: dict[str, Callable[[str], object]] = {
    "guildnode-did-key": public_key_from_did,
    "guildnode-timestamp": parse_timestamp,
}

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: type(v) is int,
}

_UNDERSTOOD = {
    "type", "properties", "required", "additionalProperties", "minLength", "maxLength",
    "pattern", "format", "enum", "minimum", "maximum", "items", "minItems", "maxItems",
    "uniqueItems", "$ref",
}  # fmt: skip


def _compile(schema: dict[str, Any]) -> Check:
    unknown = set(schema) - _UNDERSTOOD
    if unknown:
        raise ValueError(f"schema keywords not supported: {sorted(unknown)}")
    if "$ref" in schema:
        return _compile(DEFS[schema["$ref"].removeprefix("#/$defs/")])
    checks: list[Check] = []

    if "type" in schema:
        name = schema["type"]
        is_type = _TYPES[name]

        def check_type(value: Any, path: str) -> None:
            if not is_type(value):
                raise _fail(path, f"must be {'an' if name[0] in 'aeiou' else 'a'} {name}.")

        checks.append(check_type)
    if "enum" in schema:
        allowed = schema["enum"]

        def check_enum(value: Any, path: str) -> None:
            if value not in allowed or not isinstance(value, str):
                raise _fail(path, f"must be one of {', '.join(map(repr, allowed))}.")

        checks.append(check_enum)
    if "minLength" in schema or "maxLength" in schema:
        low, high = schema.get("minLength", 0), schema.get("maxLength")

        def check_length(value: Any, path: str) -> None:
            if len(value) < low:
                raise _fail(path, "must not be empty." if low == 1 else f"is under {low} long.")
            if high is not None and len(value) > high:
                raise _fail(path, f"is longer than {high} characters.")

        checks.append(check_length)
    if "pattern" in schema:
        regex = _python_pattern(schema["pattern"])

        def check_pattern(value: Any, path: str) -> None:
            if not regex.match(value):
                raise _fail(path, f"does not match {schema['pattern']}.")

        checks.append(check_pattern)
    if "format" in schema:
        parse = _FORMATS[schema["format"]]

        def check_format(value: Any, path: str) -> None:
            try:
                parse(value)
            except ProtocolError as exc:
                raise _fail(path, f"is not valid: {exc.detail}") from exc

        checks.append(check_format)
    if "minimum" in schema or "maximum" in schema:
        lowest, highest = schema.get("minimum"), schema.get("maximum")

        def check_range(value: Any, path: str) -> None:
            if (lowest is not None and value < lowest) or (highest is not None and value > highest):
                raise _fail(path, f"must be between {lowest} and {highest}.")

        checks.append(check_range)
    if "properties" in schema:
        fields = {key: _compile(sub) for key, sub in schema["properties"].items()}
        required = schema.get("required", [])
        closed = schema.get("additionalProperties", True) is False

        def check_object(value: Any, path: str) -> None:
            for key in required:
                if key not in value:
                    raise _fail(path, f"lacks the required field {key!r}.")
            for key, item in value.items():
                check = fields.get(key)
                if check is not None:
                    check(item, f"{path}.{key}")
                elif closed:
                    raise _fail(path, f"has the field {key!r}, which its kind does not define.")

        checks.append(check_object)
    if "items" in schema or "minItems" in schema or "maxItems" in schema:
        item_check = _compile(schema["items"]) if "items" in schema else None
        fewest, most = schema.get("minItems", 0), schema.get("maxItems")
        unique = schema.get("uniqueItems", False)

        def check_array(value: Any, path: str) -> None:
            if len(value) < fewest:
                raise _fail(path, f"needs at least {fewest} item{'s' if fewest > 1 else ''}.")
            if most is not None and len(value) > most:
                raise _fail(path, f"has more than {most} items.")
            if unique and len({repr(item) for item in value}) != len(value):
                raise _fail(path, "repeats an item.")
            if item_check is not None:
                for index, item in enumerate(value):
                    item_check(item, f"{path}[{index}]")

        checks.append(check_array)

    def check_all(value: Any, path: str) -> None:
        for check in checks:
            check(value, path)

    return check_all


_VALIDATORS: dict[str, Check] = {kind: _compile(s) for kind, s in BODY_SCHEMAS.items()}
_INNER_VALIDATORS: dict[str, Check] = {kind: _compile(s) for kind, s in INNER_SCHEMAS.items()}


def validate_body(kind: str, body: Any) -> None:
    """Check a record's body against its kind's schema (SPEC §6).

    Raises `invalid_body` naming the first field at fault. A kind this version does not know
    is not checked beyond being an object (SPEC §6.0: unknown kinds are stored and passed on).
    """
    if not isinstance(body, dict):
        raise ProtocolError("invalid_body", "body must be a JSON object.")
    validator = _VALIDATORS.get(kind)
    if validator is not None:
        validator(body, "body")


def validate_inner(kind: str, inner: Any) -> None:
    """Check the opened body of a sealed record against its kind's inner schema (SPEC §6.10).
    Raises `invalid_body` naming the first field at fault."""
    if not isinstance(inner, dict):
        raise ProtocolError("invalid_body", "the sealed body must be a JSON object.")
    _INNER_VALIDATORS[kind](inner, "sealed body")


def references(kind: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """The identities and records a verified body points at, as (role, value) pairs.

    These are what replication scope and later derivations follow (SPEC §9.7): a vouch's
    subject, a revoke's target, a charter's founders, the guild of an apply, leave or brief.
    Unknown kinds reference nothing.
    """
    if kind == "vouch":
        return [("subject", body["subject"])]
    if kind == "revoke":
        return [("target", body["target"])]
    if kind == "guild":
        return [("founder", did) for did in body["founders"]]
    if kind in ("apply", "leave"):
        return [("guild", body["guild"])]
    if kind == "brief":
        return [("guild", guild) for guild in body["guilds"]]
    if kind in SEALED_KINDS:
        return [("party", key["to"]) for key in body["keys"]]
    if kind in ("commit", "feedback"):
        return [("subject", body["subject"]), ("contract", body["contract"])]
    if kind == "receipt":
        return [
            ("party", body["organisation"]),
            ("party", body["freelancer"]),
            ("contract", body["contract"]),
        ]
    return []
