"""protocol/ agrees with itself and with guildnode.protocol: files, vectors, schemas, SPEC.

The vectors in protocol/vectors/records.json are judged here the way a receiver judges a record
(SPEC §3.5 then §7), so any implementation that passes the same vectors decides as this one does.
Those of protocol/vectors/sealed.json are sealed and opened as a party does (SPEC §6.9), and the
contract story among the valid records is derived as SPEC §12.3 and §12.4 say.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import inspect
import itertools
import json
import random
import re
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import nacl.secret
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from guildnode import contracts, feedback, guilds, trust
from guildnode.api import batch
from guildnode.api.errors import HTTP_CODES
from guildnode.api.guard import ADDRESS_RATE, AUTHOR_RATE, GLOBAL_RATE, SENDER_RATE
from guildnode.contracts.order import _phase
from guildnode.federation import MAX_BACKOFF, PAGE, PLANNING_PASSES
from guildnode.federation.batch import ANSWER_BYTES as BATCH_ANSWER_BYTES
from guildnode.federation.batch import MAX_FEEDS as BATCH_FEEDS
from guildnode.ingest import GUEST_AUTHORS, GUEST_RECORDS_PER_AUTHOR
from guildnode.peers import MAX_HEADS_BYTES, MAX_PAGE_BYTES, PEER_CODES
from guildnode.protocol import (
    BODY_SCHEMAS,
    CODES,
    ChainHead,
    Identity,
    Placement,
    ProtocolError,
    canonical_bytes,
    encode_sig,
    open_sealed,
    open_with_key,
    parse_json,
    parse_timestamp,
    place,
    public_key_from_did,
    seal,
    validate_body,
    verify_record,
)
from guildnode.protocol.httpsig import CLOCK_SKEW, MAX_LIFETIME, SIGNATURE_CODES
from guildnode.protocol.kinds import INNER_SCHEMAS, SEALED_KINDS, validate_inner
from guildnode.scope import MAX_VOUCH_LIFE

PROTOCOL_DIR = Path(__file__).resolve().parents[2] / "protocol"
SPEC = (PROTOCOL_DIR / "SPEC.md").read_text(encoding="utf-8")

# Codes a single record pushed to an inbox cannot produce without more context than the
# records the receiver holds; the vectors still cover them with an extra field (README.md).
CONTEXT_CODES = {"id_mismatch": "expected_id", "chain_frozen": "fork_proof"}
# Codes that depend on the receiver's owner and the vouches it holds (replication scope,
# SPEC §9.7): no vector can carry them.
SCOPE_CODES = {"out_of_scope", "quota_exceeded"}
# Codes that are never a rejection (SPEC §6.9): a sealed record that does not open is valid.
NOT_REJECTIONS = {"unreadable"}


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("protocol_generate", PROTOCOL_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()
VECTORS: dict[str, Any] = json.loads((PROTOCOL_DIR / "vectors" / "records.json").read_bytes())
SEALED: dict[str, Any] = json.loads((PROTOCOL_DIR / "vectors" / "sealed.json").read_bytes())
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


def _schema_names() -> set[str]:
    """The generated schema files, by path under protocol/schemas/ without ".json"."""
    root = PROTOCOL_DIR / "schemas"
    return {
        path.relative_to(root).as_posix().removesuffix(".json")
        for path in generate.build_files()
        if path.is_relative_to(root)
    }


def test_every_kind_has_a_schema_file() -> None:
    sealed = {f"sealed/{kind}" for kind in INNER_SCHEMAS}
    assert _schema_names() == {"envelope"} | set(BODY_SCHEMAS) | sealed
    assert set(INNER_SCHEMAS) == set(SEALED_KINDS) < set(BODY_SCHEMAS)


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
    assert covered <= set(CODES) - SCOPE_CODES - NOT_REJECTIONS
    assert set(CODES) - SCOPE_CODES - NOT_REJECTIONS - covered == set()


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
    for group in ("seals", "opens", "unreadable", "commitments"):
        names = [v["name"] for v in SEALED[group]]
        assert names and len(names) == len(set(names)), group


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


def test_unreadable_accepted_vectors_are_valid_records() -> None:
    """SPEC §6.8, §6.9: sealed bodies that open for no one are accepted all the same."""
    unreadable = {v["record"]["body"]["box"] for v in SEALED["unreadable"]}
    accepted = [v for v in VECTORS["accepted"] if v["record"]["kind"] in SEALED_KINDS]
    assert len(accepted) >= 3
    for vector in accepted:
        assert vector["record"]["body"]["box"] in unreadable, vector["name"]


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


# The bodies inside the seal (SPEC §6.10): schemas/sealed/<kind>.json against validate_inner.


def _code_accepts_inner(kind: str, inner: Any) -> bool:
    try:
        validate_inner(kind, inner)
    except ProtocolError as exc:
        assert exc.code == "invalid_body", exc
        return False
    return True


def _valid_inner(kind: str) -> dict[str, Any]:
    return next(v["inner"] for v in SEALED["opens"] if v["record"]["kind"] == kind)


def _inner_edge_cases(kind: str) -> list[dict[str, Any]]:
    body = _valid_inner(kind)
    cases: list[dict[str, Any]] = []
    for field, schema in INNER_SCHEMAS[kind]["properties"].items():
        schema = generate.DEFS[schema["$ref"].split("/")[-1]] if "$ref" in schema else schema
        values: list[Any] = [None, 7, "text", [], {}, "0" * 64]
        if "maxLength" in schema:
            values += ["é" * schema["maxLength"], "é" * (schema["maxLength"] + 1)]
        if "minLength" in schema:
            values += ["", "x"]
        if "maximum" in schema:
            values += [schema["maximum"], schema["maximum"] + 1, schema["minimum"] - 1, True]
        if "enum" in schema:
            values += [*schema["enum"], schema["enum"][0].upper()]
        if "items" in schema:
            items = body.get(field, [])
            values += [items * 21, items[:1] * 2]
            if items and isinstance(items[0], dict):
                values += [[{**items[0], "extra": 1}], [{**items[0], "amount": -1}]]
        if field in ("price", "amount"):
            values += [{"amount": 1, "currency": "eur"}, {"amount": -1, "currency": "EUR"}]
        cases += [{**body, field: value} for value in values]
    return cases


@pytest.mark.parametrize("kind", sorted(INNER_SCHEMAS))
def test_sealed_body_schema_and_code_agree(kind: str) -> None:
    body = _valid_inner(kind)
    name = f"sealed/{kind}"
    assert _schema_accepts(name, body) and _code_accepts_inner(kind, body)
    for field in INNER_SCHEMAS[kind]["required"]:
        smaller = {key: value for key, value in body.items() if key != field}
        assert not _schema_accepts(name, smaller) and not _code_accepts_inner(kind, smaller)
    assert not _schema_accepts(name, {**body, "undefined_field": 1})
    assert not _code_accepts_inner(kind, {**body, "undefined_field": 1})
    for case in _inner_edge_cases(kind):
        assert _schema_accepts(name, case) == _code_accepts_inner(kind, case), case


def test_every_sealed_vector_body_matches_its_schema() -> None:
    for vector in SEALED["opens"]:
        kind = vector["record"]["kind"]
        validator(kind).validate(vector["record"]["body"])
        validator(f"sealed/{kind}").validate(vector["inner"])


# --- vectors/sealed.json: sealing and opening (SPEC §6.9) -----------------------------------

SEEDS = {identity["name"]: bytes.fromhex(identity["seed"]) for identity in SEALED["identities"]}
# What this implementation's `unreadable` detail says for each reason of the vectors.
UNREADABLE_DETAILS = {
    "not_a_party": "is not among the record's parties",
    "author_not_a_party": "The author is not among",
    "duplicate_party": "names a party twice",
    "non_canonical_base64url": "does not re-encode to itself",
    "key_does_not_unseal": "does not unseal",
    "box_does_not_decrypt": "does not decrypt",
    "plaintext_outside_profile": "is not canonical JSON",
    "author_mismatch": "author differs",
    "kind_mismatch": "kind differs",
    "recipients_mismatch": "recipients differs",
    "key_hash_mismatch": "key_hash is not the hash",
    "invalid_inner_body": "inner body is invalid",
}


def test_sealed_identities_are_those_of_the_records() -> None:
    assert SEALED["identities"] == VECTORS["identities"]


@pytest.mark.parametrize("vector", SEALED["seals"], ids=_ids(SEALED["seals"]))
def test_seal_is_reproduced_from_its_draws(vector: dict[str, Any]) -> None:
    draws = iter(
        [
            bytes.fromhex(vector["content_key"]),
            bytes.fromhex(vector["nonce"]),
            *(bytes.fromhex(secret) for secret in vector["ephemeral_secrets"]),
        ]
    )
    author = Identity(SEEDS[vector["author"]])
    others = [did for did in vector["recipients"] if did != author.did]
    body = seal(author, vector["kind"], vector["inner"], others, random=lambda size: next(draws))
    assert body == vector["body"]
    assert next(draws, None) is None  # every draw used, in order (SPEC §6.9)
    key = bytes.fromhex(vector["content_key"])
    opened = nacl.secret.SecretBox(key).decrypt(
        base64.urlsafe_b64decode(body["box"] + "=" * (-len(body["box"]) % 4)),
        bytes.fromhex(vector["nonce"]),
    )
    assert opened == vector["plaintext"].encode("utf-8")
    plaintext = parse_json(vector["plaintext"])
    assert canonical_bytes(plaintext) == opened  # the author writes it canonical
    assert plaintext["key_hash"] == hashlib.sha256(key).hexdigest()
    assert plaintext["recipients"] == vector["recipients"] == sorted(vector["recipients"])


@pytest.mark.parametrize("vector", SEALED["opens"], ids=_ids(SEALED["opens"]))
def test_a_party_opens_the_sealed_vector(vector: dict[str, Any]) -> None:
    record = verify_record(copy.deepcopy(vector["record"]))
    inner = open_sealed(Identity(SEEDS[vector["reader"]]), record.author, record.kind, record.body)
    assert inner == vector["inner"]


def test_a_disclosed_content_key_opens_the_record_as_its_parties_read_it() -> None:
    # SPEC §17.3: Bob, the mediator, opens Carol's disclosure; its key opens her cancel,
    # which is sealed to Acme and Carol only, to exactly what they read. A wrong key fails.
    (disclosure,) = (v for v in SEALED["opens"] if v["name"] == "disclosure_read_by_bob")
    (item,) = disclosure["inner"]["records"]
    records = {v["record"]["kind"] + ":" + v["name"]: v["record"] for v in VECTORS["valid"]}
    cancel = verify_record(copy.deepcopy(records["cancel:cancel"]))
    assert cancel.id == item["record"]
    read = next(v["inner"] for v in SEALED["opens"] if v["name"] == "cancel_read_by_acme")
    key = base64.urlsafe_b64decode(item["key"] + "=")
    assert open_with_key(key, cancel.author, cancel.kind, cancel.body) == read
    with pytest.raises(ProtocolError) as caught:
        open_with_key(bytes(32), cancel.author, cancel.kind, cancel.body)
    assert caught.value.code == "unreadable"


def test_every_valid_sealed_record_opens_for_each_party() -> None:
    valid = {
        v["name"]: v["record"] for v in VECTORS["valid"] if v["record"]["kind"] in SEALED_KINDS
    }
    opened = {(v["name"].split("_read_by_")[0], v["reader"]) for v in SEALED["opens"]}
    names = {identity["did"]: identity["name"] for identity in VECTORS["identities"]}
    expected = {(name, names[k["to"]]) for name, r in valid.items() for k in r["body"]["keys"]}
    assert opened == expected and len({name for name, _ in opened}) == len(valid)


@pytest.mark.parametrize("vector", SEALED["unreadable"], ids=_ids(SEALED["unreadable"]))
def test_an_unreadable_sealed_vector_is_valid_and_unreadable(vector: dict[str, Any]) -> None:
    record = verify_record(copy.deepcopy(vector["record"]))  # valid: SPEC §6.8
    with pytest.raises(ProtocolError) as caught:
        open_sealed(Identity(SEEDS[vector["reader"]]), record.author, record.kind, record.body)
    assert caught.value.code == "unreadable"
    assert UNREADABLE_DETAILS[vector["reason"]] in caught.value.detail


def test_unreadable_vectors_cover_every_reason_and_the_spec_names_them() -> None:
    assert {v["reason"] for v in SEALED["unreadable"]} == set(UNREADABLE_DETAILS)
    section = _chapter("6.9")
    for reason in UNREADABLE_DETAILS:
        assert f"`{reason}`" in section, reason


# --- SPEC §12.4: the commitment ---------------------------------------------------------------


@pytest.mark.parametrize("vector", SEALED["commitments"], ids=_ids(SEALED["commitments"]))
def test_feedback_commitment_vector(vector: dict[str, Any]) -> None:
    body = vector["body"]
    assert canonical_bytes(body) == vector["canonical"].encode("utf-8")
    assert hashlib.sha256(vector["canonical"].encode("utf-8")).hexdigest() == vector["commitment"]
    assert feedback.commitment(body) == vector["commitment"]
    records = [v["record"] for v in VECTORS["valid"]]
    commit = next(
        r
        for r in records
        if r["kind"] == "commit"
        and r["author"] != body["subject"]
        and r["body"]["subject"] == body["subject"]
    )
    assert commit["body"]["commitment"] == vector["commitment"]
    assert any(r["kind"] == "feedback" and r["body"] == body for r in records)


# --- SPEC.md -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_is_in_the_spec(code: str) -> None:
    assert re.search(rf"`{code}`", SPEC), code


# --- SPEC.md: the HTTP layer (§9, §10.2) ----------------------------------------------------

WIRE_CODES = {**HTTP_CODES, **dict.fromkeys(SIGNATURE_CODES, 0)}


def _chapter(number: str) -> str:
    """The text of SPEC section `number` (e.g. "10.2"), up to the next heading of its level
    or above."""
    level = "##" if "." not in number else "###"
    start = re.search(rf"^{level} §{re.escape(number)} .*$", SPEC, re.MULTILINE)
    assert start, f"SPEC.md has no heading §{number}"
    end = re.compile(rf"^#{{2,{len(level)}}} ", re.MULTILINE).search(SPEC, start.end())
    return SPEC[start.end() : end.start() if end else len(SPEC)]


def _table_rows(text: str, columns: int) -> dict[str, list[str]]:
    """`code` → the other cells, for the rows of `columns` cells whose first cell is a code."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == columns:
            code = cells[0].strip("`")
            assert code not in rows, f"{code} has two rows"
            rows[code] = cells[1:]
    return rows


