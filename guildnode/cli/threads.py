"""Conversations: questions about briefs, messages on contracts, answers to all (SPEC §16)."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

import click

from . import main
from .context import Context, backend, emit, fail, json_option, pass_context


@main.group()
def thread() -> None:
    """Conversations: ask about a brief, write on a contract, reply, answer to all."""


def _files(paths: tuple[Path, ...]) -> list[dict[str, str]] | None:
    """The files to attach, as the API takes them (the node checks the limits)."""
    if not paths:
        return None
    found = []
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            fail(f"--attach {path}: {exc.strerror}")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        found.append(
            {
                "name": path.name,
                "media_type": media_type.lower(),
                "data": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
            }
        )
    return found


text_option = click.option("--text", required=True, help="The message (at most 4000 characters).")
attach_option = click.option(
    "--attach",
    "attachments",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Attach a file of at most 4096 bytes (repeatable, at most 4).",
)


def _publish(ctx: Context, action: str, fields: dict[str, Any], as_json: bool, done: str) -> None:
    with backend(ctx) as node:
        result = node.thread(action, {k: v for k, v in fields.items() if v is not None})
    emit(result, as_json, lambda r: f"{done} ({r['id']})")


@thread.command("list")
@click.option("--on", "on", metavar="ID", help="Only threads about this brief or contract.")
@json_option
@pass_context
def list_threads(ctx: Context, on: str | None, as_json: bool) -> None:
    """Your threads, newest first, with how many messages you have not read."""
    with backend(ctx) as node:
        data = node.threads(on)

    def text(d: dict[str, Any]) -> str:
        lines = [
            f"{t['id'][:12]}  {t['about']:8}  {t['title'][:40]:40}  with {t['with']}  "
            f"{t['messages']} message{'s' if t['messages'] != 1 else ''}"
            + (f", {t['unread']} unread" if t["unread"] else "")
            for t in d["threads"]
        ]
        for answer in d.get("answers", []):
            lines.append(f"Answered to all: {answer['question'] or ''} — {answer['text'][:80]}")
        return "\n".join(lines) or "No threads."

    emit(data, as_json, text)


@thread.command("show")
@click.argument("thread_id")
@json_option
@pass_context
def show_thread(ctx: Context, thread_id: str, as_json: bool) -> None:
    """One thread with every message; marks it read."""
    with backend(ctx) as node:
        data = node.show_thread(thread_id)
        node.thread("read", {"thread": thread_id})

    def text(d: dict[str, Any]) -> str:
        lines = [f"{d['title']} — {d['about']} thread with {d['with']}", ""]
        for m in d["messages"]:
            mark = " [answered to all]" if m["public"] else (" [new]" if m["unread"] else "")
            lines.append(f"{m['created']}  {m['from']}{mark}")
            if m["question"]:
                lines.append(f"  Q: {m['question']}")
            lines += [f"  {line}" for line in m["text"].splitlines()]
            for a in m["attachments"]:
                state = "" if a["intact"] else " (broken)"
                lines.append(f"  📎 {a['name']} ({a['size']} bytes, {a['media_type']}){state}")
        return "\n".join(lines)

    emit(data, as_json, text)


@thread.command("ask")
@click.argument("on")
@text_option
@attach_option
@json_option
@pass_context
def ask(ctx: Context, on: str, text: str, attachments: tuple[Path, ...], as_json: bool) -> None:
    """Open a thread about a brief (only its organisation reads it) or a contract (only its
    parties do)."""
    fields = {"on": on, "text": text, "attachments": _files(attachments)}
    _publish(ctx, "ask", fields, as_json, "Message sent")


@thread.command("reply")
@click.argument("thread_id")
@text_option
@attach_option
@click.option("--public", is_flag=True, help="Answer to all instead (your own brief only).")
@click.option("--question", help="With --public: the question, in your words, for all to see.")
@json_option
@pass_context
def reply(
    ctx: Context,
    thread_id: str,
    text: str,
    attachments: tuple[Path, ...],
    public: bool,
    question: str | None,
    as_json: bool,
) -> None:
    """Reply in one of your threads, privately; or, with --public, answer to all."""
    if question is not None and not public:
        fail("--question goes with --public.")
    fields = {
        "thread": thread_id,
        "text": text,
        "attachments": _files(attachments),
        "public": public or None,
        "question": question,
    }
    _publish(ctx, "reply", fields, as_json, "Answered to all" if public else "Reply sent")


@thread.command("publish")
@click.argument("message_id")
@click.option("--question", help="The question, in your words, for all to see.")
@json_option
@pass_context
def publish(ctx: Context, message_id: str, question: str | None, as_json: bool) -> None:
    """Publish to all a reply you wrote about your own brief (the asker's question stays
    private)."""
    fields = {"message": message_id, "question": question}
    _publish(ctx, "publish", fields, as_json, "Answered to all")
