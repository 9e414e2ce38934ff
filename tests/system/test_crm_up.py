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
