"""HTTP Message Signatures between nodes (SPEC §9.6): RFC 9421's own example, round trips,
and every refusal code from a crafted request, with nothing recorded in the replay cache."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import urlsplit

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from guildnode.protocol.httpsig import (
    SIGNATURE_CODES,
    ReplayCache,
    SignatureError,
    _component_values,
    _lower_headers,
    _parse_signature,
    _signature_base,
    content_digest,
    sign_request,
    verify_request,
)
from guildnode.protocol.keys import Identity, did_from_public_key

A = Identity(bytes([1]) * 32)
B = Identity(bytes([2]) * 32)
NOW = 1_700_000_000
URL = "https://node-b.example/inbox"
BODY = b'{"records":[]}'
JSON = {"content-type": "application/json"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signed(
    identity: Identity = A,
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    now: int = NOW,
    **options: Any,
) -> dict[str, str]:
    """The headers a node sends, built by `sign_request`."""
    return JSON | sign_request(
        identity, method=method, url=url, headers=JSON, body=body, now=now, **options
    )


def verify(
    headers: Any,
    *,
    method: str = "POST",
    target_uri: str = URL,
    body: bytes = BODY,
    now: int = NOW,
    replay: ReplayCache | None = None,
) -> str:
    return verify_request(
        method=method,
        target_uri=target_uri,
        headers=headers,
        body=body,
        now=now,
        replay=ReplayCache() if replay is None else replay,
    )


def refused(code: str, headers: Any, **kwargs: Any) -> SignatureError:
    """Verification fails with `code`, and the replay cache stays empty."""
    cache = ReplayCache()
    with pytest.raises(SignatureError) as caught:
        verify(headers, replay=cache, **kwargs)
    assert caught.value.code == code, caught.value.detail
    assert len(cache) == 0
    return caught.value


def params(
    *,
    created: str | None = str(NOW),
    expires: str | None = str(NOW + 60),
    keyid: str | None = f'"{A.did}"',
    alg: str | None = '"ed25519"',
    extra: str = "",
) -> str:
    """Signature parameters written by hand, as another implementation might."""
    pairs = [("created", created), ("expires", expires), ("keyid", keyid), ("alg", alg)]
    return "".join(f";{name}={value}" for name, value in pairs if value is not None) + extra


def crafted(
    *,
    identity: Identity = A,
    components: tuple[str, ...] = ("@method", "@target-uri", "content-digest"),
    signature_params: str | None = None,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    digest: str | None = None,
    extra_headers: dict[str, str] | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """A request signed by an independent, minimal RFC 9421 signer written for these tests."""
    fields = {"content-digest": content_digest(body) if digest is None else digest}
    fields |= {k.lower(): v for k, v in (extra_headers or {}).items()}
    values = {"@method": method, "@target-uri": url, "@authority": urlsplit(url).netloc} | fields
    inner = "(" + " ".join(f'"{c}"' for c in components) + ")"
    inner += params() if signature_params is None else signature_params
    base = [f'"{c}": {values[c]}' for c in components] + [f'"@signature-params": {inner}']
    signature = identity.sign("\n".join(base).encode("ascii"))
    return (
        {"Content-Digest": fields["content-digest"]}
        | (extra_headers or {})
        | {"Signature-Input": f"{label}={inner}", "Signature": f"{label}=:{b64(signature)}:"}
    )


# --- RFC 9421 Appendix B.2.6 and RFC 9530 §2: public known answers ---------------------

# RFC 9421 B.1.4 test-key-ed25519 (a published test key, not a secret), as JWK "d" and "x".
RFC_D = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
RFC_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
RFC_SIGNATURE_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
RFC_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1"
    "u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
)
RFC_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"'
)
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7"
    "BNNyealdVLvRwEmTHWXvJwew==:",
    "Content-Length": "18",
}
RFC_BODY = b'{"hello": "world"}'


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_rfc9421_b26_signature_base_and_ed25519_signature() -> None:
    rfc_key = Identity(_b64url(RFC_D))
    assert rfc_key.public_key == _b64url(RFC_X)
    parsed = _parse_signature(RFC_SIGNATURE_INPUT, RFC_SIGNATURE)
    values = _component_values(
        parsed.components,
        "POST",
        "https://example.com/foo?param=Value&Pet=dog",
        _lower_headers(RFC_HEADERS),
    )
    base = _signature_base([(n, v) for n, v in values if v is not None], parsed.params)
    assert base == RFC_BASE.encode("ascii")
    # Ed25519 is deterministic: our key signs the RFC's base to the RFC's exact signature.
    assert rfc_key.sign(base) == parsed.signature
    assert parsed.keyid == "test-key-ed25519"


def test_rfc9421_b26_request_is_below_the_guildnode_profile() -> None:
    """The RFC's example covers neither @target-uri nor content-digest, and never expires."""
    error = refused(
        "signature_incomplete",
        RFC_HEADERS | {"Signature-Input": RFC_SIGNATURE_INPUT, "Signature": RFC_SIGNATURE},
        target_uri="https://example.com/foo?param=Value&Pet=dog",
        body=RFC_BODY,
        now=1618884473,
    )
    assert "@target-uri" in error.detail and "content-digest" in error.detail


