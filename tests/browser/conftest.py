"""Browser tests: the real CRM (``crm up``) in a subprocess, driven through Debian's chromium.

Playwright cannot download its own browsers here, so it drives ``/usr/bin/chromium``
(``apt-get install -y chromium``). Without it these tests skip, except under ``CI=true``, where
they fail. Set ``CRM_BROWSER_SCREENSHOTS=<dir>`` to keep a screenshot of each checked page.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

CHROMIUM = Path(os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium"))
# Flags measured to work as root on these machines (see LOCAL-SERVERS.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN = "admin"
ADMIN_PASSWORD = "browser-admin-" + secrets.token_hex(6)
PASSWORD = "browser-user-" + secrets.token_hex(6)
"""The password of every user the tests create."""
TIMEOUT_MS = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CrmProcess:
    """``python -m crm.cli up`` on a free port and its own data folder; restartable."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir, self.log, self.port = data_dir, log, free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # Every test signs in: keep the per-address sign-in rate limit out of the way.
            "CRM_SIGNIN_RATE_PER_MINUTE": "1000",
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crm.cli", "up", "--data-dir", str(self.data_dir), "--port", str(self.port)],
                stdout=out,
                stderr=out,
                env=env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise AssertionError("crm up exited:\n" + self.log.read_text())
            time.sleep(0.1)
        self.stop()
        raise AssertionError("crm up did not become ready:\n" + self.log.read_text())

    def stop(self) -> None:
        """Ctrl-C, as a person would; the CRM must stop cleanly."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert code == 0, self.log.read_text()


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    """One CRM for the whole session; tests keep apart by unique names."""
    _require_chromium()
    folder = tmp_path_factory.mktemp("crm-browser")
    server = CrmProcess(folder / "data", folder / "crm.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_crm(tmp_path: Path) -> Iterator[CrmProcess]:
    """A CRM of the test's own, for tests that stop it or need it empty."""
    _require_chromium()
    server = CrmProcess(tmp_path / "data", tmp_path / "crm.log")
    server.start()
    yield server
    server.stop()