HTTP_TABLE = _table_rows(_chapter("10.2"), 3)
PEER_TABLE = _table_rows(_chapter("10.2"), 2)
PROTOCOL_TABLE = _table_rows(_chapter("10.1"), 3)


@pytest.mark.parametrize("code", sorted({*HTTP_CODES, *SIGNATURE_CODES, *PEER_CODES}))
def test_every_http_signature_and_peer_code_is_in_the_spec(code: str) -> None:
    assert re.search(rf"`{code}`", SPEC), code


@pytest.mark.parametrize("code", sorted(HTTP_CODES))
def test_every_http_code_has_its_status_in_section_10_2(code: str) -> None:
    assert code in HTTP_TABLE, f"{code} has no row in the table of SPEC §10.2"
    assert HTTP_TABLE[code][0] == str(HTTP_CODES[code]), code


def test_section_10_2_lists_exactly_the_http_codes() -> None:
    # invalid_did is a protocol code (SPEC §1.2) that is also a 400 answer for a path DID.
    assert set(HTTP_TABLE) == set(HTTP_CODES) | {"invalid_did"}
    assert HTTP_TABLE["invalid_did"][0] == "400"
    assert set(SIGNATURE_CODES) <= set(HTTP_CODES)


@pytest.mark.parametrize("code", sorted(SIGNATURE_CODES))
def test_every_signature_code_has_its_sentence_and_section(code: str) -> None:
    when = HTTP_TABLE[code][1]
    assert SIGNATURE_CODES[code] in when, code
    assert "§9.6" in when, code
    assert f"`{code}`" in _chapter("9.6"), code


