"""Conversations through the local API (SPEC §16.6): every refusal has its code, stores
nothing and leaves the node serving; and what is published counts for both parties
(SPEC §16.2), the public answer for everyone (§16.3), with read state local (§16.5)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from test_ui import csrf_of, sign_in
from test_work import Clock, brief_and_proposal, network, sync

pytestmark = pytest.mark.anyio


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


async def act(served: Any, action: str, **fields: Any) -> Any:
    return await served.client.post(f"/api/thread/{action}", json=fields, headers=served.owner)


async def published(served: Any, action: str, **fields: Any) -> str:
    response = await act(served, action, **fields)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def refused(served: Any, status: int, code: str, action: str, **fields: Any) -> None:
    held = served.node.store.count()
    response = await act(served, action, **fields)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["detail"], error
    assert served.node.store.count() == held  # nothing stored
    assert (await served.client.get("/.well-known/guildnode")).status_code == 200


async def threads(served: Any, on: str | None = None) -> Any:
    params = {"on": on} if on else {}
    response = await served.client.get("/api/threads", params=params, headers=served.owner)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def talk(make_node: Any) -> dict[str, Any]:
    nodes = await network(make_node, Clock())
    brief, proposal = await brief_and_proposal(nodes)
    response = await nodes["org"].client.post(
        "/api/work/offer",
        json={"proposal": proposal, "scope": "The parser", "acceptance_criteria": ["Tests"],
              "milestones": [{"title": "All", "amount": 5000, "due_days": 5}], "days": 10},
        headers=nodes["org"].owner,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    await sync(*nodes.values())
    question = await published(nodes["fay"], "ask", on=brief, text="Is the CLI in scope?")
    await sync(*nodes.values())
    return {**nodes, "brief": brief, "contract": response.json()["id"], "question": question}


async def test_a_question_reaches_the_organisation_unread_and_reading_is_local(
    talk: dict[str, Any],
) -> None:
    org, fay = talk["org"], talk["fay"]
    listed = await threads(org)
    assert [(t["id"], t["unread"]) for t in listed["threads"]] == [(talk["question"], 1)]
    assert (await threads(fay))["unread"] == 0  # one's own message is never unread
    records = org.node.store.count()
    response = await act(org, "read", thread=talk["question"])
    assert response.json() == {"thread": talk["question"], "unread": 0}
    assert (await threads(org))["unread"] == 0
    assert org.node.store.count() == records  # read state is not a record


async def test_a_public_answer_is_seen_by_all_the_question_by_the_two(
    talk: dict[str, Any],
) -> None:
    org, fay, sam = talk["org"], talk["fay"], talk["sam"]
    await published(org, "reply", thread=talk["question"], text="Yes.", public=True,
                    question="CLI in scope?")  # fmt: skip
    await sync(org, fay, sam)
    for served in (org, fay, sam):
        answers = (await threads(served, talk["brief"]))["answers"]
        assert [(a["question"], a["text"]) for a in answers] == [("CLI in scope?", "Yes.")]
    assert (await threads(sam))["threads"] == []
    assert talk["question"] in {r.record_id for r in sam.node.store.refs("message")}
    shown = await fay.client.get(f"/api/threads/{talk['question']}", headers=fay.owner)
    assert [m["public"] for m in shown.json()["messages"]] == [False, True]
    assert (await threads(fay))["unread"] == 1  # the answer in her thread is new to her


async def test_a_message_over_the_size_limit(talk: dict[str, Any]) -> None:
    await refused(talk["fay"], 400, "message_too_large", "ask", on=talk["brief"], text="x" * 4001)


async def test_a_message_that_does_not_fit_one_record(talk: dict[str, Any]) -> None:
    files = [{"name": f"f{i}", "data": b64(bytes([i]) * 4096)} for i in range(4)]
    await refused(talk["fay"], 400, "message_too_large", "ask", on=talk["brief"], text="See.",
                  attachments=files)  # fmt: skip


async def test_an_attachment_over_the_limit(talk: dict[str, Any]) -> None:
    files = [{"name": "big.bin", "data": b64(b"\0" * 4097)}]
    await refused(talk["fay"], 400, "attachment_too_large", "ask", on=talk["brief"], text="See.",
                  attachments=files)  # fmt: skip


async def test_too_many_attachments(talk: dict[str, Any]) -> None:
    files = [{"name": f"f{i}", "data": b64(b"x")} for i in range(5)]
    await refused(talk["fay"], 400, "too_many_attachments", "ask", on=talk["brief"], text="See.",
                  attachments=files)  # fmt: skip


@pytest.mark.parametrize(
    "attachment",
    [
        {"name": "a", "data": "not base64!"},
        {"name": "", "data": b64(b"x")},
        {"name": "a", "media_type": "Text/HTML", "data": b64(b"x")},
    ],
    ids=["data", "name", "media_type"],
)
async def test_an_invalid_attachment(talk: dict[str, Any], attachment: dict[str, str]) -> None:
    await refused(talk["fay"], 400, "invalid_attachment", "ask", on=talk["brief"], text="See.",
                  attachments=[attachment])  # fmt: skip


async def test_a_thread_on_a_contract_one_is_not_party_to(talk: dict[str, Any]) -> None:
    sam = talk["sam"]
    assert sam.node.store.get(talk["contract"]) is not None  # Sam holds the sealed offer
    await refused(sam, 403, "not_a_party", "ask", on=talk["contract"], text="Hello?")


async def test_a_reply_to_an_unknown_thread(talk: dict[str, Any]) -> None:
    await refused(talk["fay"], 404, "unknown_thread", "reply", thread="0" * 64, text="Anyone?")
    # A thread Sam holds but is not party to is unknown to him too.
    await refused(talk["sam"], 404, "unknown_thread", "reply", thread=talk["question"], text="Hi")


async def test_a_question_about_ones_own_brief(talk: dict[str, Any]) -> None:
    await refused(talk["org"], 400, "own_brief", "ask", on=talk["brief"], text="Hm?")


async def test_an_answer_to_all_by_someone_else_than_the_organisation(
    talk: dict[str, Any],
) -> None:
    await refused(talk["fay"], 403, "not_your_brief", "reply", thread=talk["question"],
                  text="Yes.", public=True)  # fmt: skip


async def test_publishing_a_message_one_did_not_write(talk: dict[str, Any]) -> None:
    await refused(talk["org"], 403, "not_your_message", "publish", message=talk["question"])


async def test_publishing_an_unknown_message_and_asking_about_an_unknown_record(
    talk: dict[str, Any],
) -> None:
    await refused(talk["org"], 404, "not_found", "publish", message="1" * 64)
    await refused(talk["fay"], 404, "not_found", "ask", on="2" * 64, text="?")
    await refused(talk["fay"], 404, "not_found", "shout", text="?")


async def test_a_field_of_the_wrong_type(talk: dict[str, Any]) -> None:
    await refused(talk["fay"], 400, "invalid_argument", "ask", on=talk["brief"], text=5)


async def test_publishing_a_reply_to_all_and_a_contract_thread(talk: dict[str, Any]) -> None:
    org, fay, sam = talk["org"], talk["fay"], talk["sam"]
    reply = await published(org, "reply", thread=talk["question"], text="It is.",
                            attachments=[{"name": "n.txt", "media_type": "text/plain",
                                          "data": b64(b"notes")}])  # fmt: skip
    answer = await act(org, "publish", message=reply, question="Is the CLI in scope?")
    assert answer.status_code == 200, answer.text
    body = answer.json()["record"]["body"]
    assert (body["text"], body["thread"], body["attachments"][0]["size"]) == (
        "It is.", talk["question"], 5,
    )  # fmt: skip
    on_contract = await published(fay, "ask", on=talk["contract"], text="Starting Monday.")
    await sync(org, fay, sam)
    listed = await threads(org, talk["contract"])
    assert [(t["id"], t["about"], t["unread"]) for t in listed["threads"]] == [
        (on_contract, "contract", 1)
    ]
    assert on_contract not in {t["id"] for t in (await threads(sam))["threads"]}


async def test_a_question_from_a_guest_reaches_the_organisation(make_node: Any) -> None:
    """Fay holds Northwind's brief through Amy, whom she vouches for and who vouches for
    Northwind; Northwind knows nothing of Fay. Her question names Northwind (a public
    recipient), so it is taken as a guest's record (SPEC §9.7, §16.4); Northwind's reply
    makes her one of its contract parties."""
    clock = Clock()
    org, amy, fay = [await make_node(k, clock=clock) for k in ("org", "amy", "fay")]
    for left in (org, amy, fay):
        for right in (org, amy, fay):
            if left is not right:
                await left.federation.add_peer(right.url)
    amy.node.vouch(org.node.did, level=2)
    fay.node.vouch(amy.node.did, level=2)
    brief = org.node.post_brief(guilds=["ab" * 32], title="T", description="D",
                                acceptance_criteria=["C"], budget_min=1, budget_max=2,
                                currency="EUR", expires_days=14)  # fmt: skip
    await sync(org, amy, fay)
    assert fay.node.did not in org.node.scope()
    question = await published(fay, "ask", on=brief.id, text="Remote work possible?")
    await sync(org, amy, fay)
    assert [t["id"] for t in (await threads(org))["threads"]] == [question]
    await published(org, "reply", thread=question, text="Yes.")
    await sync(org, amy, fay)
    assert fay.node.did in org.node.scope()
    shown = await fay.client.get(f"/api/threads/{question}", headers=fay.owner)
    assert [m["text"] for m in shown.json()["messages"]] == ["Remote work possible?", "Yes."]


async def test_the_thread_pages_escape_refuse_and_serve_attachments_as_downloads(
    talk: dict[str, Any],
) -> None:
    org, fay = talk["org"], talk["fay"]
    files = [{"name": "<x>.html", "media_type": "text/html", "data": b64(b"<script>1</script>")}]
    sent = await published(fay, "ask", on=talk["contract"], text="<b>bold?</b>", attachments=files)
    await sync(org, fay)
    await sign_in(org)
    listing = await org.client.get("/messages")
    assert listing.status_code == 200 and "2 new" not in listing.text
    assert 'id="unread-badge" aria-label="2 unread">2<' in listing.text
    page = await org.client.get(f"/messages/{sent}")
    assert page.status_code == 200
    assert "&lt;b&gt;bold?&lt;/b&gt;" in page.text and "<b>bold?" not in page.text
    assert 'id="unread-badge"' in (await org.client.get("/messages")).text  # the question
    sha = hashlib.sha256(b"<script>1</script>").hexdigest()
    download = await org.client.get(f"/messages/{sent}/files/{sha}")
    assert download.status_code == 200 and download.content == b"<script>1</script>"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == 'attachment; filename="_x_.html"'
    assert download.headers["x-content-type-options"] == "nosniff"
    assert (await org.client.get(f"/messages/{sent}/files/{'0' * 64}")).status_code == 404
    assert (await org.client.get(f"/messages/{'0' * 64}")).status_code == 404

    held = org.node.store.count()
    token = csrf_of(page.text)
    refused = await org.client.post(
        f"/messages/{sent}/reply", data={"csrftoken": token, "text": "y" * 4001}
    )
    assert refused.status_code == 400 and "message_too_large" in refused.text
    assert org.node.store.count() == held
    replied = await org.client.post(f"/messages/{sent}/reply", data={"csrftoken": token,
                                                                     "text": "Seen."})  # fmt: skip
    assert replied.status_code == 303 and org.node.store.count() == held + 1
    await sync(org, fay)  # finish the pushes before the nodes stop


async def test_the_organisation_publishes_a_reply_to_all_from_the_thread_page(
    talk: dict[str, Any],
) -> None:
    org = talk["org"]
    reply = await published(org, "reply", thread=talk["question"], text="Yes, the CLI too.")
    await sign_in(org)
    page = await org.client.get(f"/messages/{talk['question']}")
    assert "Publish this reply to all" in page.text
    answered = await org.client.post(
        f"/messages/{talk['question']}/publish",
        data={"csrftoken": csrf_of(page.text), "message": reply},
    )
    assert answered.status_code == 303
    answers = (await threads(org, talk["brief"]))["answers"]
    assert [a["text"] for a in answers] == ["Yes, the CLI too."]
    again = await org.client.post(
        f"/messages/{talk['question']}/publish",
        data={"csrftoken": csrf_of(page.text), "message": talk["question"]},
    )
    assert again.status_code == 400 and "not_your_message" in again.text
    await sync(org, talk["fay"])
