"""After the gig: the guild amends its purpose by a majority of signed votes, every node
deriving the same amended charter (SPEC §12.5); and the freelancer carries her reputation
away as W3C Verifiable Credentials, checked offline with no node at all (SPEC §18)."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from .. import portable
from ..protocol.credentials import CONTRACT, Report, verify_file
from .gig import Gig, settle
from .member import Member
from .summary import Story

PURPOSE = "Designers and developers who ship, and say how it went."


CHARTER = ("name", "purpose", "vouches_required", "cooling_days", "skills", "listing")


async def amend_the_purpose(
    gig: Gig, story: Story, guild_id: str, yes: list[Member], no: list[Member]
) -> None:
    """The freelancer proposes a new purpose (her motion is her yes), `yes` and `no` vote;
    every node then derives the same amended charter, and every member's node the same tally
    with the motion adopted."""
    ada = gig.freelancer
    members = gig.network.freelancers  # the guild's members, every one admitted
    before = await ada.call("GET", f"/api/guilds/{guild_id}")
    amended = {key: before[key] for key in CHARTER} | {"purpose": PURPOSE}
    motion = await ada.call(
        "POST",
        f"/api/guilds/{guild_id}/motions",
        json={"action": "amend", "changes": {"purpose": PURPOSE},
              "reason": "Say what the guild now does: feedback after every gig."},
    )  # fmt: skip
    await ada.call("POST", "/api/sync")  # every voter's node holds the motion before it votes
    # The noes first: once the yeses make a majority the motion is adopted and closed.
    for voter, choice in [(m, "no") for m in no] + [(m, "yes") for m in yes]:
        await voter.call("POST", f"/api/motions/{motion['id']}/vote", json={"choice": choice})

    async def look(member: Member) -> dict[str, Any]:
        guild = await member.call("GET", f"/api/guilds/{guild_id}")
        motions = (await member.call("GET", f"/api/guilds/{guild_id}/motions"))["motions"]
        found = next((m for m in motions if m["id"] == motion["id"]), None)
        return {
            "charter": {key: guild[key] for key in CHARTER},
            "motion": found and {"status": found["status"], "yes": len(found["yes"]),
                                 "no": len(found["no"]), "needed": found["needed"],
                                 "electorate": len(found["electorate"])},
        }  # fmt: skip

    tally = {"status": "adopted", "yes": 1 + len(yes), "no": len(no)}

    def adopted(member: Member, seen: dict[str, Any]) -> bool:
        # Every node reads the amended charter; the guild's members, who hold one another's
        # feeds, also count the same votes. (The organisation, no member, may hold fewer.)
        counted = member not in members or tally.items() <= (seen["motion"] or {}).items()
        return seen["charter"] == amended and counted

    done = await settle(gig, [*yes, *no], adopted, look)
    votes = done.seen[ada.short]["motion"] or {}
    tallies = {json.dumps(done.seen[m.short]["motion"]) for m in members}
    detail = (
        f"yes {votes.get('yes')}, no {votes.get('no')} of {votes.get('electorate')} members "
        f"(needed {votes.get('needed')}), the same on every member's node; all "
        f"{len(gig.network.members)} nodes read the amended charter: “{PURPOSE}”"
    )
    if not done.ok:
        detail = done.failed()
    elif len(tallies) > 1:
        detail = "the members' nodes count different votes"
    story.record(
        "the guild amended its purpose by majority vote",
        done.ok and len(tallies) == 1,
        detail,
        done.seen,
    )


def _edited(exported: dict[str, Any]) -> bytes:
    """The file with one claim changed after signing: a contract's outcome, made better."""
    edited = copy.deepcopy(exported)
    for item in edited["verifiableCredential"]:
        subject = item["credentialSubject"]
        if CONTRACT in item["type"]:
            subject["outcome"] = "completed, five stars"
            break
    return json.dumps(edited).encode()


async def carry_the_credentials(gig: Gig, story: Story) -> None:
    """The freelancer exports her credentials to a file; it verifies offline, as
    `guildnode verify-credentials FILE` checks it, and an edited copy does not."""
    ada = gig.freelancer
    exported = await ada.call("GET", "/api/credentials")
    path = gig.network.base / f"{ada.short.lower()}-credentials.json"
    path.write_text(json.dumps(exported, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = portable.summary(exported)
    now = int(time.time())
    report = verify_file(path.read_bytes(), now=now)  # the file alone: no node is asked
    edited = verify_file(_edited(exported), now=now)
    failed = [c.error.code for c in edited.credentials if c.error is not None]
    ok = (
        report.ok
        and counts["holder"] == ada.did
        and counts["memberships"] == 1
        and counts["contracts"] == 1
        and counts["vouches"] > 0
        and bool(failed)
    )
    story.record(
        f"{ada.short} exported her credentials and verified them offline",
        ok,
        f"{counts['vouches']} vouches, {counts['memberships']} guild membership and "
        f"{counts['contracts']} completed contract in {path.name}; {_verdict(report)}; a copy "
        f"with one claim edited fails ({', '.join(sorted(set(failed))) or 'it did not'})",
        {ada.short: {**counts, "verified": report.ok, "edited_fails": failed, "file": path.name}},
    )


def _verdict(report: Report) -> str:
    good = sum(1 for c in report.credentials if c.error is None)
    return f"{good} of {len(report.credentials)} verify with no node"
