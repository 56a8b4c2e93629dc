"""Talk around the gig: a question about the brief that the organisation answers to all, the
owner's inbox while an offer waits on her, and messages on the contract. Each is checked
on every node: the thread's two parties read it, the others read nothing of it, and the
public answer is on every node."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..notices import inbox_text
from .gig import Gig, Look, Settled, Should, contract_step, observe, settle
from .member import Member
from .summary import Story

QUESTION = "Which database does the project data live in today?"
ASKED = "Where does the project data live?"  # the question as Northwind words it for all
ANSWER = "PostgreSQL 15 on our own server; a read-only replica is yours for the gig."
ON_THE_CONTRACT = ("Could I have an account on the staging server?",
                   "Sent you an invitation: read-only, as agreed.")  # fmt: skip


async def threads_on(member: Member, on: str) -> dict[str, Any]:
    """The owner's threads about `on` (a brief or a contract), and a brief's public answers."""
    listed = await member.call("GET", "/api/threads", params={"on": on})
    return {
        "threads": sorted(f"{t['with']}: {t['messages']}" for t in listed["threads"]),
        "answers": [(a["question"], a["text"]) for a in listed.get("answers", [])],
    }


async def exchange(
    gig: Gig,
    on: str,
    ask: str,
    reply: dict[str, Any],
    look: Look,
    also: Callable[[int], Should],
    sealed: bool = False,
) -> Settled:
    """The freelancer asks about `on` and the organisation replies in her thread (`reply`:
    its text, and `public` for an answer to all); each settled on every node: the two read
    the thread, one message then two, the others have no thread, and `also(count)` holds;
    then she reads the reply, so nothing of the thread waits on her.
    With `sealed`, both messages are sealed records of the gig's contract."""
    org, ada = gig.organisation, gig.freelancer

    def thread(count: int) -> Should:
        def should(member: Member, seen: dict[str, Any]) -> bool:
            other = ada if member is org else org
            mine = [f"{other.name}: {count}"] if member in (org, ada) else []
            return seen["threads"] == mine and also(count)(member, seen)

        return should

    asked = await ada.call("POST", "/api/thread/ask", json={"on": on, "text": ask})
    if sealed:
        gig.sealed.append(asked["id"])
    done = await settle(gig, [ada], thread(1), look)
    if done.ok:
        listed = await org.call("GET", "/api/threads", params={"on": on})
        body = {"thread": listed["threads"][0]["id"], **reply}
        replied = await org.call("POST", "/api/thread/reply", json=body)
        if sealed:
            gig.sealed.append(replied["id"])
        done = await settle(gig, [org], thread(2), look)
    if done.ok:  # she reads the reply (read state is her node's alone, SPEC §16.5)
        await ada.call("POST", "/api/thread/read", json={"thread": body["thread"]})
    return done


async def ask_about_the_brief(gig: Gig, story: Story) -> None:
    """The freelancer asks the organisation about the brief before proposing (sealed to it);
    the organisation answers in its own words to all (a public `answer`, SPEC §16.3)."""
    org, ada = gig.organisation, gig.freelancer

    async def look(member: Member) -> dict[str, Any]:
        held = (await member.call("GET", "/api/records"))["records"]
        clear = json.dumps([r["record"] for r in held], ensure_ascii=False)
        return await threads_on(member, gig.brief) | {"question_in_clear": QUESTION in clear}

    def answered(count: int) -> Should:
        answers = [(ASKED, ANSWER)] if count == 2 else []
        return lambda _, seen: seen["answers"] == answers and not seen["question_in_clear"]

    answer = {"text": ANSWER, "public": True, "question": ASKED}
    done = await exchange(gig, gig.brief, QUESTION, answer, look, answered)
    others = len(gig.network.members) - 2
    story.record(
        f"{ada.short} asked about the brief; {org.short} answered to all",
        done.ok,
        f"only {org.short} read her question; all {len(gig.network.members)} nodes show the "
        f"answer to “{ASKED}”, the other {others} no thread"
        if done.ok
        else done.failed(),
        done.seen,
    )


async def the_inbox(gig: Gig, story: Story, member: Member, kind: str, what: str) -> None:
    """`member`'s notifications while something of `kind` on the gig's contract waits on
    them, printed as `guildnode inbox` prints them."""
    data = await member.call("GET", "/api/notifications")
    waiting = [n for n in data["notices"] if n["kind"] == kind and gig.contract in n["link"]]
    story.record(
        f"{member.short}'s inbox: {what} waits on her",
        len(waiting) == 1,
        f"{data['count']} notice{'s' if data['count'] != 1 else ''} on {member.short}'s "
        "node, as `guildnode inbox` lists them:",
        {
            member.short: {
                "notices": [{k: n[k] for k in ("kind", "title", "link")} for n in data["notices"]]
            }
        },
        inbox_text(data).splitlines(),
    )


async def talk_on_the_contract(gig: Gig, story: Story) -> None:
    """The freelancer writes on the active contract and the organisation replies: sealed
    messages its parties read, that every other node holds and cannot open."""
    org, ada = gig.organisation, gig.freelancer
    active = contract_step(gig, "active")
    gig.secrets.extend(ON_THE_CONTRACT)

    async def look(member: Member) -> dict[str, Any]:
        return await observe(gig, member) | await threads_on(member, gig.contract)

    question, reply = ON_THE_CONTRACT
    done = await exchange(gig, gig.contract, question, {"text": reply}, look,
                          lambda _: active, sealed=True)  # fmt: skip
    story.record(
        f"{ada.short} and {org.short} wrote on the contract",
        done.ok,
        f"a question and its reply, read by the two parties; the other "
        f"{len(gig.network.members) - 2} hold both messages sealed"
        if done.ok
        else done.failed(),
        done.seen,
    )