def test_section_10_2_lists_exactly_the_peer_codes_with_their_sentences() -> None:
    assert set(PEER_TABLE) == set(PEER_CODES)
    for code, sentence in PEER_CODES.items():
        assert PEER_TABLE[code] == [sentence], code
    assert not set(PEER_CODES) & set(WIRE_CODES)  # never on the wire between nodes
    assert not set(PEER_CODES) & set(CODES)


def test_section_10_1_lists_exactly_the_protocol_codes_with_their_sentences() -> None:
    assert set(PROTOCOL_TABLE) == set(CODES)
    for code, sentence in CODES.items():
        assert PROTOCOL_TABLE[code][0].startswith(sentence.removesuffix(".")), code
    for code in SCOPE_CODES:
        assert PROTOCOL_TABLE[code][1] == "§9.7", code
        assert "reserved" not in PROTOCOL_TABLE[code][0].lower(), code
        assert f"`{code}`" in _chapter("9.7"), code


def _first(text: str, code: str) -> int:
    """Where `code` is first named in `text` (as `code` or `429 code`), or -1."""
    match = re.search(rf"`(?:\d{{3}} )?{code}`", text)
    return match.start() if match else -1


def test_inbox_refusals_are_stated_in_the_order_the_route_makes_them() -> None:
    inbox = _chapter("9.5")
    order = [
        "rate_limited",
        "body_too_large",
        "signature_missing",
        "signature_replayed",
        "server_busy",
        "malformed_request",
        "too_many_records",
        "out_of_scope",
    ]
    positions = [_first(inbox, code) for code in order]
    assert -1 not in positions, dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    assert "any author accepted" not in SPEC and "no signatures yet" not in SPEC


def test_signature_checks_are_stated_in_the_order_verify_request_makes_them() -> None:
    checks = _chapter("9.6").split("**Order of checks.**")[1]
    order = [
        "signature_missing",
        "signature_malformed",
        "signature_incomplete",
        "signature_expired",
        "digest_mismatch",
        "signature_invalid",
        "signature_replayed",
        "server_busy",
    ]
    positions = [_first(checks, code) for code in order]
    assert -1 not in positions and positions == sorted(positions)
    assert set(order) == set(SIGNATURE_CODES)


