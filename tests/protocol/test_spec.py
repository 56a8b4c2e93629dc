"""protocol/ agrees with itself and with guildnode.protocol: files, vectors, schemas, SPEC.

The vectors in protocol/vectors/records.json are judged here the way a receiver judges a record
(SPEC §3.5 then §7), so any implementation that passes the same vectors decides as this one does.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from guildnode.protocol import (
    BODY_SCHEMAS,
    CODES,
    ChainHead,
    Identity,
    Placement,
    ProtocolError,
    canonical_bytes,
    encode_sig,
    parse_json,
    parse_timestamp,
    place,
    public_key_from_did,
    validate_body,
    verify_record,
)

PROTOCOL_DIR = Path(__file__).resolve().parents[2] / "protocol"
SPEC = (PROTOCOL_DIR / "SPEC.md").read_text(encoding="utf-8")

# Codes a single record pushed to an inbox cannot produce without more context than the
# records the receiver holds; the vectors still cover them with an extra field (README.md).
CONTEXT_CODES = {"id_mismatch": "expected_id", "chain_frozen": "fork_proof"}
# Codes that depend on the receiver's owner and the vouches it holds (replication scope,
# SPEC §9.7): no vector can carry them.
SCOPE_CODES = {"out_of_scope", "quota_exceeded"}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("protocol_generate", PROTOCOL_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()
VECTORS: dict[str, Any] = json.loads((PROTOCOL_DIR / "vectors" / "records.json").read_bytes())
NOW = parse_timestamp(VECTORS["now"])


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["name"] for vector in vectors]


# --- a receiver, in miniature --------------------------------------------------------------


def judge(vector: dict[str, Any]) -> str:
    """What a receiver answers for the vector's record: "accepted", "duplicate" or an error code.

    Mirrors the inbox: parse the exact text (or take the parsed record), verify it (SPEC §3.5),
    then place it against the chains built from `held` (SPEC §7), with the file's "now".
    """
    heads: dict[str, ChainHead] = {}
    held_ids: dict[tuple[str, int], str] = {}
    for wire in vector["held"]:
        held = verify_record(wire)
        assert place(held, heads.get(held.author), None, now=NOW) is Placement.APPEND
        heads[held.author] = ChainHead(held.seq, held.id, held.created_at)
        held_ids[held.author, held.seq] = held.id
    frozen_at: dict[str, int] = {}
    if "fork_proof" in vector:
        first, second = (verify_record(wire) for wire in vector["fork_proof"])
        assert (first.author, first.seq) == (second.author, second.seq) and first.id != second.id
        frozen_at[first.author] = first.seq - 1  # SPEC §7.5
    try:
        unverified = parse_json(vector["raw"]) if "raw" in vector else vector["record"]
        record = verify_record(unverified, vector.get("expected_id"))
        placement = place(
            record,
            heads.get(record.author),
            held_ids.get((record.author, record.seq)),
            now=NOW,
            frozen_at=frozen_at.get(record.author),
        )
    except ProtocolError as exc:
        return exc.code
    return {
        Placement.APPEND: "accepted",
        Placement.DUPLICATE: "duplicate",
        Placement.FORK: "fork",
    }[placement]


# --- generated files -----------------------------------------------------------------------


def test_regenerating_changes_nothing() -> None:
    files = generate.build_files()
    assert generate.stale_files(files) == []
    assert generate.orphaned_files(files) == []


def test_generation_is_deterministic() -> None:
    assert generate.build_files() == generate.build_files()


def test_every_kind_has_a_schema_file() -> None:
    names = {path.name for path in generate.build_files() if path.parent.name == "schemas"}
    assert names == {"envelope.json"} | {f"{kind}.json" for kind in BODY_SCHEMAS}


def test_check_mode_names_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = generate.build_files()
    target = next(iter(files))
    fake = {path: data for path, data in files.items() if path != target}
    fake[target] = b"{}\n"
    monkeypatch.setattr(generate, "build_files", lambda: fake)
    assert generate.main(["--check"]) == 1
    assert target.name in capsys.readouterr().out
    assert target.read_bytes() == files[target]  # --check writes nothing


# --- vectors against the code --------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_verifies_to_its_id_and_canonical_form(vector: dict[str, Any]) -> None:
    record = verify_record(copy.deepcopy(vector["record"]))
    assert record.id == vector["id"]
    assert record.canonical == vector["canonical"].encode("utf-8")
    assert record.to_wire() == vector["record"]
    assert verify_record(parse_json(vector["canonical"]), vector["id"]).id == vector["id"]


def test_valid_vectors_cover_every_kind_and_an_unknown_one() -> None:
    kinds = {vector["record"]["kind"] for vector in VECTORS["valid"]}
    assert set(BODY_SCHEMAS) < kinds
    sizes = [len(vector["canonical"].encode("utf-8")) for vector in VECTORS["valid"]]
    assert max(sizes) == 16_384  # the limit itself is allowed (SPEC §8)


def test_identities_match_their_seeds() -> None:
    for identity in VECTORS["identities"]:
        assert Identity(bytes.fromhex(identity["seed"])).did == identity["did"]


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_signs_again_to_its_sig(vector: dict[str, Any]) -> None:
    seeds = {identity["did"]: identity["seed"] for identity in VECTORS["identities"]}
    author = Identity(bytes.fromhex(seeds[vector["record"]["author"]]))
    unsigned = {key: value for key, value in vector["record"].items() if key != "sig"}
    assert encode_sig(author.sign(canonical_bytes(unsigned))) == vector["record"]["sig"]


@pytest.mark.parametrize("vector", VECTORS["accepted"], ids=_ids(VECTORS["accepted"]))
def test_accepted_vector(vector: dict[str, Any]) -> None:
    assert judge(vector) == vector["status"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=_ids(VECTORS["invalid"]))
def test_invalid_vector_is_refused_with_its_code(vector: dict[str, Any]) -> None:
    assert vector["error"] in CODES
    assert judge(vector) == vector["error"]


def test_invalid_vectors_cover_every_code() -> None:
    covered = {vector["error"] for vector in VECTORS["invalid"]}
    assert covered <= set(CODES) - SCOPE_CODES
    assert set(CODES) - SCOPE_CODES - covered == set()


def test_context_beyond_held_records_is_used_only_where_needed() -> None:
    for vector in VECTORS["invalid"]:
        for code, field in CONTEXT_CODES.items():
            assert (field in vector) == (vector["error"] == code), vector["name"]


def test_raw_vectors_are_text_and_the_rest_parse_as_records() -> None:
    for vector in VECTORS["invalid"]:
        assert ("raw" in vector) != ("record" in vector), vector["name"]
        if "raw" in vector:
            assert isinstance(vector["raw"], str)


def test_trailing_bits_vector_carries_the_same_signature_bytes() -> None:
    vector = next(v for v in VECTORS["invalid"] if v["name"] == "sig_with_trailing_bits")
    original = next(v for v in VECTORS["invalid"] if v["name"] == "body_tampered_after_signing")
    sig, other = vector["record"]["sig"], original["record"]["sig"]
    assert sig != other and sig[:-1] == other[:-1]
    assert base64.urlsafe_b64decode(sig + "==") == base64.urlsafe_b64decode(other + "==")


def test_vector_names_are_unique() -> None:
    names = [v["name"] for group in ("valid", "accepted", "invalid") for v in VECTORS[group]]
    assert len(names) == len(set(names))


# --- schemas against the code --------------------------------------------------------------


def _format_checker() -> FormatChecker:
    """The two custom formats of SPEC §6, checked by the code that defines them."""
    checker = FormatChecker(formats=())
    checker.checks("guildnode-did-key", raises=ProtocolError)(
        lambda value: not isinstance(value, str) or bool(public_key_from_did(value))
    )
    checker.checks("guildnode-timestamp", raises=ProtocolError)(
        lambda value: not isinstance(value, str) or parse_timestamp(value) is not None
    )
    return checker


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((PROTOCOL_DIR / "schemas" / f"{name}.json").read_bytes())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


def _schema_accepts(name: str, instance: Any) -> bool:
    return bool(validator(name).is_valid(instance))


def _code_accepts_body(kind: str, body: Any) -> bool:
    try:
        validate_body(kind, body)  # the body step of verify_record (SPEC §3.5)
    except ProtocolError as exc:
        assert exc.code == "invalid_body", exc
        return False
    return True


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_record_matches_the_schemas(vector: dict[str, Any]) -> None:
    record = vector["record"]
    validator("envelope").validate(record)
    if record["kind"] in BODY_SCHEMAS:
        validator(record["kind"]).validate(record["body"])


@pytest.mark.parametrize("vector", VECTORS["accepted"], ids=_ids(VECTORS["accepted"]))
def test_accepted_record_matches_the_schemas(vector: dict[str, Any]) -> None:
    record = vector["record"]
    assert _schema_accepts("envelope", record)
    if record["kind"] in BODY_SCHEMAS:
        assert _schema_accepts(record["kind"], record["body"])


def test_invalid_body_vectors_fail_the_kind_schema() -> None:
    bodies = [v["record"] for v in VECTORS["invalid"] if v["error"] == "invalid_body"]
    assert bodies
    for record in bodies:
        assert record["kind"] in BODY_SCHEMAS
        assert _schema_accepts("envelope", record)
        assert not _schema_accepts(record["kind"], record["body"])


# Envelope defects the schema cannot express (SPEC §3, §4.1): they pass envelope.json.
BEYOND_THE_SCHEMA = {"expires_equal_to_created", "sig_with_trailing_bits"}
ENVELOPE_CODES = {
    "unsupported_version",
    "missing_field",
    "unexpected_field",
    "invalid_field",
    "invalid_did",
    "invalid_timestamp",
    "malformed_signature",
}


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS["invalid"] if v["error"] in ENVELOPE_CODES],
    ids=_ids([v for v in VECTORS["invalid"] if v["error"] in ENVELOPE_CODES]),
)
def test_envelope_defect_and_schema_agree(vector: dict[str, Any]) -> None:
    assert _schema_accepts("envelope", vector["record"]) == (vector["name"] in BEYOND_THE_SCHEMA)


def _valid_body(kind: str) -> dict[str, Any]:
    return next(v["record"]["body"] for v in VECTORS["valid"] if v["record"]["kind"] == kind)


@pytest.mark.parametrize("kind", sorted(BODY_SCHEMAS))
def test_removing_a_required_field_fails_schema_and_code(kind: str) -> None:
    body = _valid_body(kind)
    assert _schema_accepts(kind, body) and _code_accepts_body(kind, body)
    for field in BODY_SCHEMAS[kind]["required"]:
        smaller = {key: value for key, value in body.items() if key != field}
        assert not _schema_accepts(kind, smaller), field
        assert not _code_accepts_body(kind, smaller), field


@pytest.mark.parametrize("kind", sorted(BODY_SCHEMAS))
def test_an_undefined_field_fails_schema_and_code(kind: str) -> None:
    body = {**_valid_body(kind), "undefined_field": 1}
    assert not _schema_accepts(kind, body)
    assert not _code_accepts_body(kind, body)


def _edge_cases(kind: str) -> list[dict[str, Any]]:
    """Bodies near each bound of a kind's fields: both sides of every limit."""
    body = _valid_body(kind)
    cases: list[dict[str, Any]] = []
    for field, schema in BODY_SCHEMAS[kind]["properties"].items():
        schema = generate.DEFS[schema["$ref"].split("/")[-1]] if "$ref" in schema else schema
        values: list[Any] = [None, 7, "text", [], {}]
        if "maxLength" in schema:
            high = schema["maxLength"]
            values += ["é" * high, "é" * (high + 1), "😀" * high]
        if "minLength" in schema:
            values += ["", "x"]
        if "maximum" in schema:
            values += [schema["maximum"], schema["maximum"] + 1, schema["minimum"] - 1, True]
        if "enum" in schema:
            values += [*schema["enum"], schema["enum"][0].upper()]
        if "items" in schema:
            values += [body.get(field, [])[:1] * 2]
        cases += [{**body, field: value} for value in values]
    return cases


