"""The `guildnode` command line: a thin layer over the node (directly, or its local API)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from .backend import Backend, BackendError, open_backend
from .datadir import DataDir, DataDirError
from .money import format_money, major
from .settings import DEFAULT_PORT, Settings, default_data_dir


class Context:
    def __init__(self, data: Path | None) -> None:
        self.data_dir = data or default_data_dir()

    @property
    def datadir(self) -> DataDir:
        return DataDir(self.data_dir)


pass_context = click.make_pass_decorator(Context)


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def backend(ctx: Context) -> Iterator[Backend]:
    try:
        handle = open_backend(ctx.datadir)
    except DataDirError as exc:
        fail(str(exc))
    try:
        yield handle
    except BackendError as exc:
        fail(f"{exc.code}: {exc.detail}")
    finally:
        handle.close()


# Text others wrote (pitches, names, reasons) reaches the terminal: no control characters
# but newlines and tabs, so nobody can move the cursor or recolour the screen.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)])


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(text(data).translate(_CONTROL))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GUILDNODE_DATA",
    help="The node's data directory (default: $GUILDNODE_DATA, else the user data directory).",
)
@click.version_option(package_name="guildnode")
@click.pass_context
def main(click_ctx: click.Context, data: Path | None) -> None:
    """Guildnode: your own node in a decentralised guild network for gig workers."""
    click_ctx.obj = Context(data)


@main.command()
@click.option("--name", help="Your display name; publishes your first profile.")
@click.option("--org", is_flag=True, help="This node speaks for an organisation, not a person.")
@pass_context
def init(ctx: Context, name: str | None, org: bool) -> None:
    """Create a data directory with a new identity, and print its DID."""
    datadir = ctx.datadir
    try:
        datadir.acquire()
    except DataDirError as exc:
        fail(str(exc))
    try:
        identity = datadir.create()
    except DataDirError as exc:
        datadir.release()
        fail(str(exc))
    datadir.release()
    if name:
        with backend(ctx) as node:
            node.set_profile(name=name, organisation=org)
    click.echo(identity.did)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on."
)
@click.option(
    "--public-url",
    help="The URL peers reach this node at, when it differs (behind a reverse proxy).",
)
@click.option(
    "--sync-interval",
    type=float,
    help="Seconds between sync rounds with each peer (default 30; 0 turns them off).",
)
@click.option(
    "--allow-private-peers",
    is_flag=True,
    default=None,
    help="Contact private and loopback addresses learnt from profiles (local networks, demo).",
)
@pass_context
def run(
    ctx: Context,
    host: str,
    port: int,
    public_url: str | None,
    sync_interval: float | None,
    allow_private_peers: bool | None,
) -> None:
    """Serve the node (initialising the data directory first if it is empty)."""
    import uvicorn

    from .app import create_app

    settings = Settings.from_env(
        data_dir=ctx.data_dir,
        host=host,
        port=port,
        public_url=public_url,
        sync_interval=sync_interval,
        allow_private_peers=allow_private_peers,
    )
    datadir = ctx.datadir
    if datadir.is_locked():
        fail(f"{datadir.path} is already served by another guildnode process.")
    if not datadir.has_identity():
        datadir.acquire()
        identity = datadir.create()
        datadir.release()
        click.echo(f"Created a new identity: {identity.did}")
    click.echo(f"Guildnode {datadir.load_identity().did}")
    click.echo(f"Listening on {settings.local_url} (peers reach it at {settings.url})", nl=True)
    app = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # the link is printed only once it can be opened
                link = app.state.ui_auth.login_url()
                click.echo(f"Web UI (this link works once, for 10 minutes): {link}")
                click.echo("For a fresh link later: guildnode ui")

    server = Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            server_header=False,  # smaller answers: an idle sync is one small round trip
            date_header=False,
        )
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has shut down gracefully
        server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run does when the server could not start


@main.command()
@pass_context
def ui(ctx: Context) -> None:
    """Print a fresh single-use login link to the running node's web UI."""
    import httpx

    datadir = ctx.datadir
    running = datadir.running() if datadir.has_identity() and datadir.is_locked() else None
    if running is None or not isinstance(running.get("url"), str):
        fail(
            f"No node is running on {datadir.path}: start it with `guildnode run`, "
            "which prints a login link."
        )
        return
    try:
        token = datadir.token()
        # The owner's token goes to the local node only, never through a proxy.
        with httpx.Client(trust_env=False, timeout=httpx.Timeout(10.0, connect=5.0)) as client:
            response = client.post(
                f"{running['url']}/api/ui/login-link",
                headers={"Authorization": f"Bearer {token}"},
            )
        answer = response.json()
    except DataDirError as exc:
        fail(str(exc))
        return
    except (httpx.HTTPError, ValueError) as exc:
        fail(f"node_unreachable: the running node at {running['url']} did not answer: {exc}")
        return
    if response.is_error or not isinstance(answer, dict) or "url" not in answer:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        fail(f"{error.get('code', 'http_error')}: {error.get('detail', response.text)}")
        return
    click.echo("Open this link in your browser; it works once, for 10 minutes:")
    click.echo(answer["url"])