def test_content_digest_rfc9530_example() -> None:
    assert content_digest(RFC_BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert RFC_HEADERS["Content-Digest"] == (f"sha-512=:{b64(hashlib.sha512(RFC_BODY).digest())}:")


# --- signing and round trips ---------------------------------------------------------


def test_sign_request_writes_the_profile() -> None:
    headers = sign_request(A, method="post", url=URL, headers=JSON, body=BODY, now=NOW)
    assert set(headers) == {"Content-Digest", "Signature-Input", "Signature"}
    assert headers["Content-Digest"] == content_digest(BODY)
    assert headers["Signature-Input"] == (
        f'gn=("@method" "@target-uri" "content-digest");created={NOW};expires={NOW + 60}'
        f';keyid="{A.did}";alg="ed25519"'
    )
    signature = headers["Signature"]
    assert signature.startswith("gn=:") and len(base64.b64decode(signature[4:-1])) == 64


def test_round_trip_post_with_body() -> None:
    cache = ReplayCache()
    assert verify(signed(), replay=cache) == A.did
    assert len(cache) == 1


def test_round_trip_get_without_body_needs_no_digest() -> None:
    url = "https://node-b.example/sync/heads?after=3"
    headers = signed(method="GET", url=url, body=b"")
    assert "Content-Digest" not in headers
    assert "content-digest" not in headers["Signature-Input"]
    assert verify(headers, method="GET", target_uri=url, body=b"") == A.did


def test_round_trip_options() -> None:
    headers = signed(B, lifetime=300, label="node-sig")
    assert headers["Signature-Input"].startswith("node-sig=(")
    assert verify(headers, now=NOW + 299) == B.did


def test_independent_signer_interoperates() -> None:
    """Any label, extra parameters, extra covered headers, sha-512, no alg: all accepted."""
    digest = f"sha-512=:{b64(hashlib.sha512(BODY).digest())}:"
    headers = crafted(
        components=("content-type", "@target-uri", "content-digest", "@method", "@authority"),
        signature_params=params(alg=None, extra=';nonce="abc";tag="guildnode"'),
        digest=digest,
        extra_headers={"Content-Type": "application/json"},
        label="anything",
    )
    assert verify(headers) == A.did


def test_signature_params_are_reserialised_not_copied() -> None:
    """Whitespace a relay may change inside Signature-Input does not change the base."""
    respaced = f'sig1=(  "@method"   "@target-uri" "content-digest" );  created={NOW}'
    respaced += f';expires={NOW + 60};keyid="{A.did}";alg="ed25519"'
    assert verify(GOOD | {"Signature-Input": respaced}) == A.did


def test_header_names_any_case_and_repeated_lines_are_joined() -> None:
    both = f"{content_digest(BODY)}, sha-512=:{b64(hashlib.sha512(BODY).digest())}:"
    headers = crafted(digest=both)
    raw = [
        (b"SIGNATURE-input", headers["Signature-Input"].encode()),
        (b"Signature", headers["Signature"].encode()),
        *((b"Content-Digest", part.encode()) for part in both.split(", ")),
    ]
    # Starlette's Headers yields each field line; the two Content-Digest lines are joined.
    assert verify(Headers(raw=raw)) == A.did


# --- every refusal, in the order verify_request checks -------------------------------


def _drop(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != name}


def _replace(headers: dict[str, str], name: str, value: str) -> dict[str, str]:
    return _drop(headers, name.lower()) | {name: value}


GOOD = crafted()
X25519_DID = "did:key:z" + base58.b58encode(b"\xec\x01" + bytes(32)).decode()
SIG = GOOD["Signature"].split("=", 1)[1]
INPUT = GOOD["Signature-Input"].split("=", 1)[1]
COMPONENTS = '("@method" "@target-uri" "content-digest")'


def _with_input(inner: str) -> dict[str, str]:
    return _replace(GOOD, "Signature-Input", f"sig1={inner}")


def _with_signature(member: str) -> dict[str, str]:
    return _replace(GOOD, "Signature", member)


CASES: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
    # (test id, code, headers, verify_request overrides)
    ("no headers", "signature_missing", {}, {}),
    ("no Signature", "signature_missing", _drop(GOOD, "signature"), {}),
    ("no Signature-Input", "signature_missing", _drop(GOOD, "signature-input"), {}),
    ("empty Signature", "signature_missing", _with_signature("  "), {}),
    ("garbage Signature-Input", "signature_malformed", _with_input("(((not sf"), {}),
    ("garbage Signature", "signature_malformed", _with_signature("sig1=not base64!"), {}),
    ("non-ASCII", "signature_malformed", _with_signature("sig1=:é:"), {}),
    ("label mismatch", "signature_malformed", _with_signature(f"other={SIG}"), {}),
    (
        "two signatures",
        "signature_malformed",
        _with_signature(f"sig1={SIG}, sig2={SIG}")
        | {"Signature-Input": f"sig1={INPUT}, sig2={INPUT}"},
        {},
    ),
    ("input not a list", "signature_malformed", _with_input(SIG), {}),
    (
        "alg rsa-pss-sha512",
        "signature_malformed",
        _with_input(COMPONENTS + params(alg='"rsa-pss-sha512"')),
        {},
    ),
    ("alg as token", "signature_malformed", _with_input(COMPONENTS + params(alg="ed25519")), {}),
    (
        "created a string",
        "signature_malformed",
        _with_input(COMPONENTS + params(created=f'"{NOW}"')),
        {},
    ),
    (
        "created a decimal",
        "signature_malformed",
        _with_input(COMPONENTS + params(created=f"{NOW}.5")),
        {},
    ),
    (
        "expires a boolean",
        "signature_malformed",
        _with_input(COMPONENTS + params(expires="?1")),
        {},
    ),
    ("no keyid", "signature_malformed", _with_input(COMPONENTS + params(keyid=None)), {}),
    ("keyid a token", "signature_malformed", _with_input(COMPONENTS + params(keyid="abc")), {}),
    ("signature 63 bytes", "signature_malformed", _with_signature(f"sig1=:{b64(bytes(63))}:"), {}),
    ("signature a string", "signature_malformed", _with_signature(f'sig1="{SIG}"'), {}),
    ("signature with params", "signature_malformed", _with_signature(f"sig1={SIG};x=1"), {}),
    (
        "component params",
        "signature_malformed",
        _with_input('("@method" "@target-uri" "content-digest";sf)' + params()),
        {},
    ),
    (
        "component twice",
        "signature_malformed",
        _with_input('("@method" "@method" "@target-uri")' + params()),
        {},
    ),
    (
        "component a token",
        "signature_malformed",
        _with_input('("@method" "@target-uri" content-digest)' + params()),
        {},
    ),
    (
        "unknown derived",
        "signature_malformed",
        _with_input('("@method" "@target-uri" "@status")' + params()),
        {},
    ),
    (
        "upper-case header",
        "signature_malformed",
        _with_input('("@method" "@target-uri" "Content-Digest")' + params()),
        {},
    ),
    (
        "covered header absent",
        "signature_malformed",
        _with_input('("@method" "@target-uri" "x-absent")' + params()),
        {},
    ),
    (
        "no @target-uri",
        "signature_incomplete",
        crafted(components=("@method", "content-digest")),
        {},
    ),
    (
        "no @method",
        "signature_incomplete",
        crafted(components=("@target-uri", "content-digest")),
        {},
    ),
    (
        "body without digest",
        "signature_incomplete",
        crafted(components=("@method", "@target-uri")),
        {},
    ),
    ("nothing covered", "signature_incomplete", crafted(components=()), {}),
    ("no created", "signature_expired", crafted(signature_params=params(created=None)), {}),
    ("no expires", "signature_expired", crafted(signature_params=params(expires=None)), {}),
    (
        "lifetime 301",
        "signature_expired",
        crafted(signature_params=params(expires=str(NOW + 301))),
        {},
    ),
    (
        "expires before created",
        "signature_expired",
        crafted(signature_params=params(expires=str(NOW - 1))),
        {},
    ),
    ("expired", "signature_expired", GOOD, {"now": NOW + 60 + 61}),
    ("created in the future", "signature_expired", GOOD, {"now": NOW - 61}),
    ("body altered", "digest_mismatch", GOOD, {"body": BODY + b" "}),
    ("digest absent", "digest_mismatch", _drop(GOOD, "content-digest"), {}),
    ("digest garbage", "digest_mismatch", crafted(digest="sha-256=nope!"), {}),
    ("digest not bytes", "digest_mismatch", crafted(digest=f'sha-256="{b64(bytes(32))}"'), {}),
    (
        "digest md5 only",
        "digest_mismatch",
        crafted(digest=f"md5=:{b64(hashlib.md5(BODY).digest())}:"),
        {},
    ),
    (
        "one of two digests wrong",
        "digest_mismatch",
        crafted(digest=f"{content_digest(BODY)}, sha-512=:{b64(bytes(64))}:"),
        {},
    ),
    (
        "digest re-made for altered body",
        "signature_invalid",
        _replace(GOOD, "Content-Digest", content_digest(b"forged")),
        {"body": b"forged"},
    ),
    ("target differs", "signature_invalid", GOOD, {"target_uri": "https://other.example/inbox"}),
    ("path differs", "signature_invalid", GOOD, {"target_uri": URL + "?x=1"}),
    ("method differs", "signature_invalid", GOOD, {"method": "PUT"}),
    (
        "keyid not did:key",
        "signature_invalid",
        crafted(signature_params=params(keyid='"https://a.example/key"')),
        {},
    ),
    (
        "keyid not Ed25519",
        "signature_invalid",
        crafted(signature_params=params(keyid=f'"{X25519_DID}"')),
        {},
    ),
    (
        "signed by A, keyid B",
        "signature_invalid",
        crafted(signature_params=params(keyid=f'"{B.did}"')),
        {},
    ),
]


