"""What needs the owner now: notifications derived from the records held, never stored.

Each source below reads the node's derived state (contracts from `market`, proposals, guild
memberships) and yields one `Notice` per thing that waits on the owner, with the link to the
one page and form where the owner does it. A notice disappears by itself when the owner has
acted (or the chance has passed), because the state it was derived from has moved on: there
is no "read" flag to keep in step (unread messages are the one kind derived from the owner's
own read state, SPEC §16.5, which reading the thread moves on). A new kind of notice is one
more function in `SOURCES`.

Keys are stable (the kind and the id of the record that asks), so a client can tell a new
notice from one it has shown already.

Every signed-in page shows the count and the event streams send the list, so `waiting`
keeps the last derivation per node and derives again only when what it reads can have
changed: a write to the store (`Store.version`), the owner's read state (`Node.mark_read`),
or the second of `Node.now()`. The time rules here are second-granular (an offer's
respond-by is its `expires_at`, a feedback window closes 14 days to the second after the
commitment, a motion at its `closes_at`, a vouch at its end, a record dated ahead counts
from its `created`), not minute-granular, and `now` is a whole second: a list derived in
one second is the fresh list for all of that second, and for no other.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from . import derive
from .briefs import Brief
from .contracts import Contract
from .feedback import REVEAL_AFTER_DAYS
from .guilds import current_applicants

if TYPE_CHECKING:
    from .node import Node

DAY = 86_400


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing that waits on the owner. `link` is the local web UI's page (and anchor) of
    the action; `action` says in words what to do there."""

    key: str
    kind: str
    at: int
    title: str
    action: str
    link: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _name(node: Node, did: str) -> str:
    from .views import display_name  # views imports the node; read it only when needed

    return display_name(node, did)


def proposals_received(node: Node) -> Iterator[Notice]:
    """Open proposals on the owner's briefs that no offer answers yet."""
    me = node.member(node.did)
    briefs = node.market.briefs()
    offered = {c.proposal for c in node.market.contracts()}
    for proposal in node.market.proposals():
        brief = briefs.get(proposal.brief)
        if brief is None or node.member(brief.author) != me:
            continue
        if proposal.status != "open" or proposal.id in offered:
            continue
        yield Notice(
            key=f"proposal:{proposal.id}",
            kind="proposal",
            at=proposal.created_at,
            title=f"{_name(node, proposal.author)} proposed on “{brief.body['title']}”",
            action="Read it and offer a contract",
            link=f"/briefs/{brief.id}#proposal-{proposal.id}",
        )


def _title(briefs: Mapping[str, Brief], contract: Contract) -> str:
    brief = briefs.get(contract.brief)
    return f"“{brief.body['title']}”" if brief else f"brief {contract.brief[:12]}"


def contract_steps(node: Node) -> Iterator[Notice]:
    """An offer or a counter-offer to answer, a milestone to approve, a payment to confirm:
    each is an action `Contract.actions` lists for the owner now, answering the other
    party's step (their submission, their payment)."""
    me, now = node.did, node.now()
    briefs = node.market.briefs()
    names: dict[str, str] = {}  # a counterpart's name is read once however many contracts
    for contract in node.market.contracts():
        if contract.state not in ("offered", "countered", "active"):
            continue
        # Worked out once while the contract is kept (`ledger.actions`), and the other
        # party's name only when something waits on the owner.
        actions = node.market.ledger.actions(contract, me, now)
        if not any(a == "accept" or a.startswith(("approve ", "received ")) for a in actions):
            continue
        title = _title(briefs, contract)
        other = contract.freelancer if me == contract.organisation else contract.organisation
        if other not in names:
            names[other] = _name(node, other)
        who = names[other]
        if "accept" in actions:
            offer = contract.offers[-1]
            kind = "counter" if len(contract.offers) > 1 else "offer"
            yield Notice(
                key=f"{kind}:{offer.id}",
                kind=kind,
                at=offer.created_at,
                title=f"{who} sent you {'a counter-offer' if kind == 'counter' else 'an offer'}"
                f" for {title}",
                action="Accept it, or answer with a counter-offer",
                link=f"/contracts/{contract.id}#answer",
            )
        for action in actions:
            name, _, index = action.partition(" ")
            if name not in ("approve", "received"):
                continue
            milestone = contract.milestones[int(index)]
            asked_by = milestone.submitted_at if name == "approve" else milestone.paid_at
            if asked_by is None:  # a party may attest first; only the other's step asks
                continue
            number = milestone.index + 1
            if name == "approve":
                kind = "milestone"
                text = f"{who} submitted milestone {number} of {title}"
                words = "Review it and approve it"
            else:
                kind = "payment"
                text = f"{who} says milestone {number} of {title} is paid"
                words = "Confirm you received the payment"
            yield Notice(
                key=f"{kind}:{contract.id}:{milestone.index}",
                kind=kind,
                at=asked_by,
                title=text,
                action=words,
                link=f"/contracts/{contract.id}#milestone-{number}",
            )