@main.command(name="id")
@pass_context
def show_id(ctx: Context) -> None:
    """Print this node's DID."""
    try:
        click.echo(ctx.datadir.load_identity().did)
    except DataDirError as exc:
        fail(str(exc))


@main.group()
def profile() -> None:
    """Your public profile."""


@profile.command(name="set")
@click.option("--name", help="Display name.")
@click.option("--org/--person", default=None, help="An organisation or a person.")
@click.option("--skill", "skills", multiple=True, help="A skill, e.g. python (repeatable).")
@click.option("--bio", help="A short biography.")
@click.option(
    "--endpoint", "endpoints", multiple=True, help="A URL your node is reached at (repeatable)."
)
@json_option
@pass_context
def profile_set(
    ctx: Context,
    name: str | None,
    org: bool | None,
    skills: tuple[str, ...],
    bio: str | None,
    endpoints: tuple[str, ...],
    as_json: bool,
) -> None:
    """Publish your profile; options not given keep their current values."""
    with backend(ctx) as node:
        result = node.set_profile(
            name=name,
            organisation=org,
            skills=list(skills) or None,
            bio=bio,
            endpoints=list(endpoints) or None,
        )
    emit(result, as_json, lambda r: f"Published profile {r['id']}")


@main.command()
@click.argument("did")
@click.option("--context", help="What you vouch for: a skill such as python, or guild:<id>.")
@click.option("--level", type=click.IntRange(1, 3), required=True, help="1 some, 2 good, 3 strong.")
@click.option("--statement", help="What you saw them do.")
@click.option("--expires-days", type=int, help="The vouch lapses after this many days (max 365).")
@click.option("--evidence", help="Id of a record that backs the vouch, e.g. a contract.")
@json_option
@pass_context
def vouch(
    ctx: Context,
    did: str,
    context: str | None,
    level: int,
    statement: str | None,
    expires_days: int | None,
    evidence: str | None,
    as_json: bool,
) -> None:
    """Vouch for the member DID."""
    with backend(ctx) as node:
        result = node.vouch(
            subject=did,
            level=level,
            context=context,
            statement=statement,
            expires_days=expires_days,
            evidence=evidence,
        )
    emit(result, as_json, lambda r: f"Vouched: {r['id']}")


@main.command()
@click.argument("record_id")
@click.option("--reason", help="Why you revoke it.")
@json_option
@pass_context
def revoke(ctx: Context, record_id: str, reason: str | None, as_json: bool) -> None:
    """Revoke one of your records (a vouch, usually) by its id."""
    with backend(ctx) as node:
        result = node.revoke(target=record_id, reason=reason)
    emit(result, as_json, lambda r: f"Revoked {record_id}: {r['id']}")


def _summary(record: dict[str, Any]) -> str:
    body = record["body"]
    kind = record["kind"]
    if kind == "profile":
        return f"{body.get('name')} ({body.get('kind')})"
    if kind == "vouch":
        return (
            f"→ {body.get('subject')} level {body.get('level')} in {body.get('context', 'general')}"
        )
    if kind == "revoke":
        return f"revokes {body.get('target')}"
    return ", ".join(f"{k}={v}" for k, v in body.items() if isinstance(v, str | int))[:100]


def _log_text(data: dict[str, Any]) -> str:
    lines: list[str] = []
    author = None
    for entry in data["records"]:
        record = entry["record"]
        if record["author"] != author:
            author = record["author"]
            lines.append(author)
        lines.append(
            f"  {record['seq']:>4}  {record['created']}  {record['kind']:<8} "
            f"{entry['id'][:12]}  {_summary(record)}"
        )
    return "\n".join(lines) if lines else "No records."