@pytest.mark.parametrize(
    ("code", "headers", "overrides"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_refusals(code: str, headers: dict[str, str], overrides: dict[str, Any]) -> None:
    error = refused(code, headers, **overrides)
    assert error.detail and error.as_dict() == {"code": code, "detail": error.detail}


def test_every_code_is_exercised() -> None:
    exercised = {code for _, code, _, _ in CASES} | {"signature_replayed", "server_busy"}
    assert exercised == set(SIGNATURE_CODES)


def test_window_boundaries_are_inclusive() -> None:
    assert verify(crafted(signature_params=params(expires=str(NOW + 300)))) == A.did
    assert verify(GOOD, now=NOW + 60 + 60) == A.did  # expires + skew
    assert verify(GOOD, now=NOW - 60) == A.did  # created - skew


def test_unknown_error_code_is_a_bug() -> None:
    with pytest.raises(ValueError):
        SignatureError("nope", "x")


# --- replay cache --------------------------------------------------------------------


def test_replay_is_refused() -> None:
    cache = ReplayCache()
    headers = signed()
    assert verify(headers, replay=cache) == A.did
    with pytest.raises(SignatureError) as caught:
        verify(headers, replay=cache, now=NOW + 30)
    assert caught.value.code == "signature_replayed"
    # The same signature bytes with the Signature-Input reformatted are the same signature.
    respaced = headers | {"Signature-Input": headers["Signature-Input"].replace('" "', '"  "')}
    with pytest.raises(SignatureError, match="signature_replayed"):
        verify(respaced, replay=cache)
    # A fresh signature of the same request is a new request.
    assert verify(signed(now=NOW + 1), replay=cache) == A.did
    assert len(cache) == 2


def test_same_request_same_second_is_a_replay_unless_it_has_a_nonce() -> None:
    """Ed25519 is deterministic, so a retry within the second needs a nonce to be new."""
    cache = ReplayCache()
    assert verify(signed(), replay=cache) == A.did
    with pytest.raises(SignatureError, match="signature_replayed"):
        verify(signed(), replay=cache)
    first, second = signed(nonce="n-1"), signed(nonce="n-2")
    assert ';nonce="n-1"' in first["Signature-Input"]
    assert verify(first, replay=cache) == verify(second, replay=cache) == A.did


def test_method_is_compared_as_received() -> None:
    """RFC 9421 §2.2.1: @method is not case-folded by the verifier."""
    headers = crafted(method="post")
    assert verify(headers, method="post") == A.did
    refused("signature_invalid", headers, method="POST")


def test_only_verified_signatures_are_recorded() -> None:
    cache = ReplayCache()
    with pytest.raises(SignatureError, match="signature_invalid"):
        verify(signed(), replay=cache, method="PUT")
    assert len(cache) == 0
    assert verify(signed(), replay=cache) == A.did


def test_full_cache_refuses_with_server_busy_until_entries_expire() -> None:
    cache = ReplayCache(capacity=2)
    assert verify(signed(now=NOW), replay=cache) == A.did
    assert verify(signed(B, now=NOW), replay=cache) == B.did
    with pytest.raises(SignatureError) as caught:
        verify(signed(now=NOW + 1), replay=cache)
    assert caught.value.code == "server_busy" and len(cache) == 2
    later = NOW + 60 + 61  # both entries are past expires + skew
    assert verify(signed(now=later), replay=cache, now=later) == A.did
    assert len(cache) == 1


def test_per_key_cap_refuses_only_that_key() -> None:
    cache = ReplayCache(per_key=1)
    assert verify(signed(now=NOW), replay=cache) == A.did
    with pytest.raises(SignatureError, match="server_busy"):
        verify(signed(now=NOW + 1), replay=cache)
    assert verify(signed(B), replay=cache) == B.did


def test_cache_memory_is_bounded_by_time() -> None:
    cache = ReplayCache()
    for i in range(50):
        assert not cache.seen(A.did, bytes([i]) * 64, expires=NOW + i, now=NOW)
    assert len(cache) == 50
    assert cache.seen(A.did, bytes([10]) * 64, expires=NOW + 10, now=NOW + 10 + 60)
    assert len(cache) == 40  # forgotten: expires + 60 < now
    assert not cache.seen(B.did, bytes(64), expires=NOW + 1000, now=NOW + 49 + 61)
    assert len(cache) == 1


def test_cache_arguments() -> None:
    with pytest.raises(ValueError):
        ReplayCache(capacity=0)
    with pytest.raises(ValueError):
        ReplayCache(per_key=0)


# --- signer refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"lifetime": 0},
        {"lifetime": 301},
        {"label": "Gn"},
        {"url": "/inbox"},
        {"url": "ftp://node.example/inbox"},
        {"url": "https://node.example/in box"},
        {"url": "https://node.example"},
        {"url": "https://node.example/inbox#top"},
        {"method": "PO ST"},
        {"headers": {"Signature": "x"}},
        {"headers": {"content-digest": "x"}},
        {"nonce": "has space"},
        {"now": 1.5},
    ],
)
def test_sign_request_refuses_what_it_cannot_sign(options: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "method": "POST",
        "url": URL,
        "headers": JSON,
        "body": BODY,
        "now": NOW,
    }
    with pytest.raises(ValueError):
        sign_request(A, **(arguments | options))