def test_the_numbers_the_spec_gives_are_the_codes() -> None:
    assert f"at most `created` + {MAX_LIFETIME}" in SPEC
    assert f"`now` + {CLOCK_SKEW} or `expires` < `now` − {CLOCK_SKEW}" in SPEC
    assert f"above {GUEST_RECORDS_PER_AUTHOR} " in _chapter("9.7")
    assert f"{GUEST_AUTHORS:,} guests" in _chapter("9.7")
    assert f"{MAX_VOUCH_LIFE // 86_400} days" in _chapter("9.7")
    limits = _chapter("9.8")
    for rate in (GLOBAL_RATE, ADDRESS_RATE, SENDER_RATE):
        assert f"{rate.per_second:,.0f} requests per second | {rate.burst:,.0f} |" in limits
    per_minute = round(AUTHOR_RATE.per_second * 60)
    assert f"{per_minute:,} records per minute | {AUTHOR_RATE.burst:,.0f} |" in limits
    sync = _chapter("9.9")
    assert f"limit={PAGE}" in sync
    assert f"at most {PLANNING_PASSES} planning passes" in sync
    assert f"{MAX_BACKOFF:.0f} s)" in sync
    assert f"{MAX_HEADS_BYTES:,} bytes" in sync and f"{MAX_PAGE_BYTES:,} bytes" in sync
    assert f"{BATCH_ANSWER_BYTES:,} bytes" in sync
    assert f"at most {BATCH_FEEDS:,}, in DID order" in sync
    served = _chapter("9.13")
    assert f"at most {batch.MAX_FEEDS:,}" in served and batch.MAX_FEEDS == BATCH_FEEDS
    assert f"1 … {batch.MAX_RECORDS:,}, default {batch.MAX_RECORDS:,}" in served
    assert f"{batch.MIN_ANSWER_BYTES:,} … {batch.MAX_ANSWER_BYTES:,}" in served


# --- SPEC.md: section numbers cited elsewhere ----------------------------------------------

REPO = PROTOCOL_DIR.parent
HEADINGS = set(re.findall(r"^#{2,3} §(\d+(?:\.\d+)*) ", SPEC, re.MULTILINE))
# "SPEC §9.6", "SPEC.md §3", "SPEC §3–§5", "SPEC §1, §4": every number after "SPEC".
CITATION = re.compile(r"SPEC(?:\.md)? (§\d+(?:\.\d+)*(?:(?:–|-|, | and )§\d+(?:\.\d+)*)*)")


def _citations() -> list[tuple[str, str]]:
    """(file:line, section number) of every SPEC citation in the code, tests and protocol/."""
    files = [
        *sorted((REPO / "guildnode").rglob("*.py")),
        *sorted((REPO / "tests").rglob("*.py")),
        REPO / "protocol" / "generate.py",
        REPO / "protocol" / "vectors" / "README.md",
        REPO / "README.md",
    ]
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in CITATION.finditer(line):
                for section in re.findall(r"§(\d+(?:\.\d+)*)", match.group(1)):
                    found.append((f"{path.relative_to(REPO)}:{number}", section))
    return found


def test_the_code_cites_the_spec() -> None:
    cited = {section for _, section in _citations()}
    assert {"9.5", "9.6", "9.7", "9.8", "10.1", "10.2"} <= cited


@pytest.mark.parametrize(("where", "section"), _citations())
def test_every_section_cited_in_the_code_is_a_heading_of_the_spec(where: str, section: str) -> None:
    assert section in HEADINGS, f"{where} cites SPEC §{section}, which SPEC.md does not have"


# What the code relies on each section to be about: guildnode/protocol/httpsig/ cites §9.6,
# scope.py and node.py §9.7, api/guard.py and limits.py §9.8, api/errors.py §10.2.
TOPICS = {
    "9.5": "`POST /inbox`",
    "9.6": "HTTP Message Signatures",
    "9.7": "Replication scope",
    "9.8": "Limits and abuse",
    "9.9": "Sync behaviour",
    "9.10": "`GET /records/{id}`",
    "9.11": "Local API",
    "9.13": "`POST /sync/batch`",
    "10.1": "Protocol codes",
    "10.2": "HTTP-level codes",
}


@pytest.mark.parametrize(("section", "topic"), sorted(TOPICS.items()))
def test_sections_the_code_relies_on_are_about_their_topic(section: str, topic: str) -> None:
    heading = re.search(rf"^#{{2,3}} §{re.escape(section)} (.*)$", SPEC, re.MULTILINE)
    assert heading and topic in heading.group(1), (section, heading and heading.group(1))


def test_every_section_cited_inside_the_spec_exists() -> None:
    # "§N.N" of this document; "RFC 9421 §2.5", "vc-di-eddsa §3.3" and the like are other
    # documents.
    for section in re.findall(r"(?<!RFC \d{4} )(?<!vc-di-eddsa )§(\d+(?:\.\d+)*)", SPEC):
        assert section in HEADINGS, f"SPEC.md cites §{section}, which it does not have"


def test_the_sections_are_numbered_in_order() -> None:
    numbers = re.findall(r"^#{2,3} §(\d+(?:\.\d+)*) ", SPEC, re.MULTILINE)
    keys = [tuple(int(part) for part in number.split(".")) for number in numbers]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    for parent, child in itertools.pairwise(keys):
        if len(child) == 2 and len(parent) == 2 and parent[0] == child[0]:
            assert child[1] == parent[1] + 1, (parent, child)


def test_every_schema_file_is_named_in_the_spec() -> None:
    for name in _schema_names():
        assert f"`schemas/{name}.json`" in SPEC, name


def _section(kind: str) -> str:
    """The text of a kind's section of SPEC §6: `### §6.N `kind``, or for a sealed kind its
    `#### `kind`` in §6.10."""
    if kind in SEALED_KINDS:
        pattern = rf"^#### `{kind}`$(.*?)^#{{2,4}} "
        match = re.search(pattern, _chapter("6.10") + "\n### end", re.MULTILINE | re.DOTALL)
    else:
        pattern = rf"^### §6\.\d+ `{kind}`$(.*?)^###? "
        match = re.search(pattern, SPEC, re.MULTILINE | re.DOTALL)
    assert match, f"SPEC.md has no subsection for {kind}"
    return match.group(1)