@main.command()
@click.option("--author", help="Only this author's records.")
@click.option("--kind", help="Only records of this kind.")
@json_option
@pass_context
def log(ctx: Context, author: str | None, kind: str | None, as_json: bool) -> None:
    """List the records this node holds, by author then seq."""
    with backend(ctx) as node:
        data = node.records(author, kind)
    emit(data, as_json, _log_text)


def _check_text(report: dict[str, Any]) -> str:
    head = (
        f"{report['records']} records from {report['authors']} authors, "
        f"{report['forks']} fork proofs: "
    )
    if report["ok"]:
        return head + "all verify."
    return (
        head
        + f"{len(report['problems'])} problems\n"
        + "\n".join(f"  {p}" for p in report["problems"])
    )


@main.command()
@json_option
@pass_context
def check(ctx: Context, as_json: bool) -> None:
    """Re-verify every stored record, chain and fork proof; exit 1 on any problem."""
    with backend(ctx) as node:
        report = node.check()
    emit(report, as_json, _check_text)
    if not report["ok"]:
        sys.exit(1)


@main.group()
def peer() -> None:
    """The nodes yours syncs with."""


def _peers_text(data: dict[str, Any]) -> str:
    if not data["peers"]:
        return "No peers yet: add one with `guildnode peer add URL`."
    lines = []
    for p in data["peers"]:
        rejected = ", ".join(f"{code} {n}" for code, n in sorted(p["rejections"].items()))
        lines.append(f"{p['did']}  {p['url']}  ({p['source']})")
        lines.append(
            f"  last sync {p['last_sync_at'] or 'never'}, {p['records_received']} records received"
            + (f", rejected: {rejected}" if rejected else "")
            + (f", last error: {p['last_error']}" if p["last_error"] else "")
        )
    return "\n".join(lines)


@peer.command(name="add")
@click.argument("url")
@json_option
@pass_context
def peer_add(ctx: Context, url: str, as_json: bool) -> None:
    """Add the node at URL as a peer (it must answer /.well-known/guildnode)."""
    with backend(ctx) as node:
        result = node.add_peer(url)
    emit(result, as_json, lambda p: f"Added peer {p['did']} at {p['url']}")


@peer.command(name="list")
@json_option
@pass_context
def peer_list(ctx: Context, as_json: bool) -> None:
    """List peers: last sync, records received, rejections by code, last error."""
    with backend(ctx) as node:
        data = node.peers()
    emit(data, as_json, _peers_text)


@peer.command(name="remove")
@click.argument("did_or_url")
@pass_context
def peer_remove(ctx: Context, did_or_url: str) -> None:
    """Forget a peer, by its DID or URL."""
    with backend(ctx) as node:
        node.remove_peer(did_or_url)
    click.echo(f"Removed {did_or_url}")


def _sync_text(data: dict[str, Any]) -> str:
    if not data["rounds"]:
        return "No peers to sync with."
    lines = []
    for r in data["rounds"]:
        if r["error"]:
            outcome = f"failed: {r['error']['code']}: {r['error']['detail']}"
        elif r["idle"]:
            outcome = "nothing new"
        else:
            outcome = f"fetched {r['accepted']} records"
        if r["rejected"]:
            outcome += ", rejected " + ", ".join(f"{c} {n}" for c, n in r["rejected"].items())
        lines.append(f"{r['url']}: {outcome} ({r['round_trips']} round trips)")
    return "\n".join(lines)


@main.command()
@json_option
@pass_context
def sync(ctx: Context, as_json: bool) -> None:
    """Sync with every peer now, and report what was fetched."""
    with backend(ctx) as node:
        data = node.sync()
    emit(data, as_json, _sync_text)


context_option = click.option(
    "--context", help="A skill such as python, or guild:<id>; none for general trust."
)


