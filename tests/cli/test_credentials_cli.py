"""`guildnode export-credentials` on a data directory, and `guildnode verify-credentials` on
the file and on a copy broken in each way SPEC §18.6 names, one test per code: each exits 1
with the code and a sentence, and names the credential that failed."""

from __future__ import annotations

import copy
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from guildnode.cli import main
from guildnode.datadir import DataDir
from guildnode.node import Node
from guildnode.protocol import Identity, sign_record
from guildnode.protocol.credentials import MEMBERSHIP, VOUCH, credential, presentation
from guildnode.protocol.dataintegrity import CREDENTIAL_CODES, add_proof

Broken = Callable[[dict[str, Any], Identity], None]


def run(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data", str(data), *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Identity, Identity]:
    """A member vouched for twice by Ola (one vouch with a statement), exported with the CLI
    from the data directory. The file, the member's key and Ola's key."""
    base = tmp_path_factory.mktemp("credentials")
    data = base / "member"
    assert run(data, "init", "--name", "Mia")[0] == 0
    datadir = DataDir(data)
    member = datadir.load_identity()
    ola = Identity(b"\x07" * 32)
    now = int(time.time())
    first = sign_record(ola, kind="vouch", body={"subject": member.did, "level": 2},
                        seq=1, prev=None, created_at=now - 60)  # fmt: skip
    second = sign_record(ola, kind="vouch", body={"subject": member.did, "level": 3,
                         "context": "rust", "statement": "Fine work"},
                         seq=2, prev=first.id, created_at=now - 50)  # fmt: skip
    datadir.acquire()
    node = Node(datadir)
    try:
        assert {r.status for r in node.ingest([first.to_wire(), second.to_wire()])} == {"accepted"}
    finally:
        node.close()
        datadir.release()
    out = base / "credentials.json"
    code, text = run(data, "export-credentials", "--out", str(out), "--json")
    assert code == 0, text
    assert json.loads(text)["vouches"] == 2
    return out, member, ola


def test_the_export_verifies(exported: tuple[Path, Identity, Identity], tmp_path: Path) -> None:
    out, member, ola = exported
    code, text = run(tmp_path, "verify-credentials", str(out))
    assert code == 0, text
    assert "All credentials verify." in text and text.count("  ok    ") == 2
    code, text = run(tmp_path, "verify-credentials", str(out), "--json")
    report = json.loads(text)
    assert code == 0 and report["ok"] and report["holder"] == member.did
    file = json.loads(out.read_text())
    assert {c["credentialSubject"]["vouchedBy"] for c in file["verifiableCredential"]} == {ola.did}


def test_export_without_out_prints_the_file(
    exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    out, member, _ = exported
    code, text = run(out.parent / "member", "export-credentials")
    assert code == 0
    printed = json.loads(text)
    assert printed["holder"] == member.did and printed["type"] == ["VerifiablePresentation"]
    assert len(printed["verifiableCredential"]) == 2


def _resign(item: dict[str, Any], key: Identity) -> None:
    """Secure `item` again with `key` (as someone who holds it could)."""
    item.update(add_proof(item, key, item["proof"]["created"]))


def _tamper_level(item: dict[str, Any], key: Identity) -> None:
    item["credentialSubject"]["level"] = 1


def _other_key(item: dict[str, Any], key: Identity) -> None:
    _resign(item, Identity(b"\x09" * 32))


def _other_suite(item: dict[str, Any], key: Identity) -> None:
    item["proof"]["cryptosuite"] = "eddsa-rdfc-2022"


def _no_proof(item: dict[str, Any], key: Identity) -> None:
    del item["proof"]


def _bad_proof_value(item: dict[str, Any], key: Identity) -> None:
    item["proof"]["proofValue"] = "u" + item["proof"]["proofValue"][1:]


def _no_issuer(item: dict[str, Any], key: Identity) -> None:
    del item["issuer"]


def _record_changed(item: dict[str, Any], key: Identity) -> None:
    item["evidence"][0]["record"]["body"]["level"] = 1
    _resign(item, key)  # the member's own proof is fine: the voucher's signature is not


def _record_invalid(item: dict[str, Any], key: Identity) -> None:
    item["evidence"][0]["record"]["v"] = 2
    _resign(item, key)


def _claims_inflated(item: dict[str, Any], key: Identity) -> None:
    item["credentialSubject"]["level"] = 3
    item["credentialSubject"]["statement"] = "The best"
    _resign(item, key)  # signed by the member, but the voucher never said it


CASES: dict[str, Broken] = {
    "bad_proof": _tamper_level,
    "wrong_key": _other_key,
    "unknown_cryptosuite": _other_suite,
    "missing_proof": _no_proof,
    "malformed_proof": _bad_proof_value,
    "malformed_credential": _no_issuer,
    "record_signature_bad": _record_changed,
    "invalid_record": _record_invalid,
    "evidence_mismatch": _claims_inflated,
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_broken_credential_fails_with_its_code(
    code: str, exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    out, member, _ = exported
    file = json.loads(out.read_text())
    broken = copy.deepcopy(file)
    plain = next(
        c for c in broken["verifiableCredential"] if "context" not in c["credentialSubject"]
    )
    CASES[code](plain, member)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1
    assert f"error: {code}: " in text and "FAIL" in text and text.count("  ok    ") == 1
    status, text = run(tmp_path, "verify-credentials", str(path), "--json")
    report = json.loads(text)
    assert status == 1 and not report["ok"]
    failed = [c for c in report["credentials"] if not c["ok"]]
    assert [c["error"]["code"] for c in failed] == [code]
    assert failed[0]["error"]["detail"].endswith(".")
    assert failed[0]["index"] == broken["verifiableCredential"].index(plain)


def test_an_expired_vouch_credential_fails(
    exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    _, member, ola = exported
    year = 365 * 86_400
    old = sign_record(ola, kind="vouch", body={"subject": member.did, "level": 2},
                      seq=9, prev="ab" * 32, created_at=int(time.time()) - 2 * year)  # fmt: skip
    path = tmp_path / "old.json"
    stale = credential(VOUCH, member, [old], int(time.time()) - year - 1)
    path.write_text(json.dumps(presentation(member.did, [stale])))
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1 and "error: credential_expired: " in text


def test_a_context_appended_after_the_vc_context_is_malformed(
    exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    """SPEC §18.3: the VC context alone. The proof's @context stands in for the document's
    when verifying (§18.2), so an appended entry leaves the proof intact: the shape refuses it."""
    out, _, _ = exported
    file = json.loads(out.read_text())
    item = file["verifiableCredential"][0]
    item["@context"] = [*item["@context"], "https://example.org/other-terms"]
    path = tmp_path / "context.json"
    path.write_text(json.dumps(file))
    status, text = run(tmp_path, "verify-credentials", str(path), "--json")
    report = json.loads(text)
    assert status == 1 and not report["ok"]
    assert [c["error"]["code"] if c["error"] else None for c in report["credentials"]] == [
        "malformed_credential",
        None,
    ]
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1 and "error: malformed_credential: The @context is not" in text


def test_a_claim_equal_only_as_a_python_value_is_a_mismatch(
    exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    """A level-1 vouch presented as `"level": true` and re-signed by the member: Python holds
    `True == 1`, JSON does not, and the claims are compared as JSON."""
    _, member, ola = exported
    now = int(time.time())
    vouch = sign_record(ola, kind="vouch", body={"subject": member.did, "level": 1},
                        seq=9, prev="ab" * 32, created_at=now - 60)  # fmt: skip
    item = credential(VOUCH, member, [vouch], now)
    item["credentialSubject"]["level"] = True
    _resign(item, member)
    path = tmp_path / "bool.json"
    path.write_text(json.dumps(presentation(member.did, [item])))
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1
    assert "error: evidence_mismatch: The credentialSubject is not what the embedded" in text


def _longer_life(item: dict[str, Any], key: Identity) -> None:
    item["validUntil"] = "2099-01-01T00:00:00Z"
    _resign(item, key)  # the member would keep the vouch alive past its 365 days


def _other_id(item: dict[str, Any], key: Identity) -> None:
    item["id"] = "urn:guildnode:credential:" + "0" * 64
    _resign(item, key)


@pytest.mark.parametrize(
    ("broken", "sentence"),
    [
        (_longer_life, "The validity period is not the vouch's."),
        (_other_id, "The credential's id is not the one its type, issuer and evidence give."),
    ],
)
def test_a_validity_or_an_id_the_evidence_does_not_give_is_a_mismatch(
    broken: Broken, sentence: str, exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    """SPEC §18.3: a vouch credential's period and every credential's id are recomputed
    from the evidence, like the claims; a member's own proof over others does not help."""
    out, member, _ = exported
    file = json.loads(out.read_text())
    broken(file["verifiableCredential"][0], member)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(file))
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1 and f"error: evidence_mismatch: {sentence}" in text
    assert text.count("  ok    ") == 1


def test_a_membership_credential_with_a_validuntil_is_a_mismatch(
    exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    """SPEC §18.3: a membership or contract credential says what held at the export and has
    no validUntil; one the member adds and re-signs ("member until 2099") claims more."""
    _, member, _ = exported
    now = int(time.time())
    charter = sign_record(member, kind="guild", body={"name": "Rustaceans", "purpose": "Rust",
                          "founders": [member.did],
                          "admission": {"vouches_required": 1, "cooling_days": 0}},
                          seq=1, prev=None, created_at=now - 60)  # fmt: skip
    item = credential(MEMBERSHIP, member, [charter], now)
    path = tmp_path / "member.json"
    path.write_text(json.dumps(presentation(member.did, [item])))
    assert run(tmp_path, "verify-credentials", str(path))[0] == 0
    item["validUntil"] = "2099-01-01T00:00:00Z"
    _resign(item, member)
    path.write_text(json.dumps(presentation(member.did, [item])))
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1
    assert "error: evidence_mismatch: A membership or contract credential has no validUntil" in text


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", "malformed_json"),
        (
            b'{"type": ["VerifiablePresentation"], "verifiableCredential": [], "n": 1.5}',
            "malformed_json",
        ),
        (b"[]", "malformed_presentation"),
        (
            b'{"type": ["VerifiablePresentation"], "verifiableCredential": {}}',
            "malformed_presentation",
        ),
    ],
)
def test_an_unusable_file_fails_with_its_code(content: bytes, code: str, tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_bytes(content)
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1 and f"error: {code}: " in text
    status, text = run(tmp_path, "verify-credentials", str(path), "--json")
    assert status == 1 and json.loads(text)["error"]["code"] == code


def test_every_code_has_a_test_here() -> None:
    covered = {*CASES, "credential_expired", "malformed_json", "malformed_presentation"}
    assert covered == set(CREDENTIAL_CODES)


def test_after_a_rotation_the_export_carries_the_links(
    exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    out, member, _ = exported
    data = tmp_path / "member"
    shutil.copytree(out.parent / "member", data)
    code, text = run(data, "identity", "rotate", "--json")
    assert code == 0, text
    new = json.loads(text)["new"]
    again = tmp_path / "again.json"
    assert run(data, "export-credentials", "--out", str(again))[0] == 0
    file = json.loads(again.read_text())
    assert file["holder"] == new and len(file["verifiableCredential"]) == 2
    for item in file["verifiableCredential"]:
        assert item["issuer"] == new
        assert item["credentialSubject"]["keys"] == [member.did, new]
        kinds = [e["record"]["kind"] for e in item["evidence"]]
        assert kinds == ["vouch", "rotate", "succeed"]
    code, text = run(tmp_path, "verify-credentials", str(again))
    assert code == 0 and "All credentials verify." in text


def test_an_error_quoting_the_file_reaches_the_terminal_without_control_characters(
    exported: tuple[Path, Identity, Identity], tmp_path: Path
) -> None:
    """A key of the file is quoted in the error; a carriage return or backspaces in it must
    not overwrite what the terminal shows (control characters are dropped, as from every
    text; Click itself strips only ANSI escape sequences, and only off a terminal)."""
    out, _, _ = exported
    document = json.loads(out.read_text())
    document["verifiableCredential"][0]["\rall fine\x08\x08"] = 1
    path = tmp_path / "escaped.json"
    path.write_text(json.dumps(document))
    status, text = run(tmp_path, "verify-credentials", str(path))
    assert status == 1
    assert "malformed_credential" in text and "all fine" in text
    assert "\r" not in text and "\x08" not in text