@pytest.mark.parametrize("kind", sorted(BODY_SCHEMAS))
def test_schema_and_code_agree_at_the_edges(kind: str) -> None:
    for body in _edge_cases(kind):
        assert _schema_accepts(kind, body) == _code_accepts_body(kind, body), body


# --- SPEC.md -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_is_in_the_spec(code: str) -> None:
    assert re.search(rf"`{code}`", SPEC), code


@pytest.mark.parametrize(
    "code",
    [
        "malformed_request",
        "too_many_records",
        "body_too_large",
        "invalid_query",
        "not_found",
        "unauthorized",
    ],
)
def test_every_http_code_is_in_the_spec(code: str) -> None:
    assert re.search(rf"`{code}`", SPEC), code


def test_every_schema_file_is_named_in_the_spec() -> None:
    for path in generate.build_files():
        if path.parent.name == "schemas":
            assert f"schemas/{path.name}" in SPEC, path.name


def _section(kind: str) -> str:
    match = re.search(rf"^### §6\.\d+ `{kind}`$(.*?)^###? ", SPEC, re.MULTILINE | re.DOTALL)
    assert match, f"SPEC.md has no subsection for {kind}"
    return match.group(1)


@pytest.mark.parametrize("kind", sorted(BODY_SCHEMAS))
def test_every_body_field_is_in_its_spec_section(kind: str) -> None:
    section = _section(kind)
    for field in BODY_SCHEMAS[kind]["properties"]:
        assert f"`{field}`" in section, field