def _trust_text(data: dict[str, Any]) -> str:
    where = f" in {data['context']}" if data["context"] else ""
    if data["blocked"]:
        return f"{data['name']} ({data['did']}) is blocked: no trust{where}."
    if data["name"] == "you":
        return f"you ({data['did']}): trust flows from you{where} (you are 1)."
    if not data["rank"]:
        return f"{data['name']} ({data['did']}): no trust reaches them from you{where}."
    lines = [
        f"{data['name']} ({data['did']})",
        f"  trust{where}: {data['relative']:.4f} (you are 1), "
        f"rank {data['rank']} of {data['known']} people you trust",
    ]
    lines += [f"  because {p['words']}" for p in data["paths"]]
    paid = data.get("payments") or {}
    if any(paid.values()):
        lines.append(
            "  pays (by both parties' receipts): "
            + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in paid.items() if n)
        )
    return "\n".join(lines)


@main.command(name="trust")
@click.argument("did")
@context_option
@json_option
@pass_context
def trust_command(ctx: Context, did: str, context: str | None, as_json: bool) -> None:
    """How much you trust DID (in a context), its rank, and the paths that explain it."""
    with backend(ctx) as node:
        data = node.trust(did, context)
    emit(data, as_json, _trust_text)


def _people_text(data: dict[str, Any]) -> str:
    if not data["people"]:
        return "Nobody yet: trust flows from the vouches you give."
    return "\n".join(
        f"{p['rank']:>4}  {p['relative']:.4f}  {p['name']:<24} {p['did']}" for p in data["people"]
    )


@main.command(name="people")
@context_option
@json_option
@pass_context
def people_command(ctx: Context, context: str | None, as_json: bool) -> None:
    """Everyone your trust reaches, ranked (in a context)."""
    with backend(ctx) as node:
        data = node.people(context)
    emit(data, as_json, _people_text)


@main.command()
@click.argument("did")
@pass_context
def block(ctx: Context, did: str) -> None:
    """Zero DID's trust for yourself alone (private: nothing is published)."""
    with backend(ctx) as node:
        node.block(did)
    click.echo(f"Blocked {did}")


@main.command()
@click.argument("did")
@pass_context
def unblock(ctx: Context, did: str) -> None:
    """Lift a block."""
    with backend(ctx) as node:
        node.unblock(did)
    click.echo(f"Unblocked {did}")


@main.group()
def guild() -> None:
    """Guilds: found, apply, leave, show, list."""


@guild.command(name="found")
@click.argument("name")
@click.option("--purpose", required=True, help="What the guild is for.")
@click.option(
    "--vouches-required",
    type=click.IntRange(1, 20),
    default=2,
    show_default=True,
    help="Member vouches an applicant needs (at most the number of founders).",
)
@click.option("--cofounder", "cofounders", multiple=True, help="A cofounder's DID (repeatable).")
@click.option("--skill", "skills", multiple=True, help="A skill the guild is about (repeatable).")
@click.option(
    "--cooling-days",
    type=click.IntRange(0, 365),
    default=7,
    show_default=True,
    help="Days a new member waits before its vouches admit others.",
)
@json_option
@pass_context
def guild_found(
    ctx: Context,
    name: str,
    purpose: str,
    vouches_required: int,
    cofounders: tuple[str, ...],
    skills: tuple[str, ...],
    cooling_days: int,
    as_json: bool,
) -> None:
    """Found a guild named NAME, with you (and any cofounders) as founders."""
    with backend(ctx) as node:
        result = node.found_guild(
            name=name,
            purpose=purpose,
            vouches_required=vouches_required,
            cofounders=list(cofounders),
            skills=list(skills),
            cooling_days=cooling_days,
        )
    emit(result, as_json, lambda r: f"Founded {name}: guild id {r['id']}")


@guild.command(name="apply")
@click.argument("guild_id")
@click.option("--note", help="A word to the members.")
@json_option
@pass_context
def guild_apply(ctx: Context, guild_id: str, note: str | None, as_json: bool) -> None:
    """Apply to join GUILD_ID (members then vouch for you in guild:GUILD_ID)."""
    with backend(ctx) as node:
        result = node.apply_guild(guild_id, note)
    emit(result, as_json, lambda r: f"Applied: {r['id']}")


@guild.command(name="leave")
@click.argument("guild_id")
@click.option("--reason", help="Why you leave.")
@json_option
@pass_context
def guild_leave(ctx: Context, guild_id: str, reason: str | None, as_json: bool) -> None:
    """Leave GUILD_ID."""
    with backend(ctx) as node:
        result = node.leave_guild(guild_id, reason)
    emit(result, as_json, lambda r: f"Left: {r['id']}")