def feedback_closing(node: Node) -> Iterator[Notice]:
    """The other party has committed feedback and the owner has not: theirs is revealed
    14 days after their commitment (SPEC §12.4), without the owner's if it is not given."""
    me, now = node.did, node.now()
    evidence = node.market.evidence
    briefs = node.market.briefs()
    for contract in node.market.contracts():
        if contract.ended_at is None or me not in contract.parties:
            continue
        commits = evidence.commits(contract.id)
        if any(c.author == me for c in commits):
            continue
        theirs = [c for c in commits if c.author != me and c.author in contract.parties]
        if not theirs:
            continue
        first = min(c.created_at for c in theirs)
        closes = first + REVEAL_AFTER_DAYS * DAY
        if now >= closes:
            continue
        days = max(1, -(-(closes - now) // DAY))
        yield Notice(
            key=f"feedback:{contract.id}",
            kind="feedback",
            at=first,
            title=f"{_name(node, theirs[0].author)} gave feedback on {_title(briefs, contract)}; "
            f"the window for yours closes in {days} day{'s' if days > 1 else ''}",
            action="Give your feedback",
            link=f"/contracts/{contract.id}#feedback",
        )


def vouched_for_admission(node: Node, guild_id: str) -> set[str]:
    """Whom the owner vouches for (not revoked) in the guild's context."""
    mine = node.store.refs("vouch", authors=[node.did], contexts=[f"guild:{guild_id}"])
    revoked = {r.value for r in node.store.refs("revoke", authors=[node.did])}
    return {r.value for r in mine if r.record_id not in revoked}


def applications_to_vouch_on(node: Node) -> Iterator[Notice]:
    """Applicants to a guild the owner is a member of, whom the owner has not vouched for."""
    me = node.member(node.did)
    for guild in node.guilds():
        if not guild.is_member(me) or not guild.applicants:
            continue
        gid = guild.charter.id
        vouched = vouched_for_admission(node, gid)
        applied = current_applicants(derive.applications(node.store, gid, node.identities()), gid)
        for did in sorted(guild.applicants):
            if did == me or did in vouched:
                continue
            yield Notice(
                key=f"application:{gid}:{did}",
                kind="application",
                at=applied.get(did, 0),
                title=f"{_name(node, did)} applies to join {guild.charter.name}",
                action="Vouch for their admission if you know their work",
                link=f"/guilds/{gid}#applicant-{did}",
            )


def unread_messages(node: Node) -> Iterator[Notice]:
    """A thread of the owner's with messages from the other party it has not read (SPEC
    §16.5); reading the thread marks them read."""
    from . import conversations  # it imports the node; read it only when needed

    have, seen = conversations.held(node), node.store.read_messages()
    for thread in have.threads.values():
        if node.did not in thread.parties:
            continue
        waiting = set(conversations.unread_ids(node, thread, seen))
        if not waiting:
            continue
        latest = max(m.created_at for m in thread.messages if m.id in waiting)
        count = len(waiting)
        about = conversations.summary(node, have, thread, seen)["title"]
        yield Notice(
            key=f"message:{thread.id}",
            kind="message",
            at=latest,
            title=f"{_name(node, thread.other(node.did))} wrote {count} new message"
            f"{'s' if count > 1 else ''} about “{about}”",
            action="Read the thread and reply",
            link=f"/messages/{thread.id}#reply",
        )


def disputes_waiting(node: Node) -> Iterator[Notice]:
    """A dispute naming the owner as mediator with no outcome counting on its contract yet
    (SPEC §17.4), and one the other party opened against the owner, until the owner has
    disclosed records to its mediators (SPEC §17.3) or an outcome counts."""
    me = node.member(node.did)
    decided = node.market.evidence.decided()
    for dispute in node.market.mediation.disputes():
        event = dispute.event
        if dispute.contract in decided:
            continue
        mediating = dispute.role == "mediator"
        if not mediating and (
            node.member(event.author) == me
            or any(node.member(d.author) == me for d, _ in dispute.disclosures)
        ):
            continue  # the owner opened it, or has disclosed to its mediators already
        opener = _name(node, event.author)
        if mediating:
            title = f"{opener} asks you to mediate a dispute"
            action = "Read the statement and the records disclosed, then decide the outcome"
            link = f"/disputes/{event.id}#decide"
        else:
            title = f"{opener} opened a dispute on your contract"
            action = "Read their statement and disclose your records to the mediators"
            link = f"/contracts/{dispute.contract}#disputes"
        yield Notice(
            key=f"dispute:{event.id}",
            kind="dispute",
            at=event.created_at,
            title=title,
            action=action,
            link=link,
        )


def motions_to_vote_on(node: Node) -> Iterator[Notice]:
    """An open motion of a guild the owner is a member of, on which it may still vote
    (SPEC §12.5)."""
    from .assembly import summary

    me = node.member(node.did)
    for gid in sorted(node.charters()):
        governance = node.governance(gid)  # once a guild: it holds the membership too
        if not governance.membership.is_member(me):
            continue
        voted = node.assembly.voted(gid)
        for outcome in governance.outcomes:
            if not node.assembly.may_vote(outcome, voted):
                continue
            motion = outcome.motion
            yield Notice(
                key=f"motion:{motion.id}",
                kind="motion",
                at=motion.created_at,
                title=f"{_name(node, motion.author)} moved in {governance.charter.name}: "
                f"{summary(motion, lambda did: _name(node, did))}",
                action="Vote yes or no before the motion closes",
                link=f"/guilds/{gid}#motion-{motion.id}",
            )


# One line per kind of notice; each source reads the node and yields its notices.
SOURCES: tuple[Callable[[Node], Iterator[Notice]], ...] = (
    proposals_received,
    contract_steps,
    feedback_closing,
    applications_to_vouch_on,
    unread_messages,
    disputes_waiting,
    motions_to_vote_on,
)


def notices(node: Node) -> list[Notice]:
    """Everything that waits on the owner now, newest first."""
    found = [notice for source in SOURCES for notice in source(node)]
    return sorted(found, key=lambda n: (-n.at, n.key))


@dataclass(frozen=True, slots=True)
class Waiting:
    """What waits on the owner at one moment: the notices, newest first, and how many
    messages of the owner's threads it has not read (the header's two badges)."""

    notices: tuple[Notice, ...]
    unread: int


class _Kept:
    """One node's last `Waiting` and what it was derived from (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while deriving: callers at once derive once
        self.key: tuple[str, int, int, int] | None = None
        self.value = Waiting((), 0)
        self.reads = 0  # how often the owner's read state changed since this was made
        self._reads_lock = threading.Lock()

    def read(self, _: Sequence[str]) -> None:
        with self._reads_lock:
            self.reads += 1


_KEPT: weakref.WeakKeyDictionary[Node, _Kept] = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def _kept(node: Node) -> _Kept:
    with _KEPT_LOCK:
        kept = _KEPT.get(node)
        if kept is None:
            kept = _KEPT[node] = _Kept()
            node.on_read.append(kept.read)  # every change of read state goes through it
        return kept


def waiting(node: Node) -> Waiting:
    """`notices(node)` and `conversations.unread(node)` as they are now, derived once per
    change of the store, of the read state or of the second (see the module docstring)."""
    from . import conversations  # it imports the node; read it only when needed

    kept = _kept(node)
    with kept.lock:
        # Read before deriving: a change during the derivation moves the key on, so the
        # next caller derives again.
        key = (node.did, node.store.version, kept.reads, node.now())
        if kept.key != key:
            kept.value = Waiting(tuple(notices(node)), conversations.unread(node))
            # Kept only if the second did not turn meanwhile (then the sources may have
            # read different seconds; the list is still what deriving afresh gives).
            kept.key = key if node.now() == key[3] else None
        return kept.value


def inbox(node: Node) -> dict[str, Any]:
    """The notices as the local API and `guildnode inbox --json` give them."""
    found = waiting(node).notices
    return {"count": len(found), "notices": [n.as_dict() for n in found]}


def inbox_text(data: dict[str, Any]) -> str:
    """`inbox` as `guildnode inbox` prints it (the demo shows the same lines)."""
    if not data["notices"]:
        return "Nothing waits on you."
    count = data["count"]
    lines = [f"{count} thing waits on you:" if count == 1 else f"{count} things wait on you:"]
    for notice in data["notices"]:
        lines.append(f"- {notice['title']}")
        lines.append(f"  {notice['action']}: {notice['link']} in the web UI (guildnode ui)")
    return "\n".join(lines)
