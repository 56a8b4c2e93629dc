"""A fast validator for each known kind's body, and what a verified body references (SPEC §6).

The schemas live in `schemas` and are re-exported here; `validate_body` and `validate_inner`
compile them once into plain closures. Only the subset of JSON Schema those schemas use is
understood; anything else makes compilation fail, so a schema can never say more than the
code enforces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ProtocolError
from .keys import public_key_from_did
from .schemas import (
    BODY_SCHEMAS,
    CONTRACT_KINDS,
    DEFS,
    INNER_SCHEMAS,
    KNOWN_KINDS,
    MAX_SAFE_INTEGER,
    SCHEMA_DIALECT,
    SEALED_BODY,
    SEALED_KINDS,
    schema_document,
)
from .timestamps import parse_timestamp

__all__ = [
    "BODY_SCHEMAS",
    "CONTRACT_KINDS",
    "DEFS",
    "INNER_SCHEMAS",
    "KNOWN_KINDS",
    "MAX_SAFE_INTEGER",
    "SCHEMA_DIALECT",
    "SEALED_BODY",
    "SEALED_KINDS",
    "references",
    "schema_document",
    "validate_body",
    "validate_inner",
]

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
        guilds = [("guild", guild) for guild in body["guilds"]]
        return guilds + ([("organisation", body["organisation"])] if "organisation" in body else [])
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
    if kind == "outcome":  # SPEC §17.4: what an outcome decides, found by its contract
        return [("contract", body["contract"]), ("dispute", body["dispute"])]
    if kind == "motion":
        pairs = [("guild", body["guild"])]
        if "member" in body:
            pairs.append(("member", body["member"]))
        return pairs
    if kind == "vote":
        return [("guild", body["guild"]), ("motion", body["motion"])]
    if kind == "answer":  # SPEC §6.22: found by its brief
        return [("brief", body["brief"])]
    # SPEC §14.7: the keys one member's records link, so that scope follows them.
    if kind == "rotate":
        return [("successor", body["successor"])]
    if kind == "succeed":
        return [("predecessor", body["predecessor"]), ("via", body["via"])]
    if kind == "recovery":
        return [("recoverer", did) for did in body["keys"]]
    if kind == "compromise":
        pairs = [("key", body["key"])]
        if "successor" in body:
            pairs.append(("successor", body["successor"]))
        return pairs
    # SPEC §15.5: the delegate a `delegate` or `undelegate` names, so that scope follows it.
    if kind in ("delegate", "undelegate"):
        return [("delegate", body["delegate"])]
    return []
