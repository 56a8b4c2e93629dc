"""Helpers for the browser tests: `guildnode run` processes, Chromium, screenshots.

Debian's Chromium (/usr/bin/chromium) is driven by Playwright's own protocol client; no
browser is ever downloaded. (Not a conftest.py: a second conftest module would shadow
tests/conftest.py, whose `require_tool` this uses.)
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from conftest import require_tool
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response, expect

GUILDNODE = Path(sys.executable).parent / "guildnode"
START_TIMEOUT = 60.0  # three nodes start at once on a machine that may have two cores
STOP_TIMEOUT = 10.0
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Reports, from inside the page, the moment a form shows its progress note with its button
# disabled (the page is gone soon after, so the test cannot look at it later).
WATCH_BUSY = """new MutationObserver(() => {
  const busy = document.querySelector('.busy:not([hidden])');
  if (busy && busy.closest('form').querySelector('button').disabled && !window.busySeen) {
    window.busySeen = true;
    console.log('busy: ' + busy.textContent.trim());
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['hidden', 'disabled']});"""

# Every visible field must have a label a screen reader announces.
UNLABELLED = """() => [...document.querySelectorAll('input, textarea, select')]
  .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.closest('label')
               && !e.getAttribute('aria-label'))
  .map(e => e.outerHTML)"""

LOGIN_LINE = re.compile(r"Web UI \(this link works once, for 10 minutes\): (\S+)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def clean_env() -> dict[str, str]:
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GUILDNODE_") and k.lower() not in proxies
    }


@dataclass
class Running:
    """One `guildnode run` process, and its local API reached with the owner's token."""

    name: str
    data: Path
    port: int
    process: subprocess.Popen[bytes]
    logs: Path
    login_link: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def did(self) -> str:
        return str(json.loads((self.data / "identity.key").read_text())["did"])

    @property
    def stdout(self) -> str:
        return (self.logs / "stdout").read_text()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        token = (self.data / "token").read_text().strip()
        with httpx.Client(timeout=30.0, trust_env=False) as client:
            response = client.request(
                method, self.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status_code < 400, (path, response.text)
        return response.json()

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(GUILDNODE), "--data", str(self.data), *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)


def spawn(name: str, root: Path) -> Running:
    data, logs = root / name, root / f"{name}-logs"
    logs.mkdir(parents=True)
    port = free_port()
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        process = subprocess.Popen(
            [str(GUILDNODE), "--data", str(data), "run", "--host", "127.0.0.1",
             "--port", str(port), "--sync-interval", "0"],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=clean_env(),
        )  # fmt: skip
    return Running(name, data, port, process, logs)


def wait_for_login_links(nodes: list[Running]) -> None:
    """Wait until each node prints its login link: it does so once it is listening."""
    deadline = time.monotonic() + START_TIMEOUT
    for node in nodes:
        while not node.login_link:
            if node.process.poll() is not None:
                stderr = (node.logs / "stderr").read_text()
                raise RuntimeError(f"guildnode run exited with {node.process.returncode}: {stderr}")
            found = LOGIN_LINE.search(node.stdout)
            if found:
                node.login_link = found.group(1)
            elif time.monotonic() > deadline:
                raise TimeoutError(f"{node.name} printed no login link within {START_TIMEOUT} s")
            else:
                time.sleep(0.05)


@dataclass
class Trio:
    ada: Running
    bo: Running
    cy: Running


def start_trio(root: Path) -> Trio:
    nodes = [spawn(name, root) for name in ("ada", "bo", "cy")]
    try:
        wait_for_login_links(nodes)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return Trio(*nodes)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=require_tool("chromium"), headless=True, args=CHROMIUM_FLAGS
    )


@dataclass
class Screens:
    """Screenshots of every page a test visits, in its tmp_path, and every server error."""

    folder: Path
    taken: list[Path] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> BrowserContext:
        def seen(response: Response) -> None:
            if response.status >= 500:
                self.server_errors.append(
                    f"{response.status} {response.request.method} {response.url}"
                )

        context.on("response", seen)
        return context

    def shoot(self, page: Page, name: str) -> Path:
        path = self.folder / f"{len(self.taken):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def signed_in(browser: Browser, screens: Screens, link: str, width: int = 1200) -> Page:
    """A fresh browser context that opened `link`: the owner, signed in."""
    context = screens.watch(browser.new_context(viewport={"width": width, "height": 900}))
    context.add_init_script(WATCH_BUSY)
    page = context.new_page()
    response = page.goto(link)
    assert response is not None and response.ok
    assert page.url.endswith("/"), page.url
    return page


def go(page: Page, node: Running, path: str) -> None:
    """Open a page of `node`: it answers without an error, and every field has a label."""
    response = page.goto(node.url + path)
    assert response is not None and response.status < 400, (path, response and response.status)
    unlabelled = page.evaluate(UNLABELLED)
    assert unlabelled == [], (path, unlabelled)


def sync_now(page: Page, node: Running) -> None:
    """Press "Sync now" on the Peers page, and see its progress note while the node works."""
    go(page, node, "/peers")
    with page.expect_console_message(lambda m: m.text.startswith("busy:")) as busy:
        page.get_by_role("button", name="Sync now").click()
    assert busy.value.text.startswith("busy: Syncing with"), busy.value.text
    expect(page).to_have_url(node.url + "/peers")
    expect(page.locator(".flash")).to_contain_text("Synced with")
    expect(page.locator(".flash-error")).to_have_count(0)
