"""This node itself: create it (init), serve it (run, ui), who it is (id, profile), and the
records it holds (log, check)."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import click

from ..datadir import DataDirError
from ..settings import DEFAULT_PORT, Settings
from . import main
from .context import Context, backend, emit, fail, json_option, pass_context


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

    from ..app import create_app

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
        def handle_exit(self, sig: int, frame: Any) -> None:
            # uvicorn waits for open connections before it stops: end the notification
            # streams first, or an open browser tab would hold the shutdown.
            app.state.live.close()
            super().handle_exit(sig, frame)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                # Ready for the first inbox batch or sync page, rather than starting the
                # verifying process (a tenth of a second) on the first.
                app.state.node.start_verifying()
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
