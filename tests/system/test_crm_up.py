"""``crm up``: the real command on a real port. The first start prints the administrator's password
once; Ctrl-C stops it cleanly and the data stays."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int, log: Path, settings: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``crm up`` with the environment's settings (no ``CRM_ADMIN_PASSWORD`` unless in ``settings``).
    How fast it is ready is bench P9's to measure, not a timed test's (those flake on a busy machine)."""
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "CRM_ADMIN_PASSWORD"} | (settings or {})
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "crm.cli", "up", "--data-dir", str(data_dir), "--port", str(port)],
            stdout=out,
            stderr=out,
            env=env,
        )
    deadline = started + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError("crm up did not become ready:\n" + log.read_text())


def interrupt(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=20)


def signed_in(base: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base)
    response = client.post("/api/v1/session", json={"username": "admin", "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def test_crm_up_serves_ui_and_api_stops_on_ctrl_c_and_keeps_the_data(tmp_path: Path) -> None:
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "crm.log"
    process = start(data_dir, port, log)
    base = f"http://127.0.0.1:{port}"
    body = {"name": "Постоянство ЕООД", "relations": ["other"], "main_manager": "ivan"}
    try:
        printed = re.search(r"sign in as 'admin' with password (\S+)", log.read_text())
        assert printed, log.read_text()
        password = printed.group(1)
        assert httpx.post(f"{base}/api/v1/counterparties", json=body).status_code == 401
        assert httpx.get(f"{base}/").status_code == 200  # the web UI's page needs no sign-in
        admin = signed_in(base, password)
        body["main_manager"] = admin.get("/api/v1/me").json()["id"]  # a user of the directory
        created = admin.post("/api/v1/counterparties", json=body)
        assert created.status_code == 201, created.text
        assert "/api/v1/counterparties" in admin.get("/openapi.json").json()["paths"]
        admin.close()
    finally:
        assert interrupt(process) == 0, log.read_text()

    process = start(data_dir, port, log)
    try:
        assert len(re.findall(r"sign in as 'admin'", log.read_text())) == 1, "the password is printed once only"
        admin = signed_in(base, password)
        again = admin.get(created.headers["Location"])
        assert again.status_code == 200
        assert again.json()["name"] == "Постоянство ЕООД"
        admin.close()
    finally:
        assert interrupt(process) == 0


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def backgrounds(process: subprocess.Popen[bytes]) -> list[int]:
    """The pids of ``crm up``'s background processes (its relays and projectors): one, unless it is
    being started again (a child between its fork and its exec still shows the parent's command)."""
    found = []
    for child in children(process.pid):
        try:
            if b"background" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:  # ended meanwhile
            pass
    return found


def background_of(process: subprocess.Popen[bytes]) -> int:
    found = backgrounds(process)
    assert len(found) == 1, found
    return found[0]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(check: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def test_the_background_process_feeds_the_views_comes_back_when_killed_and_ends_with_crm_up(tmp_path: Path) -> None:
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "crm.log"
    password = "background-test-password"
    process = start(data_dir, port, log, {"CRM_ADMIN_PASSWORD": password})
    base = f"http://127.0.0.1:{port}"
    try:
        first = background_of(process)
        admin = signed_in(base, password)

        def register_with_a_new_manager(name: str) -> None:
            # The manager exists only in the gateway (this process): contacts (the background process)
            # takes it into its local directory from the bus before the registration is accepted.
            user = admin.post(
                "/api/v1/users",
                json={"username": name, "name": name, "password": f"pw-{name}-12345678", "roles": ["sales_manager"]},
            )
            assert user.status_code == 201, user.text
            body = {"name": f"Фирма {name}", "relations": ["buyer"], "main_manager": user.json()["id"]}
            answers: list[httpx.Response] = []
            # A background process that was just started again takes a few seconds before it follows the
            # bus; until then the new user is not in contacts' copy yet (422: no such user).

            def registered() -> bool:
                answers.append(admin.post("/api/v1/counterparties", json=body))
                return answers[-1].is_success

            wait_until(registered)
            created = answers[-1]
            assert created.status_code == 201, created.text
            assert all(a.status_code == 422 for a in answers[:-1]), [a.text for a in answers]
            # Read-your-writes: the list (a view the background process writes) waits for the commit.
            position = created.headers["X-Commit-Position"]
            listed = admin.get("/api/v1/counterparties", params={"q": name, "min_position": position})
            assert [c["name"] for c in listed.json()["items"]] == [f"Фирма {name}"], listed.text

        register_with_a_new_manager("first")
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not alive(first))
        wait_until(lambda: len(found := backgrounds(process)) == 1 and found[0] != first)
        register_with_a_new_manager("second")  # the new one feeds the views again
        admin.close()
    finally:
        assert interrupt(process) == 0, log.read_text()
    assert "the background process ended" in log.read_text()

    # A crm up killed outright takes its background process with it (its standard input closes).
    process = start(data_dir, port, log, {"CRM_ADMIN_PASSWORD": password})
    child = background_of(process)
    process.kill()
    process.wait()
    wait_until(lambda: not alive(child))


def test_the_background_process_needs_the_run_key_of_its_crm_up(tmp_path: Path) -> None:
    env = {**os.environ, "CRM_DATA_DIR": str(tmp_path / "data")}
    for given in (b"", b"not hex\n", b"abcd\n"):
        ran = subprocess.run(
            [sys.executable, "-m", "crm.background", "contacts"], input=given, capture_output=True, env=env, timeout=60
        )
        assert ran.returncode == 2, ran.stderr
        assert b"run key" in ran.stderr
    assert not (tmp_path / "data").exists(), "refused before opening anything"
