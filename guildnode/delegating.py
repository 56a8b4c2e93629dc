"""Delegating: an organisation authorises staff keys to act for it, lists them and revokes
them (SPEC §15); a staff node lists the organisations it acts for.

The use cases behind `guildnode delegate …`, `GET /api/delegates`, `POST /api/delegates/{action}`
and the UI's Delegates page, and what a staff node may do for an organisation on one of its
contracts (`on_contract`, for the contract page). Each refuses, with a stable code, what would
have no effect (SPEC §15.6); nothing here is checked again at ingest — validity is not effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, validate_call

from . import actions
from .contracts import Contract
from .delegation import ACTION_SCOPES, MAX_DELEGATION, SCOPES, Delegations, Grant
from .errors import NodeError
from .node import Node
from .protocol import format_timestamp
from .views import display_name, published

DAY = 86_400
MAX_DAYS = MAX_DELEGATION // DAY


def _grant_view(node: Node, grants: Delegations, grant: Grant) -> dict[str, Any]:
    now = node.now()
    cut = grants.revoked_from(grant)
    if cut is not None:
        status = "revoked"
    elif now >= grant.ends:
        status = "expired"
    else:
        status = "active"
    return {
        "id": grant.id,
        "organisation": grant.organisation,
        "delegate": grant.delegate,
        "scope": sorted(grant.scope, key=SCOPES.index),
        "starts": format_timestamp(grant.starts),
        "expires": format_timestamp(grant.ends),
        "revoked_from_seq": cut,
        "status": status,
    }


def state(node: Node) -> dict[str, Any]:
    """The grants of the owner's member (newest last), and the grants to the owner's own key
    by other organisations, each with its status: active, expired or revoked."""
    grants = node.delegations()
    member = node.member(node.did)
    return {
        "organisation": member,
        "delegates": [_grant_view(node, grants, g) for g in grants.of(member)],
        "acting_for": [
            _grant_view(node, grants, g)
            for g in sorted(grants.to(node.did), key=lambda g: (g.organisation, g.place))
        ],
    }


def add(
    node: Node, delegate: str, scope: list[str], expires_days: int, note: str | None = None
) -> dict[str, Any]:
    """Authorise the key `delegate` to act for the owner within `scope` for `expires_days`
    days (SPEC §6.18)."""
    node.check_did(delegate)
    unknown = [s for s in scope if s not in SCOPES]
    if not scope or unknown:
        raise NodeError(
            "invalid_scope",
            f"Unknown scope {', '.join(map(repr, unknown))}; name some of {', '.join(SCOPES)}."
            if unknown
            else f"Name at least one scope: {', '.join(SCOPES)}.",
        )
    if not 1 <= expires_days <= MAX_DAYS:
        raise NodeError(
            "invalid_expiry",
            f"A delegation expires 1 to {MAX_DAYS} days from now (not {expires_days}).",
        )
    if delegate in node.identities().keys(node.did):
        raise NodeError("self_delegation", "You cannot delegate to one of your own keys.")
    body: dict[str, Any] = {"delegate": delegate, "scope": list(dict.fromkeys(scope))}
    if note:
        body["note"] = note
    return published(node.publish("delegate", body, node.now() + expires_days * DAY))


def revoke(node: Node, delegate: str, reason: str | None = None) -> dict[str, Any]:
    """Revoke every grant of the owner's member to `delegate` from the delegate's first record
    this node has not seen (SPEC §6.19, §15.3)."""
    node.check_did(delegate)
    grants = node.delegations()
    member = node.member(node.did)
    live = [
        g for g in grants.of(member) if g.delegate == delegate and grants.revoked_from(g) is None
    ]
    if not live:
        raise NodeError("not_delegate", f"{delegate} holds no delegation of yours to revoke.")
    head = node.store.head(delegate)
    body: dict[str, Any] = {"delegate": delegate, "from_seq": (head.seq if head else 0) + 1}
    if reason:
        body["reason"] = reason
    return published(node.publish("undelegate", body))


SCOPE_WORDS = {
    "briefs": "posting briefs",
    "offers": "offers and counter-offers",
    "approve": "approving milestones",
    "pay": "marking payments",
}


def reading_for(node: Node, contract: Contract) -> str | None:
    """The organisation of a contract the owner reads but is no party to (SPEC §15.4: its
    first offer's delegate reads every record), for which it would act; None for a party."""
    if node.member(node.did) in (contract.organisation, contract.freelancer):
        return None
    return contract.organisation


def on_contract(node: Node, contract: Contract) -> dict[str, Any] | None:
    """On a contract the owner reads but is no party to (one whose first offer a delegate of
    its organisation wrote, SPEC §15.4), what the owner may do now for the organisation, or
    None when the owner is a party. `actions`: the organisation's delegated actions open now
    (`contract.actions` as the organisation, of those in `ACTION_SCOPES`) that the node would
    publish for it; `withheld`: the others, each with (code, sentence) — the refusal
    `Node.check_acting_for` gives, in words naming why (SPEC §15.6)."""
    organisation = reading_for(node, contract)
    if organisation is None:
        return None
    now = node.now()
    open_now = [
        name
        for name in node.market.ledger.actions(contract, organisation, now)
        if name.split()[0] in ACTION_SCOPES
    ]
    refusals = {
        scope: refusal(node, organisation, scope)
        for scope in {ACTION_SCOPES[name.split()[0]] for name in open_now}
    }
    allowed, withheld = [], {}
    for name in open_now:
        refused = refusals[ACTION_SCOPES[name.split()[0]]]
        if refused is None:
            allowed.append(name)
        else:
            withheld[name] = refused
    return {
        "organisation": organisation,
        "name": display_name(node, organisation),
        "actions": allowed,
        "withheld": withheld,
    }


def refusal(node: Node, organisation: str, scope: str) -> tuple[str, str] | None:
    """Why the owner's next record needing `scope` would not count as `organisation`'s now:
    `Node.check_acting_for`'s code, with a sentence naming why (`why_not`); None when it
    would."""
    try:
        node.check_acting_for(organisation, scope)
    except NodeError as exc:
        return exc.code, why_not(node, organisation, scope, exc)
    return None


def explained(node: Node, organisation: str | None, action: str, refused: NodeError) -> str:
    """The sentence of `refused`, a refusal of the work action `action` (taken for
    `organisation`, if not None): `why_not`'s when it was not delegated (SPEC §15.6), so the
    refusal says what the page says instead of the form; else its own."""
    if organisation is None or refused.code not in ("not_delegated", "outside_scope"):
        return refused.detail
    return why_not(node, organisation, ACTION_SCOPES[action], refused)


def why_not(node: Node, organisation: str, scope: str, refused: NodeError) -> str:
    """`refused` (`not_delegated` or `outside_scope`, of acting for `organisation` within
    `scope`) in words naming the organisation: which of the owner's grants from it lapsed,
    and how."""
    name = display_name(node, organisation)
    grants = [g for g in state(node)["acting_for"] if g["organisation"] == organisation]
    latest = grants[-1] if grants else None  # in place order: the organisation's last word
    if refused.code == "outside_scope":
        sentence = f"Your delegation from {name} does not cover {SCOPE_WORDS[scope]}."
    elif latest is None:
        sentence = f"{name} has not delegated to you."
    elif latest["status"] == "revoked":
        sentence = f"{name} revoked your delegation."
    elif latest["status"] == "expired":
        sentence = f"Your delegation from {name} expired on {latest['expires'][:10]}."
    else:
        sentence = refused.detail
    return f"{sentence} Only {name} can do this now."


_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)

# SPEC §15.6: POST /api/delegates/{action}, `guildnode delegate …`.
ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    fn.__name__: validate_call(config=_STRICT)(fn) for fn in (add, revoke)
}


def run(node: Node, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Run the delegation action `name` with `fields`; a bad name or field is a `NodeError`."""
    return actions.invoke(ACTIONS, node, name, fields)
