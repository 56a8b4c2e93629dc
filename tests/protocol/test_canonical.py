"""The canonical JSON profile: parsing, refusals and RFC 8785 output (SPEC §2)."""

from __future__ import annotations

import random
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from guildnode.protocol import (
    ProtocolError,
    canonical_bytes,
    canonicalize,
    check_profile,
    loads_canonical,
    parse_json,
)

MAX_SAFE = 2**53 - 1


def _refused(data: bytes | str) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        loads_canonical(data)
    return caught.value


# --- duplicate keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "key"),
    [
        ('{"a":1,"a":2}', "$", "a"),
        ('{"a":1,"a":1}', "$", "a"),  # the same value twice is still a duplicate
        ('{"x":{"b":1,"c":2,"b":3}}', "$.x", "b"),
        ('{"x":{"y":{"z":{"k":null,"k":null}}}}', "$.x.y.z", "k"),
        ('{"list":[{"k":1},{"k":1,"k":2}]}', "$.list[1]", "k"),
        ('[{"a":1,"a":1}]', "$[0]", "a"),
        ('[[1],[2,{"q":[{"d":true,"d":false}]}]]', "$[1][1].q[0]", "d"),
    ],
)
def test_duplicate_key_refused_with_path(text: str, path: str, key: str) -> None:
    error = _refused(text)
    assert error.code == "duplicate_key"
    assert f"at {path} " in error.detail
    assert repr(key) in error.detail


def test_duplicate_key_is_deferred_to_the_object_that_holds_it() -> None:
    # A batch parses whole; only the object with the duplicate is refused.
    batch = parse_json('[{"a":1},{"b":1,"b":2},{"c":3}]')
    check_profile(batch[0])
    check_profile(batch[2])
    with pytest.raises(ProtocolError) as caught:
        check_profile(batch[1])
    assert caught.value.code == "duplicate_key"


def test_float_is_deferred_to_the_value_that_holds_it() -> None:
    batch = parse_json('[{"a":1},{"b":1.5}]')
    check_profile(batch[0])
    with pytest.raises(ProtocolError) as caught:
        check_profile(batch[1])
    assert caught.value.code == "float_not_allowed"


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_refused(literal: str) -> None:
    error = _refused(f'{{"n":{literal}}}')
    assert error.code == "float_not_allowed"
    assert literal in error.detail
    assert "$.n" in error.detail


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1.0, -0.0, 0.5])
def test_python_floats_refused(value: float) -> None:
    with pytest.raises(ProtocolError) as caught:
        canonicalize({"n": [value]})
    assert caught.value.code == "float_not_allowed"


@pytest.mark.parametrize(
    "literal", ["-0.0", "1.0", "1e3", "1E3", "1e+2", "1e-2", "0.5", "-1.25", "10E0", "0e0"]
)
def test_float_syntax_refused_even_when_integral(literal: str) -> None:
    error = _refused(f'{{"level":[{literal}]}}')
    assert error.code == "float_not_allowed"
    assert literal in error.detail
    assert "$.level[0]" in error.detail


def test_minus_zero_integer_accepted_as_zero() -> None:
    value = loads_canonical('{"a":-0,"b":[-0]}')
    assert value == {"a": 0, "b": [0]}
    assert canonicalize(value) == b'{"a":0,"b":[0]}'
    assert canonicalize(parse_json("-0")) == b"0"


@pytest.mark.parametrize("n", [MAX_SAFE, -MAX_SAFE, 0, 1, -1])
def test_integers_within_range_accepted(n: int) -> None:
    assert canonicalize(loads_canonical(f'{{"n":{n}}}')) == f'{{"n":{n}}}'.encode()


@pytest.mark.parametrize("n", [MAX_SAFE + 1, -MAX_SAFE - 1, 10**20, -(10**30)])
def test_integers_out_of_range_refused(n: int) -> None:
    error = _refused(f'{{"x":{{"n":{n}}}}}')
    assert error.code == "integer_out_of_range"
    assert "$.x.n" in error.detail
    with pytest.raises(ProtocolError) as caught:
        canonicalize([n])
    assert caught.value.code == "integer_out_of_range"


def test_huge_integer_literal_refused_as_out_of_range() -> None:
    # A 5,000-digit integer is valid JSON outside the profile: it must come back as a
    # ProtocolError, never as Python's int-string-conversion ValueError.
    error = _refused('{"n":' + "9" * 5000 + "}")
    assert error.code == "integer_out_of_range"


def test_huge_integer_literal_spoils_only_its_own_record() -> None:
    batch = parse_json('[{"n":1},{"n":' + "1" * 4500 + "}]")
    check_profile(batch[0])
    with pytest.raises(ProtocolError) as caught:
        check_profile(batch[1])
    assert caught.value.code == "integer_out_of_range"


# --- strings, keys, literals -------------------------------------------------------------


def test_bools_and_null_are_fine() -> None:
    value = loads_canonical('{"t":true,"f":false,"n":null,"l":[true,false,null]}')
    assert value == {"t": True, "f": False, "n": None, "l": [True, False, None]}
    assert type(value["t"]) is bool
    assert canonicalize(value) == b'{"f":false,"l":[true,false,null],"n":null,"t":true}'
    # true is not the integer 1 on the way out either.
    assert canonical_bytes({"a": True, "b": 1}) == b'{"a":true,"b":1}'