# --- properties ----------------------------------------------------------------------

METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])
SEGMENTS = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~%", min_size=0, max_size=12)
PATHS = st.lists(SEGMENTS, max_size=4).map(lambda parts: "/" + "/".join(parts))
QUERIES = st.one_of(st.just(""), st.from_regex(r"\?[a-z0-9=&%]{0,20}", fullmatch=True))


@settings(max_examples=150, deadline=None)
@given(
    method=METHODS,
    path=PATHS,
    query=QUERIES,
    body=st.binary(max_size=512),
    seed=st.integers(1, 255),
    now=st.integers(0, 2**40),
)
def test_any_request_round_trips(
    method: str, path: str, query: str, body: bytes, seed: int, now: int
) -> None:
    identity = Identity(bytes([seed]) * 32)
    url = f"https://node-{seed}.example{path}{query}"
    headers = sign_request(identity, method=method, url=url, headers={}, body=body, now=now)
    signer = verify_request(
        method=method, target_uri=url, headers=headers, body=body, now=now, replay=ReplayCache()
    )
    assert signer == identity.did == did_from_public_key(identity.public_key)


@settings(max_examples=150, deadline=None)
@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_flipping_any_body_byte_fails(body: bytes, data: st.DataObject) -> None:
    headers = signed(body=body)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    altered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    refused("digest_mismatch", headers, body=altered)


SF_CHARS = st.text('abcgnsig1=():;,"*?-@ \t0123456789+/ABCé', max_size=60)


@settings(max_examples=300, deadline=None)
@given(signature_input=st.one_of(SF_CHARS, st.text(max_size=40)), signature=SF_CHARS)
def test_garbage_headers_only_ever_raise_signature_error(
    signature_input: str, signature: str
) -> None:
    headers = {"Signature-Input": signature_input, "Signature": signature}
    cache = ReplayCache()
    with pytest.raises(SignatureError):
        verify(headers, replay=cache)
    assert len(cache) == 0