def _guild_text(g: dict[str, Any]) -> str:
    lines = [
        f"{g['name']}  ({g['id']})",
        f"  {g['purpose']}",
        f"  admission: {g['vouches_required']} member vouches in guild:{g['id'][:12]}…, "
        f"cooling {g['cooling_days']} days" + ("" if g["valid"] else "  [invalid charter]"),
        f"  members ({len(g['members'])}):",
    ]
    lines += [
        f"    {m['name']:<24} {m['did']}" + ("  founder" if m["founder"] else "")
        for m in g["members"]
    ]
    if g["applicants"]:
        lines.append(f"  applicants ({len(g['applicants'])}):")
        lines += [
            f"    {a['name']:<24} {a['did']}  vouches {a['had']} of {a['needed']}"
            for a in g["applicants"]
        ]
    return "\n".join(lines)


@guild.command(name="show")
@click.argument("guild_id")
@json_option
@pass_context
def guild_show(ctx: Context, guild_id: str, as_json: bool) -> None:
    """A guild's charter, members, and applicants with the vouches they have and need."""
    with backend(ctx) as node:
        data = node.guild(guild_id)
    emit(data, as_json, _guild_text)


@guild.command(name="list")
@json_option
@pass_context
def guild_list(ctx: Context, as_json: bool) -> None:
    """Guilds known to your node."""
    with backend(ctx) as node:
        data = node.guilds()
    emit(
        data,
        as_json,
        lambda d: (
            "\n".join(
                f"{g['id']}  {g['name']}  ({len(g['members'])} members"
                + (", you are one" if g["you_are_member"] else "")
                + ")"
                for g in d["guilds"]
            )
            or "No guilds known yet."
        ),
    )


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    """From --passphrase-file, else $GUILDNODE_PASSPHRASE, else a hidden prompt."""
    if passphrase_file is not None:
        return passphrase_file.read_text().rstrip("\n")
    from_env = os.environ.get("GUILDNODE_PASSPHRASE")
    if from_env:
        return from_env
    return str(click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm))


passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read the passphrase from this file (else $GUILDNODE_PASSPHRASE, else a prompt).",
)


@main.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@passphrase_option
@pass_context
def export_command(ctx: Context, file: Path, passphrase_file: Path | None) -> None:
    """Back up your identity (key sealed by a passphrase) and every record to FILE."""
    from .archive import ArchiveError, export_archive
    from .node import Node

    datadir = ctx.datadir
    if not datadir.has_identity():
        fail(f"{datadir.path} holds no identity to export.")
    if file.exists():
        fail(f"{file} exists; refusing to overwrite it.")
    passphrase = _passphrase(passphrase_file, confirm=True)
    node = Node(datadir)  # reading only: safe beside a running node
    try:
        archive = export_archive(node, passphrase)
    except ArchiveError as exc:
        fail(f"{exc.code}: {exc.detail}")
    finally:
        node.close()
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(archive, handle)
    click.echo(f"Exported {archive['did']} with {len(archive['records'])} records to {file}")


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@passphrase_option
@pass_context
def import_command(ctx: Context, file: Path, passphrase_file: Path | None) -> None:
    """Restore an exported identity and its records into an empty data directory."""
    from .archive import ArchiveError, import_archive

    try:
        archive = json.loads(file.read_text())
    except ValueError:
        fail(f"damaged_archive: {file} is not JSON.")
    if not isinstance(archive, dict):
        fail(f"damaged_archive: {file} is not an archive.")
    passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        node = import_archive(ctx.data_dir, archive, passphrase)
    except ArchiveError as exc:
        fail(f"{exc.code}: {exc.detail}")
    try:
        count = node.store.count()
        did = node.did
    finally:
        node.close()
        node.datadir.release()
    click.echo(f"Restored {did} with {count} records into {ctx.data_dir}")


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the nodes' data here (default: a temporary folder, removed afterwards).",
)
@click.option("--once", is_flag=True, help="Play the story, print a summary and exit.")
@click.option(
    "--nodes",
    type=click.IntRange(4, 30),
    default=5,
    show_default=True,
    help="How many freelancers (besides the organisation).",
)
def demo(directory: Path | None, once: bool, nodes: int) -> None:
    """A small guild network on this machine that tells the whole story."""
    from .demo import run_demo

    ok = run_demo(directory, nodes, once, click.echo)
    if not ok:
        sys.exit(1)


