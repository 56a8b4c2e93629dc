"""Reading Signature-Input and Signature, and building the signature base (SPEC §9.6).

RFC 8941 structured fields in, a parsed but unverified `_Signed` out; each covered
component's value in a request; the RFC 9421 §2.5 signature base that signing and
verification both sign over. Malformed input raises `SignatureError("signature_malformed")`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item

from .profile import ALGORITHM, SIGNATURE_BYTES, SignatureError

_DERIVED = frozenset({"@method", "@target-uri", "@authority", "@scheme", "@path", "@query"})
_FIELD_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 token, lower case
_BASE_VALUE = re.compile(r"[\x20-\x7e\t]*")  # what a signature base line may hold (ASCII)


@dataclass(frozen=True)
class _Signed:
    """One parsed, well-formed (not yet verified) signature."""

    label: str
    components: tuple[str, ...]
    params: str  # the "@signature-params" value: the inner list, re-serialised (RFC 9421 §2.3)
    created: int | None
    expires: int | None
    keyid: str
    signature: bytes


def _malformed(detail: str) -> SignatureError:
    return SignatureError("signature_malformed", detail)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased; values trimmed; repeats joined by ", " (RFC 9421 §2.1)."""
    fields: dict[str, str] = {}
    for name, value in headers.items():
        key, value = name.lower(), value.strip(" \t")
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    return fields


def _parse_dictionary(name: str, value: str) -> Dictionary:
    parsed = Dictionary()
    try:
        parsed.parse(value.encode("ascii"))
    except (ValueError, IndexError, UnicodeError):
        raise _malformed(f"{name} is not a structured-field dictionary (RFC 8941).") from None
    return parsed


def _parse_signature(signature_input: str, signature: str) -> _Signed:
    """Signature-Input and Signature, checked for the profile's shape and types.

    SPEC §9.6: exactly one member in each, under the same label; the covered components are
    distinct strings without parameters naming a supported derived component or a lower-case
    header; created/expires are integers, keyid a string (required), alg the string
    "ed25519" if present (other parameters are allowed and signed); the signature is a byte
    sequence of 64 bytes. Raises `signature_malformed`.
    """
    inputs = _parse_dictionary("Signature-Input", signature_input)
    signatures = _parse_dictionary("Signature", signature)
    if len(inputs) != 1 or len(signatures) != 1:
        raise _malformed(
            f"Exactly one signature is allowed; Signature-Input has {len(inputs)} members "
            f"and Signature {len(signatures)}."
        )
    label, member = next(iter(inputs.items()))
    if label not in signatures:
        raise _malformed(f"Signature has no member labelled {label!r}, as Signature-Input has.")
    if not isinstance(member, InnerList):
        raise _malformed(f"Signature-Input {label!r} is not an inner list of components.")

    components: list[str] = []
    for item in member:
        name = item.value if isinstance(item, Item) else None
        if type(name) is not str or item.params:
            raise _malformed("A covered component is not a plain string without parameters.")
        if name not in _DERIVED and not _FIELD_NAME.fullmatch(name):
            raise _malformed(f"{name!r} is not a supported covered component.")
        if name in components:
            raise _malformed(f"{name!r} is covered twice.")
        components.append(name)

    params = member.params
    for param in ("created", "expires"):
        if param in params and type(params[param]) is not int:
            raise _malformed(f"The {param} parameter is not an integer.")
    keyid = params.get("keyid")
    if type(keyid) is not str:
        raise _malformed("The keyid parameter is missing or not a string.")
    if "alg" in params and (type(params["alg"]) is not str or params["alg"] != ALGORITHM):
        raise _malformed(f"alg {params['alg']!r} is not the string {ALGORITHM!r}.")

    value = signatures[label]
    raw = value.value if isinstance(value, Item) else None
    if type(raw) is not bytes or value.params:
        raise _malformed("The Signature member is not a byte sequence without parameters.")
    if len(raw) != SIGNATURE_BYTES:
        raise _malformed(f"The signature is {len(raw)} bytes, not {SIGNATURE_BYTES}.")
    try:
        serialised = str(member)
    except ValueError:
        raise _malformed("Signature-Input cannot be re-serialised.") from None
    return _Signed(
        label=label,
        components=tuple(components),
        params=serialised,
        created=params.get("created"),
        expires=params.get("expires"),
        keyid=keyid,
        signature=raw,
    )


def _component_values(
    components: Sequence[str], method: str, target_uri: str, fields: Mapping[str, str]
) -> list[tuple[str, str | None]]:
    """Each covered component's value in this request (RFC 9421 §2.1, §2.2).

    Derived components come from `method` and the receiver's `target_uri`; header values are
    trimmed and joined. A covered Content-Digest that is absent gives None (refused later as
    `digest_mismatch`); any other absent header, or a value that cannot be a line of the
    signature base, raises `signature_malformed`.
    """
    values: list[tuple[str, str | None]] = []
    for name in components:
        value: str | None
        if name == "@method":
            value = method
        elif name == "@target-uri":
            value = target_uri
        elif name.startswith("@"):
            value = _derived_from_uri(name, target_uri)
        else:
            value = fields.get(name)
            if value is None and name != "content-digest":
                raise _malformed(f"The covered header {name!r} is absent.")
        if value is not None and not _BASE_VALUE.fullmatch(value):
            raise _malformed(f"The value of {name!r} is not printable ASCII.")
        values.append((name, value))
    return values


def _derived_from_uri(name: str, target_uri: str) -> str:
    """@scheme, @authority, @path or @query of the target URI (RFC 9421 §2.2.4–2.2.7)."""
    try:
        parts = urlsplit(target_uri)
        port = parts.port
    except ValueError:
        raise _malformed("The target URI cannot be split into its parts.") from None
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@authority":
        authority = parts.netloc.lower()
        default = {"http": 80, "https": 443}.get(parts.scheme.lower())
        if port is not None and port == default:
            authority = authority.rsplit(":", 1)[0]
        return authority
    if name == "@path":
        return parts.path or "/"
    return f"?{parts.query}"  # "@query"


def _signature_base(values: Sequence[tuple[str, str]], params: str) -> bytes:
    """The signature base (RFC 9421 §2.5): one `"name": value` line per covered component,
    then the `"@signature-params"` line, joined by LF with no trailing newline."""
    lines = [f'"{name}": {value}' for name, value in values]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("ascii")
