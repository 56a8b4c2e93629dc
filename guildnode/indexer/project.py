"""What of a verified record an indexer keeps (SPEC §13.1): its body or not, and the row of
each search table it feeds.

Pure functions of one `VerifiedRecord`. The effect rules are a member node's own: a brief
is searchable only when `briefs.Brief.problem` finds nothing (SPEC §6.8), a charter only
when it has effect (`guilds.Charter.is_valid`) and a `listing` (SPEC §6.4).
"""

from __future__ import annotations

from typing import Any

from ..briefs import Brief
from ..guilds import Charter
from ..protocol import VerifiedRecord

# SPEC §13.1: the kinds whose bodies an indexer keeps. Every other kind — the sealed kinds
# (SPEC §6.9) above all — is kept as a chain link only: its envelope, never its body.
BODY_KINDS = frozenset(
    {"profile", "guild", "brief", "vouch", "revoke", "receipt", "feedback"}
    | {"rotate", "succeed", "recovery", "compromise"}  # public, and how keys link (§14)
    | {"outcome"}  # a mediator's public decision (§6.24)
    | {"delegate", "undelegate"}  # which staff keys speak for an organisation (§15)
    | {"answer"}  # an organisation's answer to all, public by construction (§6.22)
)


def kept_canonical(record: VerifiedRecord) -> bytes | None:
    """The canonical bytes to store for `record`, or None when its body is not kept."""
    return record.canonical if record.kind in BODY_KINDS else None


def brief_row(record: VerifiedRecord) -> tuple[Any, ...] | None:
    """The `briefs` row of a brief with effect; None for any other record."""
    if record.kind != "brief":
        return None
    brief = Brief(record.id, record.author, record.created_at, record.expires_at, record.body)
    if brief.problem() is not None or record.expires_at is None:
        return None
    body = record.body
    skills = list(body.get("skills", []))
    return (
        record.id,
        record.author,
        record.seq,
        record.created_at,
        record.expires_at,
        body["title"],
        body["description"],
        "\n".join(body["acceptance_criteria"]),
        skills,
        " ".join(skills),
        list(body["guilds"]),
        body["budget"]["currency"],
        body["budget"]["min"],
        body["budget"]["max"],
    )


BRIEF_COLUMNS = (
    "id, author, seq, created_at, expires_at, title, description, criteria, skills,"
    " skills_text, guilds, currency, budget_min, budget_max"
)


def profile_row(record: VerifiedRecord) -> tuple[Any, ...] | None:
    """The `profiles` row of a profile (the caller keeps the one of highest seq)."""
    if record.kind != "profile":
        return None
    body = record.body
    skills = list(body.get("skills", []))
    return (
        record.author,
        record.id,
        record.seq,
        record.created_at,
        body["kind"],
        body["name"],
        body.get("bio", ""),
        skills,
        " ".join(skills),
        list(body.get("endpoints", [])),
    )


PROFILE_COLUMNS = "author, id, seq, created_at, kind, name, bio, skills, skills_text, endpoints"


def guild_row(record: VerifiedRecord) -> tuple[Any, ...] | None:
    """The `guilds` row of a listed charter with effect; None for any other record."""
    if record.kind != "guild" or "listing" not in record.body:
        return None
    body = record.body
    admission = body["admission"]
    charter = Charter(
        record.id,
        record.author,
        body["name"],
        body["purpose"],
        tuple(body["founders"]),
        admission["vouches_required"],
        record.created_at,
    )
    if not charter.is_valid():
        return None
    listing = body["listing"]
    skills = sorted(set(listing.get("skills", [])) | set(admission.get("skills", [])))
    return (
        record.id,
        record.author,
        record.seq,
        record.created_at,
        body["name"],
        body["purpose"],
        listing["description"] + ("\n" + listing["apply"] if "apply" in listing else ""),
        skills,
        " ".join(skills),
    )


GUILD_COLUMNS = "id, author, seq, created_at, name, purpose, description, skills, skills_text"