class Api:
    """The CRM's HTTP API as a signed-in user: session cookie plus the CSRF header."""

    def __init__(self, client: httpx.AsyncClient, user_id: str = "") -> None:
        self.client = client
        self.user_id = user_id
        """The signed-in user's id (counterparties it registers are theirs unless told otherwise)."""

    @classmethod
    async def sign_in(cls, base_url: str, username: str, password: str) -> Api:
        client = httpx.AsyncClient(base_url=base_url, timeout=10)
        answer = await client.post("/api/v1/session", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return cls(client, str(answer.json()["user"]["id"]))

    async def define_groups(self, *codes: str) -> None:
        """Define access groups in the catalogue (as an administrator); those there already stay."""
        for code in codes:
            answer = await self.client.post("/api/v1/access-groups", json={"code": code, "name": code.title()})
            assert answer.status_code in (201, 409), answer.text

    async def create_counterparty(self, name: str, **fields: Any) -> dict[str, Any]:
        if "access_group" in fields:
            await self.define_groups(fields["access_group"])
        body = {"name": name, "relations": ["buyer"], "main_manager": self.user_id, **fields}
        answer = await self.client.post("/api/v1/counterparties", json=body)
        assert answer.status_code == 201, answer.text
        return {**answer.json(), "etag": answer.headers["ETag"], "position": answer.headers["X-Commit-Position"]}

    async def create_user(self, username: str, roles: list[str], groups: list[str] = ()) -> dict[str, Any]:
        await self.define_groups(*groups)
        body = {"username": username, "name": username, "password": PASSWORD, "roles": roles, "groups": list(groups)}
        answer = await self.client.post("/api/v1/users", json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def define_reference(self, catalog: str, code: str, name: str, **attributes: Any) -> None:
        """Define a reference entry (as an administrator); one this session defined already stays."""
        body = {"code": code, "name": name, "attributes": attributes}
        answer = await self.client.post(f"/api/v1/reference/{catalog}", json=body)
        assert answer.status_code in (201, 409), answer.text

    async def wait_for_interactions_to_know(self, counterparty_id: str, timeout: float = 10) -> None:
        """Wait until the interactions service's local copy of contacts has the counterparty (it learns of
        it from contacts' events, after the create answered)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.client.get("/api/v1/interactions/summary", params={"counterparty_id": counterparty_id})
            if answer.status_code == 200:
                return
            assert answer.status_code == 404, answer.text
            assert time.monotonic() < deadline, f"interactions never heard of counterparty {counterparty_id}"
            await asyncio.sleep(0.05)

    async def create_interaction(self, **body: Any) -> dict[str, Any]:
        """Plan (or, with ``state="completed"``, record) an interaction; its answer with the ETag."""
        answer = await self.client.post("/api/v1/interactions", json=body)
        assert answer.status_code == 201, answer.text
        return {**answer.json(), "etag": answer.headers["ETag"]}

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def close(self) -> None:
        await self.client.aclose()


@pytest.fixture
async def admin_api(crm: CrmProcess) -> AsyncIterator[Api]:
    api = await Api.sign_in(crm.base_url, ADMIN, ADMIN_PASSWORD)
    yield api
    await api.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


class PageErrors(list[str]):
    """Uncaught exceptions in the page: a test fails when the UI threw, even if it looked right."""


async def new_page(browser: Browser, errors: PageErrors) -> Page:
    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    errors = PageErrors()
    opened = await new_page(browser, errors)
    expect.set_options(timeout=TIMEOUT_MS)
    yield opened
    await opened.context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


class Ui:
    """A browser page on one CRM, with the steps most tests share."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    async def goto(self, route: str) -> None:
        """Open a route of the UI, e.g. '/counterparties/new'."""
        await self.page.goto(f"{self.base_url}/#{route}")

    async def nav(self, name: str) -> None:
        """Follow the header link ``name`` as a person would: in the row, or under "More pages" when
        the row had no room for it."""
        link = self.page.get_by_role("navigation").get_by_role("link", name=name, exact=True)
        if not await link.is_visible():
            await self.page.locator("#nav-more").click()
            link = self.page.locator("#nav-more-menu").get_by_role("link", name=name, exact=True)
        await link.click()

    async def sign_in(
        self, username: str = ADMIN, password: str = ADMIN_PASSWORD, *, then: str | None = "/counterparties"
    ) -> None:
        """Sign in through the form, in English: the home page "My day" opens; then the page at ``then``
        (the counterparty list unless told otherwise; None stays home)."""
        page = self.page
        await self.goto("/sign-in")
        await page.locator("#language").select_option("en")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await expect(self.heading).to_have_text("My day")
        if then is not None:
            await self.goto(then)
            if then == "/counterparties":
                await expect(self.heading).to_have_text("Counterparties")

    @property
    def heading(self) -> Any:
        return self.page.get_by_role("heading", level=1)

    async def screenshot(self, name: str) -> None:
        """Keep a screenshot when CRM_BROWSER_SCREENSHOTS names a folder (for looking at the pages)."""
        folder = os.environ.get("CRM_BROWSER_SCREENSHOTS")
        if folder:  # playwright creates the folder
            await self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def ui(page: Page, crm: CrmProcess) -> Ui:
    return Ui(page, crm.base_url)


@pytest.fixture
async def open_ui(browser: Browser) -> AsyncIterator[Callable[[str], Awaitable[Ui]]]:
    """Opens more browser sessions (own cookies and storage), e.g. a second user beside the admin."""
    errors = PageErrors()
    contexts: list[BrowserContext] = []

    async def open_one(base_url: str) -> Ui:
        opened = await new_page(browser, errors)
        contexts.append(opened.context)
        return Ui(opened, base_url)

    yield open_one
    for context in contexts:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def user_password() -> str:
    """The password to give the users a test creates."""
    return PASSWORD


@pytest.fixture
def tag() -> str:
    """A word no other test uses, for names in the session's shared CRM."""
    return secrets.token_hex(3)