def _fields(schema: dict[str, Any], prefix: str = "") -> list[str]:
    """The field names of a body schema as the SPEC's tables write them: `a`, `a.b`, `a[].b`."""
    found = []
    for field, sub in schema.get("properties", {}).items():
        found.append(prefix + field)
        found += _fields(sub, f"{prefix}{field}.")
        if isinstance(sub.get("items"), dict):
            found += _fields(sub["items"], f"{prefix}{field}[].")
    return found


@pytest.mark.parametrize("kind", sorted(BODY_SCHEMAS))
def test_every_body_field_is_in_its_spec_section(kind: str) -> None:
    if kind in SEALED_KINDS:  # the public body is the same for all: SPEC §6.9
        section, inner = _chapter("6.9"), _section(kind)
        for field in _fields(INNER_SCHEMAS[kind]):
            assert f"`{field}`" in inner, (kind, field)
    else:
        section = _section(kind)
    for field in _fields(BODY_SCHEMAS[kind]):
        if not field.startswith("dimensions."):  # named in the row of `dimensions`
            assert f"`{field}`" in section, (kind, field)
    if kind == "feedback":
        for name in BODY_SCHEMAS[kind]["properties"]["dimensions"]["properties"]:
            assert f"`{name}`" in section, name


# --- SPEC.md §12: derived state ------------------------------------------------------------


def _constants(number: str) -> dict[str, float]:
    """`NAME` → value, from the rows `| `NAME` | number | meaning |` of SPEC section `number`."""
    found: dict[str, float] = {}
    for line in _chapter(number).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            try:
                found[cells[0].strip("`")] = float(cells[1].replace(",", ""))
            except ValueError:
                continue
    return found


