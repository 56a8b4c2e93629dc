"""Canonical JSON: the protocol's profile of RFC 8785 (SPEC §2).

Within the profile — integers within ±(2^53−1), no floats, ASCII object keys, no duplicate
keys, no lone surrogates — the standard library's sorted, compact `json.dumps` produces
exactly the bytes of RFC 8785, about three times faster than a general JCS implementation.
So this module enforces the profile and then takes that fast path.

Parsing is two steps so that one bad record in a batch does not spoil its neighbours:
`parse_json` turns bytes into values and leaves markers where a duplicated key or a float
appeared; `check_profile` finds those markers (and every other breach) in one value.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ProtocolError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32  # SPEC §2.2: arrays and objects nest at most this deep


class _FloatMarker:
    """Stands where the input had a number with a fraction or exponent."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _BigIntegerMarker:
    """Stands where the input had an integer too long to be within the profile (Python
    refuses to convert digit strings past 4,300 digits, so it is never converted)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _parse_int(text: str) -> int | _BigIntegerMarker:
    # ±(2^53−1) has 16 digits; anything longer is out of range whatever its value.
    return int(text) if len(text) <= 17 else _BigIntegerMarker(text)


class _DuplicateKeyObject(dict[str, Any]):
    """An object whose input named `key` more than once (the last value is kept)."""

    def __init__(self, pairs: list[tuple[str, Any]], key: str) -> None:
        super().__init__(pairs)
        self.duplicate = key


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                return _DuplicateKeyObject(pairs, key)
            seen.add(key)
    return obj


# One encoder for every call: `json.dumps` with options builds a new one each time.
_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

_decoder = json.JSONDecoder(
    object_pairs_hook=_object_from_pairs,
    parse_float=_FloatMarker,
    parse_int=_parse_int,
    parse_constant=_FloatMarker,  # NaN, Infinity, -Infinity
)


def parse_json(data: bytes | str) -> Any:
    """Parse one JSON value, deferring profile breaches.

    Raises `malformed_json` when the input is not exactly one JSON value in UTF-8. A
    duplicated key or a float does not raise here; it leaves a marker that
    `check_profile` reports, so a caller can judge each part of a batch on its own.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        return _decoder.decode(text)
    except UnicodeDecodeError as exc:
        raise ProtocolError("malformed_json", "The input is not valid UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise ProtocolError(
            "malformed_json", f"The input is not valid JSON: {exc.msg} at position {exc.pos}."
        ) from exc
    except RecursionError as exc:
        raise ProtocolError("malformed_json", "The input nests too deeply.") from exc


def check_profile(value: Any, where: str = "$") -> None:
    """Check that `value` lies within the canonical profile (SPEC §2.2).

    Raises `duplicate_key`, `float_not_allowed`, `integer_out_of_range`, `non_ascii_key` or
    `malformed_json` (a value JSON cannot hold). Lone surrogates are caught by
    `canonical_bytes`, which must encode every string anyway.
    """
    try:
        within = _within_profile(value)
    except RecursionError:
        raise ProtocolError("malformed_json", f"The value at {where} nests too deeply.") from None
    if not within:
        _explain(value, where)


def _within_profile(value: Any, depth: int = 0) -> bool:
    """Fast path of `check_profile`: no paths built, exact types only."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        for key, child in value.items():
            if type(key) is not str or not key.isascii() or not _within_profile(child, depth + 1):
                return False
        return True
    if kind is list:
        return all(_within_profile(child, depth + 1) for child in value)
    return False


def _explain(value: Any, where: str) -> None:
    """Slow path of `check_profile`: find the first breach and raise with its path."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list) and depth >= MAX_DEPTH:
            raise ProtocolError(
                "malformed_json", f"The value at {path} nests deeper than {MAX_DEPTH} levels."
            )
        if isinstance(item, dict):
            if isinstance(item, _DuplicateKeyObject):
                raise ProtocolError(
                    "duplicate_key", f"The object at {path} names {item.duplicate!r} twice."
                )
            for key, child in item.items():
                if not isinstance(key, str) or not key.isascii():
                    raise ProtocolError("non_ascii_key", f"The key {key!r} at {path} is not ASCII.")
                if isinstance(child, dict | list):
                    stack.append((child, f"{path}.{key}", depth + 1))
                elif not _scalar_ok(child):
                    _raise_scalar(child, f"{path}.{key}")
        elif isinstance(item, list):
            for index, child in enumerate(item):
                if isinstance(child, dict | list):
                    stack.append((child, f"{path}[{index}]", depth + 1))
                elif not _scalar_ok(child):
                    _raise_scalar(child, f"{path}[{index}]")
        elif not _scalar_ok(item):
            _raise_scalar(item, path)


def _scalar_ok(value: Any) -> bool:
    if value is None or value is True or value is False or type(value) is str:
        return True
    return type(value) is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def _raise_scalar(value: Any, path: str) -> None:
    if isinstance(value, _FloatMarker | float):
        text = value.text if isinstance(value, _FloatMarker) else repr(value)
        raise ProtocolError("float_not_allowed", f"The number {text} at {path} is not an integer.")
    if type(value) is int or isinstance(value, _BigIntegerMarker):
        raise ProtocolError("integer_out_of_range", f"The integer at {path} is outside ±(2^53−1).")
    if isinstance(value, str):  # a str subclass
        return
    raise ProtocolError("malformed_json", f"The value at {path} is not a JSON value.")


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 bytes of a value already within the profile (SPEC §2.1).

    Raises `invalid_string` when a string holds a lone surrogate.
    """
    text = _encoder.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProtocolError(
            "invalid_string", "A string holds a lone surrogate, which has no UTF-8 form."
        ) from exc


def canonicalize(value: Any) -> bytes:
    """Check the profile, then return the canonical bytes (SPEC §2)."""
    check_profile(value)
    return canonical_bytes(value)


def loads_canonical(data: bytes | str) -> Any:
    """Parse JSON and refuse anything outside the profile, at the first breach."""
    value = parse_json(data)
    canonicalize(value)
    return value