@main.group()
def brief() -> None:
    """Gig briefs: post (organisations), list, show."""


@brief.command(name="post")
@click.option("--guild", "guilds", multiple=True, required=True, help="A guild id (repeatable).")
@click.option("--title", required=True, help="What the gig is, in a line.")
@click.option("--description", required=True, help="The work, in a few paragraphs.")
@click.option(
    "--criterion",
    "criteria",
    multiple=True,
    required=True,
    help="An acceptance criterion (repeatable).",
)
@click.option("--budget-min", type=click.IntRange(0), required=True, help="In minor units (cents).")
@click.option("--budget-max", type=click.IntRange(0), required=True, help="In minor units (cents).")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option(
    "--engagement", type=click.Choice(["fixed", "hourly"]), default="fixed", show_default=True,
    help="A fixed price, or by the hour.",
)  # fmt: skip
@click.option("--skill", "skills", multiple=True, help="A skill the gig needs (repeatable).")
@click.option("--deadline-days", type=click.IntRange(1, 365), help="Work due in this many days.")
@click.option(
    "--expires-days",
    type=int,
    default=30,
    show_default=True,
    help="The brief closes after (max 30).",
)
@json_option
@pass_context
def brief_post(
    ctx: Context,
    guilds: tuple[str, ...],
    title: str,
    description: str,
    criteria: tuple[str, ...],
    budget_min: int,
    budget_max: int,
    currency: str,
    engagement: str,
    skills: tuple[str, ...],
    deadline_days: int | None,
    expires_days: int,
    as_json: bool,
) -> None:
    """Post a brief to one or more guilds (their members see it once one vouches for you)."""
    with backend(ctx) as node:
        result = node.post_brief(
            guilds=list(guilds),
            title=title,
            description=description,
            acceptance_criteria=list(criteria),
            budget_min=budget_min,
            budget_max=budget_max,
            currency=currency,
            engagement=engagement,
            skills=list(skills),
            deadline_days=deadline_days,
            expires_days=expires_days,
        )
    emit(result, as_json, lambda r: f"Posted brief {r['id']}")


def _brief_line(b: dict[str, Any]) -> str:
    budget = b["budget"]
    low, high = (
        major(budget["min"], budget["currency"]),
        format_money(budget["max"], budget["currency"]),
    )
    match = f"  [matches: {', '.join(b['matches_my_skills'])}]" if b["matches_my_skills"] else ""
    return (
        f"{b['id'][:12]}  {b['title']}  — {b['organisation']}, {low}–{high} "
        f"{b['engagement']}{match}"
    )


@brief.command(name="list")
@click.option("--guild", help="Only briefs posted to this guild.")
@click.option("--skill", help="Only briefs needing this skill.")
@json_option
@pass_context
def brief_list(ctx: Context, guild: str | None, skill: str | None, as_json: bool) -> None:
    """Open briefs, those matching your skills first."""
    with backend(ctx) as node:
        data = node.briefs(guild, skill)
    emit(
        data,
        as_json,
        lambda d: "\n".join(_brief_line(b) for b in d["briefs"]) or "No open briefs.",
    )


def _brief_text(b: dict[str, Any]) -> str:
    lines = [_brief_line(b), "", b["description"], "", "Acceptance criteria:"]
    lines += [f"  - {c}" for c in b["acceptance_criteria"]]
    if b.get("skills"):
        lines.append(f"Skills: {', '.join(b['skills'])}")
    lines.append("Guilds: " + ", ".join(g["name"] or g["id"][:12] for g in b["guilds"]))
    if b["problem"]:
        lines.append(f"(no effect: {b['problem']})")
    elif not b["open"]:
        lines.append("(closed)")
    return "\n".join(lines)


@brief.command(name="show")
@click.argument("brief_id")
@json_option
@pass_context
def brief_show(ctx: Context, brief_id: str, as_json: bool) -> None:
    """One brief, in full."""
    with backend(ctx) as node:
        data = node.brief(brief_id)
    emit(data, as_json, _brief_text)


# The work commands (propose … feedback, contracts) live in their own module and register
# themselves on `main` when imported.
from . import cli_work  # noqa: E402, F401