def test_the_constants_of_section_12_are_the_codes() -> None:
    cooling = guilds.Charter.__dataclass_fields__["cooling_days"].default
    half_life = inspect.signature(trust.trust).parameters["half_life_days"].default
    assert _constants("12.1") == {
        "FOUNDER_CAPACITY": guilds.FOUNDER_CAPACITY,
        "CAPACITY_DECAY": guilds.CAPACITY_DECAY,
        "MAX_VOUCH_LIFE": trust.MAX_VOUCH_LIFE,
        "cooling_days": cooling,
        "DAY": guilds.DAY,
    }
    assert _constants("12.2") == {
        "RESTART": trust.RESTART,
        "SINK": trust.SINK,
        "W_MAX": trust.W_MAX,
        "EVIDENCE_BONUS": trust.EVIDENCE_BONUS,
        "CROSS_CONTEXT_DISCOUNT": trust.CROSS_CONTEXT_DISCOUNT,
        "SCORE_CAP": trust.SCORE_CAP,
        "half_life_days": half_life,
        "MAX_VOUCH_LIFE": trust.MAX_VOUCH_LIFE,
        "TOLERANCE": trust.TOLERANCE,
        "MAX_ITERATIONS": trust.MAX_ITERATIONS,
    }
    assert trust.MAX_VOUCH_LIFE == MAX_VOUCH_LIFE == 365 * guilds.DAY  # scope.py's too
    # The capacities the text spells out, and the depth beyond which nothing is certified.
    spelt = [max(1, guilds.FOUNDER_CAPACITY // guilds.CAPACITY_DECAY**d) for d in range(5)]
    assert spelt == [64, 16, 4, 1, 1]
    assert "64 at distance 0, 16 at 1, 4 at 2, 1 at 3 and beyond" in _chapter("12.1")


GUILD_EXAMPLES = re.findall(
    r"^```text\n(charter .*?)^```$", _chapter("12.1"), re.DOTALL | re.MULTILINE
)
ORIGIN = 1_735_689_600  # "day 0" of the examples: any origin gives the same members


GuildCase = tuple[guilds.Charter, list[guilds.Application], list[trust.Vouch], int, set[str]]


def _parse_guild_example(text: str) -> tuple[GuildCase, dict[str, int]]:
    """The inputs and the expected members of one worked example of SPEC §12.1 (its notation
    is explained there)."""
    day = guilds.DAY
    charter: guilds.Charter | None = None
    applications: list[guilds.Application] = []
    vouches: list[trust.Vouch] = []
    named: dict[str, trust.Vouch] = {}
    revoked: set[str] = set()
    seqs: dict[str, int] = {}
    now: int | None = None
    expected: dict[str, int] | None = None
    for line in text.splitlines():
        words = line.split()
        if words[0] == "charter":
            founders = words[words.index("founders") + 1 : words.index("k")]
            charter = guilds.Charter(
                id="g" * 64,
                author=words[1],
                name="Example",
                purpose="SPEC §12.1",
                founders=tuple(founders),
                vouches_required=int(words[words.index("k") + 1]),
                created_at=ORIGIN + day * int(words[words.index("day") + 1]),
                cooling_days=int(words[words.index("cooling") + 1]),
            )
        elif words[0] in ("apply", "leave"):
            assert charter is not None and words[2] == "day", line
            seq = seqs[words[1]] = seqs.get(words[1], 0) + 1
            applications.append(
                guilds.Application(
                    f"{len(applications):064x}",
                    words[1],
                    charter.id,
                    words[0],
                    seq,
                    ORIGIN + day * int(words[3]),
                )
            )
        elif words[0] == "vouch":
            assert charter is not None and words[3] == "day", line
            until = re.search(r" until day (\d+)", line)
            words = line.replace(until.group(0), "").split() if until else words
            options = dict(zip(words[3::2], words[4::2], strict=True))
            assert set(options) <= {"day", "context", "as"}, line
            vouch = trust.Vouch(
                id=f"{len(vouches):064x}",
                author=words[1],
                subject=words[2],
                level=3,
                created_at=ORIGIN + day * int(options["day"]),
                context=options.get("context", charter.context),
                expires_at=ORIGIN + day * int(until.group(1)) if until else None,
            )
            vouches.append(vouch)
            if "as" in options:
                named[options["as"]] = vouch
        elif words[0] == "revoke":
            target = named[words[2]]
            if target.author == words[1]:  # a revoke counts only from the vouch's author
                revoked.add(target.id)
        elif words[0] == "now":
            now = ORIGIN + day * int(words[2])
        elif words[0] == "members":
            listed = line.removeprefix("members ").strip()
            pairs = [] if listed == "none" else [item.split() for item in listed.split(",")]
            expected = {did: ORIGIN + day * int(since) for did, since in pairs}
        else:
            raise AssertionError(f"unknown line in a SPEC §12.1 example: {line}")
    assert charter is not None and now is not None and expected is not None, text
    return (charter, applications, vouches, now, revoked), expected


def _guild_example(text: str) -> tuple[guilds.Membership, dict[str, int]]:
    (charter, applications, vouches, now, revoked), expected = _parse_guild_example(text)
    found = guilds.membership(charter, applications, vouches, now=now, revoked=revoked)
    return found, expected


def test_section_12_1_has_its_worked_examples() -> None:
    assert len(GUILD_EXAMPLES) == 12


@pytest.mark.parametrize(
    "text", GUILD_EXAMPLES, ids=[f"example-{n}" for n in range(1, len(GUILD_EXAMPLES) + 1)]
)
def test_guild_worked_example(text: str) -> None:
    found, expected = _guild_example(text)
    assert found.members == expected


def test_renaming_dids_in_order_keeps_the_members() -> None:
    """SPEC §12.1: only the order of the DIDs matters. Example 11 with longer names."""
    text = GUILD_EXAMPLES[10]
    names = sorted(set(re.findall(r"\b(?:[A-Z]\d?)\b", text)))
    renamed = {name: f"did:key:z6Mk{index:02d}{name}" for index, name in enumerate(names)}
    pattern = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")
    original, _ = _guild_example(text)
    found, _ = _guild_example(pattern.sub(lambda m: renamed[m.group(1)], text))
    assert found.members == {renamed[did]: since for did, since in original.members.items()}
    assert len(found.members) == len(original.members) == 9  # the cycle keeps neither Z0 nor Z4


def test_section_12_2_trust_example() -> None:
    now = ORIGIN
    table = trust.VouchTable.build(
        [
            trust.Vouch("a" * 64, "V", "A", 3, now),
            trust.Vouch("b" * 64, "A", "B", 2, now - 180 * guilds.DAY, "python"),
        ]
    )
    general = trust.trust(table, "V", now=now)
    assert general.score("V") == pytest.approx(0.15)
    assert general.score("A") == pytest.approx(0.85 * 0.15 / 6)
    assert general.score("B") == pytest.approx(0.85 * 0.02125 / 31)
    python = trust.trust(table, "V", now=now, context="python")
    assert python.score("A") == pytest.approx(0.85 * 0.15 / 11)
    assert python.score("B") == pytest.approx(0.85 * (0.85 * 0.15 / 11) / 16)
    assert trust.trust(table, "V", now=now, context="rust").score("B") == 0.0
    text = _chapter("12.2")
    assert "s(A) = 0.85 × 0.15 / 6 = 0.02125" in text
    assert f"{general.score('B'):.6f}" in text
    assert f"{python.score('A'):.6f}" in text and f"{python.score('B'):.6f}" in text


# An implementation of SPEC §12.1 written from its text alone (steps 1–6 and the flow
# procedure), checked against guildnode.guilds on random guilds: if the two ever differ,
# the text no longer says what the code does.


def _spec_certify(
    founders: set[str], edges: list[tuple[str, str]], capacity: dict[str, int]
) -> set[str]:
    arcs: list[list[Any]] = []  # [tail, head, capacity]; an arc's twin is its index ^ 1
    lists: dict[Any, list[int]] = {}

    def add(tail: Any, head: Any, cap: int) -> int:
        for a, b, c in ((tail, head, cap), (head, tail, 0)):
            lists.setdefault(a, []).append(len(arcs))
            arcs.append([a, b, c])
        return len(arcs) - 2

    source, sink = ("s",), ("t",)
    for f in sorted(founders):
        add(source, ("in", f), capacity[f])
    certify = {}
    for d in sorted(capacity):
        certify[d] = add(("in", d), sink, 1)
        if capacity[d] > 1:
            add(("in", d), ("out", d), capacity[d] - 1)
    for u, w in edges:
        if u in capacity and w in capacity:
            add(("out", u), ("in", w), 1 + sum(capacity.values()))
    while True:  # a phase
        level: dict[Any, int] = {source: 0}
        queue = [source]
        for vertex in queue:  # breadth-first
            for e in lists.get(vertex, []):
                if arcs[e][2] > 0 and arcs[e][1] not in level:
                    level[arcs[e][1]] = level[vertex] + 1
                    queue.append(arcs[e][1])
        if sink not in level:
            return {d for d, e in certify.items() if arcs[e][2] == 0}
        cursor: dict[Any, int] = {}
        while True:  # a search
            path: list[int] = []
            x: Any = source
            while x != sink:
                own, c = lists.get(x, []), cursor.get(x, 0)
                while c < len(own) and not (
                    arcs[own[c]][2] > 0 and level.get(arcs[own[c]][1], -1) == level[x] + 1
                ):
                    c += 1
                cursor[x] = c
                if c < len(own):
                    path.append(own[c])
                    x = arcs[own[c]][1]
                elif x == source:
                    break
                else:
                    level[x] = -1
                    x = arcs[path.pop()][0]
                    cursor[x] += 1
            if x != sink:
                break
            delta = min(arcs[e][2] for e in path)
            for e in path:
                arcs[e][2] -= delta
                arcs[e ^ 1][2] += delta


def _spec_membership(
    charter: guilds.Charter,
    applications: list[guilds.Application],
    vouches: list[trust.Vouch],
    now: int,
    revoked: set[str],
) -> dict[str, int]:
    k = charter.vouches_required
    if not 1 <= k <= len({*charter.founders, charter.author}):
        return {}
    latest: dict[str, guilds.Application] = {}
    for a in applications:
        later = a.author not in latest or a.seq > latest[a.author].seq
        if a.guild == charter.id and a.created_at <= now and later:
            latest[a.author] = a
    stands = {d: a.created_at for d, a in latest.items() if a.kind == "apply"}
    founders = {d for d in charter.founders if d in stands}
    if charter.author not in latest or latest[charter.author].kind == "apply":
        founders.add(charter.author)
    applicants = {d: t for d, t in stands.items() if d not in founders}

    def active(v: trust.Vouch) -> bool:
        end = v.created_at + 365 * 86_400
        end = end if v.expires_at is None else min(end, v.expires_at)
        return v.id not in revoked and v.subject != v.author and v.created_at <= now < end

    admission = [v for v in vouches if v.context == f"guild:{charter.id}" and active(v)]
    members = {f: charter.created_at for f in founders}
    history = [members]
    for _ in range(len(applicants) + 2):
        counted = [
            v
            for v in admission
            if v.author in members
            and (
                v.author in founders
                or v.created_at >= members[v.author] + 86_400 * charter.cooling_days
            )
        ]
        first: dict[str, dict[str, int]] = {}  # applicant → voucher → its earliest vouch
        for v in counted:
            if v.subject in applicants:
                times = first.setdefault(v.subject, {})
                times[v.author] = min(times.get(v.author, v.created_at), v.created_at)
        eligible = {a for a, times in first.items() if len(times) >= k}
        nodes = founders | set(members) | eligible
        edges = sorted({(v.author, v.subject) for v in counted if v.subject in nodes})
        distance = dict.fromkeys(founders, 0)
        for _ in nodes:  # shortest paths by relaxation: no order involved
            for u, w in edges:
                if u in distance and distance[u] + 1 < distance.get(w, len(nodes) + 1):
                    distance[w] = distance[u] + 1
        capacity = {d: max(1, 64 // 4**n) for d, n in distance.items()}
        certified = _spec_certify(founders, edges, capacity)
        found = {f: charter.created_at for f in founders}
        for applicant, times in first.items():
            if len(times) >= k and applicant in certified:
                found[applicant] = max(applicants[applicant], sorted(times.values())[k - 1])
        if found == members:
            break
        if found in history:  # a cycle: keep who is in every state of it
            cycle = history[history.index(found) :]
            keep = set.intersection(*(set(state) for state in cycle))
            members = {d: max(state[d] for state in cycle) for d in keep}
            break
        history.append(found)
        members = found
    return members


def _random_guild(rng: random.Random) -> GuildCase:
    """A small guild with everything §12.1 reads, or (every other one) a layered guild whose
    members compete for admission flow."""
    day = guilds.DAY
    if rng.random() < 0.5:
        names = [f"D{rng.randrange(10**4):04d}{i}" for i in range(rng.randint(3, 12))]
        founders = names[: rng.randint(1, 3)]
        charter = guilds.Charter(
            "g", names[0], "G", "P", tuple(founders), rng.randint(0, 4), 0, rng.choice([0, 1, 7])
        )
        seqs: dict[str, int] = {}
        applications = []
        for i in range(rng.randint(0, 2 * len(names))):
            author = rng.choice(names)
            seqs[author] = seqs.get(author, 0) + 1
            kind = rng.choice(["apply", "apply", "leave"])
            guild = rng.choice(["g", "g", "g", "h"])
            at = rng.randint(0, 20) * day // 2
            applications.append(guilds.Application(f"a{i}", author, guild, kind, seqs[author], at))
        vouches = [
            trust.Vouch(
                f"v{i:04d}",
                rng.choice(names),
                rng.choice(names),
                3,
                rng.randint(0, 20) * day // 2,
                rng.choice(["guild:g"] * 5 + [None, "guild:h"]),
                rng.choice([None, None, rng.randint(0, 30) * day // 2]),
            )
            for i in range(rng.randint(0, 5 * len(names)))
        ]
        revoked = {v.id for v in vouches if rng.random() < 0.1}
        return charter, applications, vouches, rng.randint(0, 25) * day // 2, revoked
    # Founders, then layers at distance 1, 2 and 3: few at 2 (each passes on 3), many at 3.
    sizes = [2, rng.randint(1, 4), rng.randint(1, 3), rng.randint(4, 15), rng.randint(0, 3)]
    names = [f"N{rng.randrange(10**4):04d}{i}" for i in range(sum(sizes))]
    k = rng.choice([1, 2])
    charter = guilds.Charter("g", names[0], "G", "P", tuple(names[:2]), k, 0, 0)
    applications = [guilds.Application(f"a{d}", d, "g", "apply", 1, 0) for d in names]
    pairs: list[tuple[str, str]] = []
    layers, rest = [], names
    for size in sizes:
        layers.append(rest[:size])
        rest = rest[size:]
    for upper, lower in itertools.pairwise(layers):
        for d in lower:
            pairs += [(u, d) for u in rng.sample(upper, min(len(upper), rng.randint(1, 3)))]
    for _ in range(rng.randint(0, len(names))):  # and some vouches across the layers
        voucher, subject = rng.sample(names, 2)
        pairs.append((voucher, subject))
    rng.shuffle(pairs)
    vouches = [trust.Vouch(f"v{i:04d}", u, w, 3, 0, "guild:g") for i, (u, w) in enumerate(pairs)]
    return charter, applications, vouches, day, set()


def test_section_12_1_as_written_gives_the_members_the_code_gives() -> None:
    rng = random.Random(12)
    for _ in range(400):
        charter, applications, vouches, now, revoked = _random_guild(rng)
        found = guilds.membership(charter, applications, vouches, now=now, revoked=revoked)
        assert _spec_membership(charter, applications, vouches, now, revoked) == found.members


def test_the_examples_follow_section_12_1_as_written() -> None:
    for text in GUILD_EXAMPLES:
        case, expected = _parse_guild_example(text)
        assert _spec_membership(*case) == expected


# --- SPEC §12.3 and §12.4: contracts, feedback, receipts -------------------------------------


def _transition_rows() -> set[tuple[str | None, str, str]]:
    """(from, event, to) of the transition table of SPEC §12.3."""
    rows = set()
    for line in _chapter("12.3").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 5 and cells[1].startswith("`"):
            before = None if cells[0] == "(none)" else cells[0].strip("`")
            rows.add((before, cells[1].strip("`"), cells[2].strip("`")))
    return rows


def test_section_12_3_states_the_transition_table_of_the_code() -> None:
    table = {(before, event, after) for (before, event), after in contracts.TRANSITIONS.items()}
    assert _transition_rows() == table
    assert len(_transition_rows()) == len(contracts.TRANSITIONS)
    for state in contracts.STATES:
        assert f"`{state}`" in _chapter("12.3"), state


def test_the_constants_of_sections_12_3_and_12_4_are_the_codes() -> None:
    assert _constants("12.3") == {
        "MAX_CONTRACT_DAYS": contracts.MAX_CONTRACT_DAYS,
        "DEFAULT_RESPOND_DAYS": contracts.DEFAULT_RESPOND_DAYS,
        "AUTO_APPROVE_DAYS": contracts.AUTO_APPROVE_DAYS,
        "PAY_ON_TIME_DAYS": contracts.PAY_ON_TIME_DAYS,
        "DAY": contracts.DAY,
    }
    assert _constants("12.4") == {
        "REVEAL_AFTER_DAYS": feedback.REVEAL_AFTER_DAYS,
        "DAY": feedback.DAY,
    }


def _story() -> dict[str, dict[str, Any]]:
    """The valid records of the contract story, by vector name (SPEC §12.3)."""
    kinds = {*SEALED_KINDS, "commit", "feedback", "receipt"}
    return {v["name"]: v for v in VECTORS["valid"] if v["record"]["kind"] in kinds}


def _events(reader: str) -> list[contracts.Event]:
    """What `reader` opens of the story's sealed records."""
    identity = Identity(SEEDS[reader])
    found = []
    for vector in _story().values():
        record = vector["record"]
        if record["kind"] not in SEALED_KINDS:
            continue
        try:
            inner = open_sealed(identity, record["author"], record["kind"], record["body"])
        except ProtocolError:
            continue
        expires = record.get("expires")
        found.append(
            contracts.Event(
                vector["id"],
                record["kind"],
                record["author"],
                parse_timestamp(record["created"]),
                parse_timestamp(expires) if expires else None,
                inner,
            )
        )
    return found


def test_the_contract_story_derives_as_section_12_3_says() -> None:
    story = _story()
    threads = {
        "offer": ("alice", "completed", "on_time"),
        "offer_to_bob": ("bob", "declined", "none_due"),
        "offer_to_carol": ("carol", "cancelled", "none_due"),
    }
    by_party: dict[str, dict[str, contracts.Contract]] = {}
    for reader in ("acme", "alice", "bob", "carol"):
        by_party[reader] = contracts.derive(_events(reader), briefs={}, now=NOW)
    for name, (freelancer, state, payment) in threads.items():
        contract_id = story[name]["id"]
        mine = by_party["acme"][contract_id]
        theirs = by_party[freelancer][contract_id]
        assert (mine.state, mine.payment) == (state, payment), name
        assert theirs == mine  # both parties derive the same contract
        assert all(entry.effect for entry in mine.timeline), mine.timeline
    assert set(by_party["alice"]) == {story["offer"]["id"]}  # a party sees its contracts only


def test_the_feedback_story_counts_as_section_12_4_says() -> None:
    story = [v for v in _story().values() if v["record"]["kind"] != "offer"]
    offer = _story()["offer"]
    parties = {offer["id"]: frozenset(k["to"] for k in offer["record"]["body"]["keys"])}

    def rows(kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(v["id"], v["record"]) for v in story if v["record"]["kind"] == kind]

    commits = [feedback.Commit.from_record(*row) for row in rows("commit")]
    reveals = [feedback.Reveal.from_record(*row) for row in rows("feedback")]
    receipts = [feedback.Receipt.from_record(*row) for row in rows("receipt")]
    assert feedback.paired(receipts, parties) == parties  # both parties' receipts are held
    assert feedback.paired(receipts, {}) == {}  # receipts on a contract of unknown parties
    assert feedback.counting(commits, reveals, {}) == []  # feedback needs paired receipts
    counted = feedback.counting(commits, reveals, feedback.paired(receipts, parties))
    assert {c.id for c in counted} == {r.id for r in reveals}
    vouches = feedback.as_vouches(counted)
    assert {(v.author, v.subject, v.level, v.context) for v in vouches} == {
        (r.author, r.body["subject"], 3, r.body["skills"][0] if "skills" in r.body else None)
        for r in reveals
    }
    assert feedback.completed(receipts, parties) == {offer["id"]: parties[offer["id"]]}
    organisation = offer["record"]["author"]
    assert feedback.payment_record(receipts, parties)[organisation]["on_time"] == 1


def _phase_rows() -> dict[int, str]:
    """phase → its records, from the phase table of SPEC §12.3."""
    rows = {}
    for line in _chapter("12.3").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 2 and cells[0].isdigit():
            rows[int(cells[0])] = cells[1]
    return rows


def test_section_12_3_states_the_phases_of_the_code() -> None:
    def event(kind: str, **body: Any) -> contracts.Event:
        return contracts.Event("0" * 64, kind, "did:key:z", 0, None, body)

    cases = {  # a record of each row of the table, by the words of its row
        "`proposal`": [event("proposal")],
        "a first offer": [event("offer")],
        "a counter-offer": [event("offer", answers="0" * 64)],
        "`accept`, `decline`": [event("accept"), event("decline")],
        "`milestone` with `action` `submitted`": [event("milestone", action="submitted")],
        "`milestone` with `action` `approved`": [event("milestone", action="approved")],
        "`payment` with `action` `paid`": [event("payment", action="paid")],
        "`payment` with `action` `received`": [event("payment", action="received")],
        "`complete`, `cancel`": [event("complete"), event("cancel")],
        "any other": [event("commit")],
    }
    rows = _phase_rows()
    assert len(rows) == len(cases)
    for words, events in cases.items():
        phase = next(p for p, text in rows.items() if text.startswith(words))
        assert {_phase(e) for e in events} == {phase}, words
    assert "(`created`, phase, record id)" in _chapter("12.3")
