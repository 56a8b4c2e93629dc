"""protocol/ agrees with itself and with guildnode.protocol: files, vectors, schemas, SPEC.

The vectors in protocol/vectors/records.json are judged here the way a receiver judges a record
(SPEC §3.5 then §7), so any implementation that passes the same vectors decides as this one does.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import itertools
import json
import re
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from guildnode.api.errors import HTTP_CODES
from guildnode.api.guard import ADDRESS_RATE, AUTHOR_RATE, GLOBAL_RATE, SENDER_RATE
from guildnode.federation import MAX_BACKOFF, PAGE, PLANNING_PASSES
from guildnode.node import GUEST_AUTHORS, GUEST_RECORDS_PER_AUTHOR
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
    parse_json,
    parse_timestamp,
    place,
    public_key_from_did,
    validate_body,
    verify_record,
)
from guildnode.protocol.httpsig import CLOCK_SKEW, MAX_LIFETIME, SIGNATURE_CODES
from guildnode.scope import MAX_VOUCH_LIFE

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


# What the code relies on each section to be about: guildnode/protocol/httpsig.py cites §9.6,
# scope.py and node.py §9.7, api/guard.py and limits.py §9.8, api/errors.py §10.2.
TOPICS = {
    "9.5": "`POST /inbox`",
    "9.6": "HTTP Message Signatures",
    "9.7": "Replication scope",
    "9.8": "Limits and abuse",
    "9.9": "Sync behaviour",
    "9.10": "`GET /records/{id}`",
    "9.11": "Local API",
    "10.1": "Protocol codes",
    "10.2": "HTTP-level codes",
}


@pytest.mark.parametrize(("section", "topic"), sorted(TOPICS.items()))
def test_sections_the_code_relies_on_are_about_their_topic(section: str, topic: str) -> None:
    heading = re.search(rf"^#{{2,3}} §{re.escape(section)} (.*)$", SPEC, re.MULTILINE)
    assert heading and topic in heading.group(1), (section, heading and heading.group(1))


def test_every_section_cited_inside_the_spec_exists() -> None:
    # "§N.N" of this document; "RFC 9421 §2.5" and the like are other documents.
    for section in re.findall(r"(?<!RFC \d{4} )§(\d+(?:\.\d+)*)", SPEC):
        assert section in HEADINGS, f"SPEC.md cites §{section}, which it does not have"


def test_the_sections_are_numbered_in_order() -> None:
    numbers = re.findall(r"^#{2,3} §(\d+(?:\.\d+)*) ", SPEC, re.MULTILINE)
    keys = [tuple(int(part) for part in number.split(".")) for number in numbers]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    for parent, child in itertools.pairwise(keys):
        if len(child) == 2 and len(parent) == 2 and parent[0] == child[0]:
            assert child[1] == parent[1] + 1, (parent, child)


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