def test_lone_surrogate_refused() -> None:
    for text in ['"\\udc00"', '{"s":["x\\ud800y"]}', '{"s":"\\ude00\\ud83d"}']:
        assert _refused(text).code == "invalid_string"


def test_surrogate_pair_is_one_character() -> None:
    assert canonicalize(loads_canonical('"\\ud83d\\ude00"')) == '"😀"'.encode()


@pytest.mark.parametrize("key", ["café", "ключ", "😀", "\u0080"])
def test_non_ascii_key_refused(key: str) -> None:
    error = _refused('{"ok":{"' + key + '":1}}')
    assert error.code == "non_ascii_key"
    assert repr(key) in error.detail
    assert "$.ok" in error.detail


def test_non_ascii_values_are_fine() -> None:
    assert canonicalize(loads_canonical('{"k":"café"}')) == '{"k":"café"}'.encode()


# --- malformed input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":"\xff"}',
        b'{"a":"\xc3"}',  # a truncated two-byte sequence
        b'"\xc0\xaf"',  # an overlong encoding of '/'
        b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8
        b"\xfe\xff\x00{\x00}",  # UTF-16
    ],
)
def test_invalid_utf8_is_malformed(data: bytes) -> None:
    error = _refused(data)
    assert error.code == "malformed_json"
    with pytest.raises(ProtocolError) as caught:
        parse_json(data)
    assert caught.value.code == "malformed_json"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '{"a":1',
        "[1,2",
        '"abc',
        '{"a":}',
        '{"a" 1}',
        "{} {}",
        "{}x",
        "[1,]",
        '{"a":1,}',
        "{'a':1}",
        "tru",
        "nul",
        "01",
        "+1",
        '"tab\there"',
        "\ufeff{}",
    ],
)
def test_truncated_or_invalid_json_is_malformed(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_json(text)
    assert caught.value.code == "malformed_json"
    assert caught.value.detail
    with pytest.raises(ProtocolError) as again:
        parse_json(text.encode("utf-8"))
    assert again.value.code == "malformed_json"


def test_very_deep_nesting_is_malformed() -> None:
    error = _refused("[" * 100_000 + "]" * 100_000)
    assert error.code == "malformed_json"


@pytest.mark.parametrize("depth", [600, 900])
def test_deep_nesting_the_parser_accepts_is_judged_without_crashing(depth: int) -> None:
    # parse_json accepts this depth; the profile check must then answer with a
    # ProtocolError (the parser's own answer for "nests too deeply" is malformed_json),
    # never a RecursionError, or one small record could crash the judging of a batch.
    text = "[" * depth + "]" * depth
    parse_json(text)
    error = _refused(text)
    assert error.code == "malformed_json"


def test_nesting_up_to_32_levels_round_trips() -> None:
    text = "[" * 32 + "]" * 32
    assert canonicalize(loads_canonical(text)) == text.encode()
    nested_objects = '{"a":' * 31 + "[]" + "}" * 31
    assert canonicalize(loads_canonical(nested_objects)) == nested_objects.encode()


@pytest.mark.parametrize("text", ["[" * 33 + "]" * 33, '{"a":' * 32 + "[]" + "}" * 32])
def test_nesting_past_32_levels_is_malformed(text: str) -> None:
    error = _refused(text)
    assert error.code == "malformed_json"
    assert "32 levels" in error.detail


# --- properties ---------------------------------------------------------------------------

SAFE_INTS = st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
ASCII_KEYS = st.text(st.characters(max_codepoint=127), max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | SAFE_INTS | TEXT,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(ASCII_KEYS, children, max_size=6)
    ),
    max_leaves=25,
)


def _strictly_equal(a: Any, b: Any) -> bool:
    """Equality that does not confuse true with 1."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_strictly_equal, a, b))
    return bool(a == b)


def _reinsert(value: Any, rng: random.Random) -> Any:
    """The same value with every object's keys inserted in a shuffled order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: _reinsert(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [_reinsert(item, rng) for item in value]
    return value


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_canonical_bytes_match_rfc8785(value: Any) -> None:
    expected = rfc8785.dumps(value)
    assert canonical_bytes(value) == expected
    assert canonicalize(value) == expected


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES, st.randoms(use_true_random=False))
def test_canonical_bytes_do_not_depend_on_key_order(value: Any, rng: random.Random) -> None:
    shuffled = _reinsert(value, rng)
    assert canonical_bytes(shuffled) == canonical_bytes(value)


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_canonical_bytes_round_trip(value: Any) -> None:
    data = canonical_bytes(value)
    parsed = parse_json(data)
    assert _strictly_equal(parsed, value)
    assert _strictly_equal(loads_canonical(data), value)
    assert canonicalize(parsed) == data


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(ASCII_KEYS, SAFE_INTS, min_size=1, max_size=5), st.data())
def test_duplicating_any_key_is_refused(obj: dict[str, int], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(obj)))
    members = [f"{canonical_bytes(k).decode()}:{v}" for k, v in obj.items()]
    members.insert(data.draw(st.integers(0, len(members))), f"{canonical_bytes(key).decode()}:0")
    error = _refused("{" + ",".join(members) + "}")
    assert error.code == "duplicate_key"
    assert repr(key) in error.detail
