"""schemathesis' own command line, every check and the stateful phase on, against ``crm up`` on a real port.

What an outside team would run against the merged OpenAPI document: every operation, valid and invalid
requests (``--mode all``), ``--checks all`` (no server error; status codes, headers, content types and
bodies as documented; negative data rejected, positive data accepted, ``Allow`` headers, use after
delete, ignored auth, ...) and the ``stateful`` phase, which chains operations through the document's
links (create, then read, change, delete it). It must end with no failure; ``--max-time`` bounds it.

``schemathesis.toml`` beside this file pins ``?min_position=`` to 0 (a position beyond the head answers
the documented 504 after its wait: ``test_read_wait_and_allow.py``) and lists the statuses a
schema-valid request may still get because of rules a schema cannot state (references, cross-field
rules, If-Match), each answered with problem+json naming the field.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.system.test_crm_up import free_port, start

pytestmark = pytest.mark.system

PASSWORD = "schemathesis-admin-password"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_TIME_SECONDS = int(os.environ.get("CRM_SCHEMATHESIS_MAX_TIME", "240"))


SETTINGS = {
    "CRM_ADMIN_PASSWORD": PASSWORD,
    # The fuzzer signs in with wrong passwords on purpose; it must not throttle itself out.
    "CRM_SIGNIN_RATE_PER_MINUTE": "1000000",
    "CRM_SIGNIN_FREE_FAILURES": "1000000",
    "CRM_READ_WAIT_SECONDS": "0.2",
}


def administrator_key(base: str) -> str:
    with httpx.Client(base_url=base) as admin:
        signed = admin.post("/api/v1/session", json={"username": "admin", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        admin.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
        issued = admin.post("/api/v1/api-keys", json={"name": "schemathesis", "roles": ["administrator"]})
        assert issued.status_code == 201, issued.text
        return str(issued.json()["key"])


def test_schemathesis_every_check_and_the_stateful_phase_find_nothing(tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency: uv sync installs its command"
    port, log = free_port(), tmp_path / "crm.log"
    process = start(tmp_path / "data", port, log, SETTINGS)
    base = f"http://127.0.0.1:{port}"
    try:
        key = administrator_key(base)
        run = subprocess.run(
            [
                schemathesis,
                "--config-file",
                str(CONFIG),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-time",
                str(MAX_TIME_SECONDS),
                "--max-examples",
                "20",
                "--seed",
                "20261206",
                "--workers",
                "1",
                # Hypothesis' complaint that a parameter's pattern rejects most of what it generates is
                # about the generator, not the API (GET /analytics/abc with its dates and shares).
                "--suppress-health-check",
                "filter_too_much",
                "--header",
                f"Authorization: Bearer {key}",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,  # its cache folder (.schemathesis/) stays out of the checkout
            timeout=MAX_TIME_SECONDS * 3 + 120,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
        # The stateful phase really chained operations (it covers none when the fuzzer loses its access).
        links = re.search(r"API Links:\s+(\d+) covered", run.stdout)
        assert links and int(links.group(1)) > 0, run.stdout[-5_000:]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, log.read_text()[-5_000:]
