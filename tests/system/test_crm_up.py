"""``crm up``: the real command, on a real port; Ctrl-C stops it cleanly and the data stays."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of, load_or_create_secret

pytestmark = __import__("pytest").mark.system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "crm.cli", "up", "--data-dir", str(data_dir), "--port", str(port)],
            stdout=out,
            stderr=out,
        )
    deadline = started + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, time.monotonic() - started
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError("crm up did not become ready:\n" + log.read_text())


def interrupt(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=20)


def test_crm_up_serves_the_api_stops_on_ctrl_c_and_keeps_the_data(tmp_path: Path) -> None:
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "crm.log"
    process, _ = start(data_dir, port, log)
    base = f"http://127.0.0.1:{port}"
    body = {"name": "Постоянство ЕООД", "kind": "other", "main_manager": "ivan"}
    tokens = CallerTokens(load_or_create_secret(data_dir / "secrets" / "caller-token.key"))
    signed = {CALLER_HEADER: tokens.issue(caller_of("admin", ["administrator"]))}
    try:
        assert httpx.post(f"{base}/api/v1/counterparties", json=body).status_code == 401
        created = httpx.post(f"{base}/api/v1/counterparties", json=body, headers=signed)
        assert created.status_code == 201
        assert "/api/v1/counterparties" in httpx.get(f"{base}/openapi.json").json()["paths"]
    finally:
        assert interrupt(process) == 0, log.read_text()
    assert (data_dir / "contacts" / "events.db").exists()

    process, _ = start(data_dir, port, log)
    try:
        again = httpx.get(f"{base}{created.headers['Location']}", headers=signed)
        assert again.status_code == 200
        assert again.json()["name"] == "Постоянство ЕООД"
    finally:
        assert interrupt(process) == 0
